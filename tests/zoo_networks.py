"""Small non-ResNet networks of timm, torchvision and mmpretrain for the
streaming and export tests of ``TSMBackbone`` (zoo venv only)."""
import torch
from mmaction.registry import MODELS
from torch import nn

# name: (2D backbone config, feature channels)
NON_RESNETS = {
    'timm-mobilenetv3_small_050': (dict(type='timm.mobilenetv3_small_050'),
                                   288),
    'timm-convnext_atto': (dict(type='timm.convnext_atto', ls_init_value=1.0),
                           320),
    'torchvision-mobilenet_v3_small': (
        dict(type='torchvision.mobilenet_v3_small'), 576),
    'mmpretrain-mobilenetv3_small': (
        dict(type='mmpretrain.MobileNetV3', arch='small'), 576),
}


def zoo_recognizer(network, num_segments, state_dict=None, size=32,
                   **backbone_kwargs):
    """A TSM recognizer over ``network`` in eval mode: BN statistics measured
    on random clips (or ``state_dict`` loaded), a visible head."""
    cfg, channels = NON_RESNETS[network]
    model = MODELS.build(dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(type='tsm_plugin.TSMBackbone', backbone=cfg,
                      num_segments=num_segments, **backbone_kwargs),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=5,
                      in_channels=channels, num_segments=num_segments,
                      init_std=0.1),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    if state_dict is not None:
        model.load_state_dict(state_dict)
        return model.eval()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model.backbone(torch.randn(2 * num_segments, 3, size, size))
    return model.eval()
