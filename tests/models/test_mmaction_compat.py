"""MMAction2 model-zoo compatibility: its TSM state dicts load into ours
unchanged and give the same outputs.

MMAction2's own ``Recognizer2D(ResNetTSM, TSMHead)`` is the reference. Its
weights are woken (``live_weights.wake``: BN statistics matched to real
activations) so that every layer, non-local blocks included, passes the signal
on; each test checks that the outputs depend on the order of the frames within
each clip by far more than the tolerance. In float64, so that the tolerance
can be tight: the plugin's 1x1 convs round differently from MMAction2's, and
in float32 that rounding grows to ~3e-5 of the output's scale through R50.
"""
import pytest
import torch
from live_weights import spread, wake
from mmaction.registry import MODELS
from mmengine.registry import DefaultScope

import tsm_plugin  # noqa: F401

NL_CFG = dict(sub_sample=True, use_scale=False,
              norm_cfg=dict(type='BN3d', requires_grad=True),
              mode='embedded_gaussian')
NL_PATTERN = ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0))

VARIANTS = {  # name: (depth, backbone arguments)
    'blockres': (50, dict()),
    'block_shift_div_4': (50, dict(shift_place='block', shift_div=4)),
    'temporal_pool': (50, dict(temporal_pool=True)),
    'non_local': (50, dict(non_local=NL_PATTERN, non_local_cfg=NL_CFG)),
    'r101': (101, dict()),  # every other block shifted
}
NUM_SEGMENTS = 4
TOL = 1e-9  # of the output's scale; float64 rounding reaches ~1e-13


def recognizer(scope, depth, backbone_extra):
    prefix = 'tsm_plugin.' if scope == 'tsm_plugin' else ''
    temporal_pool = backbone_extra.get('temporal_pool', False)
    return dict(
        type=f'{prefix}Recognizer2D',
        backbone=dict(type=f'{prefix}ResNetTSM', depth=depth, pretrained=None,
                      pretrained2d=False, num_segments=NUM_SEGMENTS,
                      **backbone_extra),
        cls_head=dict(type=f'{prefix}TSMHead', num_classes=7,
                      in_channels=2048, num_segments=NUM_SEGMENTS,
                      temporal_pool=temporal_pool, average_clips='prob'),
        data_preprocessor=dict(type='ActionDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], format_shape='NCHW'))


def time_reversed(x):
    """The frames of each clip in opposite order."""
    return x.view(-1, NUM_SEGMENTS, *x.shape[1:]).flip(1).view(x.shape)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_mmaction_checkpoint_loads_strict_and_gives_same_outputs(variant):
    depth, extra = VARIANTS[variant]
    with DefaultScope.overwrite_default_scope('mmaction'):
        theirs = MODELS.build(recognizer('mmaction', depth, extra))
    with DefaultScope.overwrite_default_scope('tsm_plugin'):
        ours = MODELS.build(recognizer('tsm_plugin', depth, extra))
    assert type(ours.backbone).__module__.startswith('tsm_plugin')
    assert type(theirs.backbone).__module__.startswith('mmaction')
    # Two clips, float64: MMAction2 and the plugin sum in other orders
    theirs.double()
    ours.double()
    x = torch.randn(2 * NUM_SEGMENTS, 3, 48, 48, dtype=torch.float64)
    wake(theirs.backbone, torch.randn_like(x))
    wake(theirs.cls_head)  # only the fc: no BN in the head
    result = ours.load_state_dict(theirs.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    ours.eval()

    def outputs(model, frames):
        feats = model.backbone(frames)
        return feats, model.cls_head(feats, num_segs=NUM_SEGMENTS)

    with torch.no_grad():
        expected = outputs(theirs, x)
        got = outputs(ours, x)
        reversed_ = outputs(theirs, time_reversed(x))
    for name, e, g, r in zip(('features', 'scores'), expected, got, reversed_):
        scale = e.abs().max().item()
        assert spread(g, e) <= TOL * scale, name
        # the input reaches the output: the same frames in another order move
        # it by far more than the tolerance (as a shift the wrong way would)
        assert spread(r, e) > 1e-2 * scale, name


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
