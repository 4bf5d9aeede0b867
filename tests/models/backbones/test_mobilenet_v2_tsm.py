"""MobileNetV2TSM: MMAction2's keys and outputs, shift_mode, clear errors."""
import pytest
import torch
from mmaction.models import MobileNetV2TSM as MMActionMobileNetV2TSM
from mmaction.registry import MODELS
from torch import nn

import tsm_plugin  # noqa: F401
from tsm_plugin.ops import TemporalShift


def build(**kwargs):
    kwargs.setdefault('pretrained2d', False)
    return MODELS.build(dict(type='tsm_plugin.MobileNetV2TSM', **kwargs))


def sane_bn_(model, frames):
    """BN statistics measured on ``frames``, so outputs keep their scale."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()  # MMAction2's MobileNetV2.train returns None
    with torch.no_grad():
        model(frames)
    model.eval()
    return model


def test_mmaction_state_dict_loads_strictly_with_same_outputs():
    theirs = MMActionMobileNetV2TSM(num_segments=4, pretrained2d=False,
                                    widen_factor=0.5)
    frames = torch.randn(8, 3, 32, 32)
    sane_bn_(theirs, frames)
    ours = build(num_segments=4, widen_factor=0.5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    with torch.no_grad():
        expected = theirs(frames)
        torch.testing.assert_close(ours(frames), expected)
        # the shift matters: the same net without it differs by far more
        flat = build(num_segments=4, widen_factor=0.5, is_shift=False)
        flat.load_state_dict({k.replace('.net.', '.'): v for k, v in
                              theirs.state_dict().items()}, strict=True)
        assert (flat.eval()(frames) - expected).abs().max() > \
            1e-2 * expected.abs().max()


@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_shift_mode_and_div_reach_every_shift(mode):
    shifts = [m for m in build(shift_mode=mode, shift_div=4).modules()
              if isinstance(m, TemporalShift)]
    # blocks with an identity shortcut: 1 + 2 + 3 + 2 + 2 (layers 2-6)
    assert len(shifts) == 10
    assert {(m.mode, m.shift_div, m.num_segments) for m in shifts} == \
        {(mode, 4, 8)}


def test_unidirectional_is_causal():
    model = sane_bn_(build(num_segments=4, shift_mode='unidirectional',
                           widen_factor=0.5), torch.randn(8, 3, 32, 32))
    x = torch.randn(4, 3, 32, 32)
    changed = x.clone()
    changed[2] += 1
    with torch.no_grad():
        before, after = model(x), model(changed)
    assert torch.equal(before[:2], after[:2])  # the past is untouched
    assert (before[3] - after[3]).abs().max() > 1e-3  # the future sees it


def test_train_returns_the_module():
    model = build()
    assert model.train() is model and model.eval() is model


def test_random_init_with_default_pretrained2d():
    # MMAction2's class crashes here (loads pretrained=None as a checkpoint)
    model = MODELS.build(dict(type='tsm_plugin.MobileNetV2TSM'))
    model.init_weights()
    assert model.conv1.conv.weight.std() > 0


@pytest.mark.parametrize('kwargs,message', [
    (dict(shift_mode='forward'), 'shift_mode must be one of'),
    (dict(shift_div=0), 'shift_div must be an int >= 1, got 0'),
    (dict(num_segments=0), 'num_segments must be a positive int, got 0'),
    (dict(shift_div=32), 'shift_div=32 leaves no channel to shift'),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_frames_not_a_multiple_of_num_segments():
    with pytest.raises(ValueError, match='6 frames, which is not a multiple '
                       'of num_segments=4'):
        build(num_segments=4)(torch.randn(6, 3, 32, 32))
