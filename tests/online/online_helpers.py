"""Small uni-directional TSM recognizers with sane BN statistics."""
import torch
from mmaction.registry import MODELS
from torch import nn

BACKBONES = {  # name: (backbone config, feature channels)
    'r18': (dict(type='tsm_plugin.ResNetTSM', depth=18), 512),
    'r50': (dict(type='tsm_plugin.ResNetTSM', depth=50), 2048),
    'mbv2': (dict(type='tsm_plugin.MobileNetV2TSM', pretrained2d=False),
             1280),
}
NUM_CLASSES = 5


def recognizer_cfg(backbone='r18', num_segments=4, **backbone_kwargs):
    backbone_cfg, channels = BACKBONES[backbone]
    backbone_kwargs.setdefault('shift_mode', 'unidirectional')
    return dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(backbone_cfg, num_segments=num_segments,
                      **backbone_kwargs),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=NUM_CLASSES,
                      in_channels=channels, num_segments=num_segments,
                      average_clips='prob',
                      temporal_pool=backbone_kwargs.get('temporal_pool',
                                                        False)),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW'))


def build_recognizer(backbone='r18', num_segments=4, state_dict=None,
                     **backbone_kwargs):
    """Eval-mode recognizer; BN statistics measured on random frames (so
    signals keep their scale through the net), or ``state_dict`` loaded."""
    model = MODELS.build(recognizer_cfg(backbone, num_segments,
                                        **backbone_kwargs))
    if state_dict is not None:
        model.load_state_dict(state_dict)
        return model.eval()
    return calibrate(model, torch.randn(2 * num_segments, 3, 32, 32))


def calibrate(model, frames):
    """Measure BN statistics on ``frames`` (so signals keep their scale
    through the net) and draw a visible head; returns the model in eval."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batch
    model.train()
    with torch.no_grad():
        model.backbone(frames)
    for bn in bns:
        bn.momentum = 0.1
    with torch.no_grad():
        model.cls_head.fc_cls.weight.normal_(0, 0.05)
        model.cls_head.fc_cls.bias.normal_(0, 0.05)
    return model.eval()
