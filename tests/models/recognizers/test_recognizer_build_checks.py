"""tsm_plugin.Recognizer2D refuses at build a head whose in_channels differ
from the backbone's output channels (MMAction2 builds it and fails at the
first forward inside torch: `mat1 and mat2 shapes cannot be multiplied`), and
a backbone that returns several feature maps to a head."""
import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import init_default_scope

import tsm_plugin  # noqa: F401


def recognizer(depth=18, in_channels=512, out_indices=(3, ), backbone=None,
               cls_head=None, **extra):
    return dict(
        type='tsm_plugin.Recognizer2D',
        backbone=backbone or dict(type='tsm_plugin.ResNetTSM', depth=depth,
                                  num_segments=8, out_indices=out_indices),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=3,
                      in_channels=in_channels, num_segments=8,
                      **(cls_head or {})),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               format_shape='NCHW'), **extra)


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('mmaction')


def test_head_in_channels_must_match_the_backbone():
    with pytest.raises(ValueError, match=r'cls_head in_channels=2048 but the '
                       r'backbone \(ResNetTSM, depth=18\) outputs 512 channels'):
        MODELS.build(recognizer(depth=18, in_channels=2048))
    with pytest.raises(ValueError, match='in_channels=512 .* outputs 2048'):
        MODELS.build(recognizer(depth=50, in_channels=512))
    # an earlier stage: its channels
    with pytest.raises(ValueError, match='outputs 256 channels'):
        MODELS.build(recognizer(out_indices=(2, )))
    MODELS.build(recognizer(out_indices=(2, ), in_channels=256))


def test_mmaction2_recognizer_fails_inside_torch_instead():
    """Why: the same model with MMAction2's recognizer builds, then fails at
    the first loss."""
    cfg = recognizer(depth=18, in_channels=2048)
    cfg['type'] = 'mmaction.Recognizer2D'
    model = MODELS.build(cfg)
    with torch.no_grad(), pytest.raises(RuntimeError,
                                        match='mat1 and mat2 shapes'):
        model.cls_head(model.backbone(torch.zeros(8, 3, 32, 32)))


def test_several_out_indices_without_neck_refused():
    with pytest.raises(ValueError, match=r'out_indices=\(2, 3\) makes it '
                       'return 2 feature maps'):
        MODELS.build(recognizer(out_indices=(2, 3)))


def test_stock_backbones_and_heads_are_checked_too():
    mobilenet = dict(type='mmaction.MobileNetV2TSM', num_segments=8,
                     pretrained2d=False)
    with pytest.raises(ValueError, match=r'in_channels=2048 .*\(MobileNetV2TSM'
                       r'\) outputs 1280'):
        MODELS.build(recognizer(backbone=mobilenet, in_channels=2048))
    MODELS.build(recognizer(backbone=copy.deepcopy(mobilenet),
                            in_channels=1280))
    tsn_head = recognizer(depth=50, in_channels=512)
    tsn_head['cls_head'] = dict(type='mmaction.TSNHead', num_classes=3,
                                in_channels=512)
    with pytest.raises(ValueError, match='in_channels=512 .* outputs 2048'):
        MODELS.build(tsn_head)
