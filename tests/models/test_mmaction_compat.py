"""MMAction2 model-zoo compatibility: its TSM state dicts load into ours unchanged."""
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope

import tsm_plugin  # noqa: F401

NL_CFG = dict(sub_sample=True, use_scale=False,
              norm_cfg=dict(type='BN3d', requires_grad=True),
              mode='embedded_gaussian')
NL_PATTERN = ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0))

VARIANTS = {
    'blockres': dict(),
    'block': dict(shift_place='block'),
    'temporal_pool': dict(temporal_pool=True),
    'non_local': dict(non_local=NL_PATTERN, non_local_cfg=NL_CFG),
    'shift_div_4': dict(shift_div=4),
}


def recognizer(scope, backbone_extra, num_segments=8):
    prefix = 'tsm_plugin.' if scope == 'tsm_plugin' else ''
    temporal_pool = backbone_extra.get('temporal_pool', False)
    return dict(
        type=f'{prefix}Recognizer2D',
        backbone=dict(type=f'{prefix}ResNetTSM', depth=50, pretrained=None,
                      pretrained2d=False, num_segments=num_segments,
                      **backbone_extra),
        cls_head=dict(type=f'{prefix}TSMHead', num_classes=7, in_channels=2048,
                      num_segments=num_segments, temporal_pool=temporal_pool,
                      average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCHW'))


def randomize(model):
    """Give every parameter and BN statistic a distinct value."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn_like(tensor) * 0.05)
                if name.endswith('running_var'):
                    tensor.abs_().add_(0.5)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_mmaction_checkpoint_loads_strict_and_gives_same_outputs(variant):
    with DefaultScope.overwrite_default_scope('mmaction'):
        theirs = MODELS.build(recognizer('mmaction', VARIANTS[variant]))
    with DefaultScope.overwrite_default_scope('tsm_plugin'):
        ours = MODELS.build(recognizer('tsm_plugin', VARIANTS[variant]))
    assert type(ours.backbone).__module__.startswith('tsm_plugin')
    assert type(theirs.backbone).__module__.startswith('mmaction')
    randomize(theirs)
    result = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    theirs.eval()
    ours.eval()
    x = torch.randn(2 * 8, 3, 32, 32)  # two clips of 8 frames
    with torch.no_grad():
        expected = theirs.cls_head(theirs.backbone(x), num_segs=8)
        got = ours.cls_head(ours.backbone(x), num_segs=8)
    assert torch.equal(got, expected)  # the same ops on the same values


def test_r101_every_other_block_keys_match():
    theirs_101 = MODELS.build(dict(
        type='mmaction.ResNetTSM', depth=101, pretrained2d=False))
    ours_101 = MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=101))
    assert list(ours_101.state_dict()) == list(theirs_101.state_dict())
    assert 'layer3.1.conv1.conv.weight' in ours_101.state_dict()  # not shifted
    assert 'layer3.2.conv1.conv.net.weight' in ours_101.state_dict()


@pytest.mark.parametrize('shift_place', ['blockres', 'block'])
def test_shift_wrappers_are_mmaction_temporal_shifts(shift_place):
    # MMAction2's own tests find the wrappers with isinstance.
    from mmaction.models.backbones.resnet_tsm import TemporalShift
    ours = MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=18,
                             shift_place=shift_place))
    found = [name for name, m in ours.named_modules()
             if isinstance(m, TemporalShift)]
    assert len(found) == 8
    assert all(name.endswith('conv1.conv' if shift_place == 'blockres'
                             else ('.0', '.1')) for name in found)
    keys = list(ours.state_dict())
    assert all(any(k.startswith(f'{name}.net.') for k in keys)
               for name in found)
