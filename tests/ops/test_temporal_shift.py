"""The shift op against a plain reference written frame by frame."""
import pytest
import torch
from shift_reference import reference_shift

from tsm_plugin.ops import temporal_shift


CASES = [  # (clips, num_segments, channels, shift_div)
    (2, 8, 64, 8), (1, 3, 16, 4), (3, 1, 8, 8), (2, 4, 10, 3), (1, 16, 24, 2)]


@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
@pytest.mark.parametrize('clips,num_segments,channels,shift_div', CASES)
def test_matches_reference_forward_and_backward(mode, clips, num_segments,
                                                channels, shift_div):
    x = torch.randn(clips * num_segments, channels, 5, 3, dtype=torch.float64,
                    requires_grad=True)
    grad = torch.randn(clips * num_segments, channels, 5, 3, dtype=torch.float64)
    out = temporal_shift(x, num_segments, shift_div, mode)
    (gx,) = torch.autograd.grad(out, x, grad)
    x_ref = x.detach().clone().requires_grad_()
    ref = reference_shift(x_ref, num_segments, shift_div, mode)
    (gx_ref,) = torch.autograd.grad(ref, x_ref, grad)
    assert torch.equal(out, ref)
    assert torch.equal(gx, gx_ref)
    if num_segments > 1:  # the shift moved something
        assert not torch.equal(out, x)


def test_gradcheck_both_modes():
    for mode in ('bidirectional', 'unidirectional'):
        x = torch.randn(6, 8, 2, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(
            lambda t: temporal_shift(t, 3, 4, mode), (x,))


def test_layout_is_mmaction_and_original_tsm():
    # frame t of channel 0 holds t+1's value, channel 1 holds t-1's (C=2, div=2)
    frames = torch.arange(1., 5.).view(4, 1, 1, 1).expand(4, 3, 1, 1)
    out = temporal_shift(frames.contiguous(), 4, shift_div=3)
    assert out[:, 0].flatten().tolist() == [2., 3., 4., 0.]
    assert out[:, 1].flatten().tolist() == [0., 1., 2., 3.]
    assert out[:, 2].flatten().tolist() == [1., 2., 3., 4.]
    online = temporal_shift(frames.contiguous(), 4, 3, 'unidirectional')
    assert online[:, 0].flatten().tolist() == [0., 1., 2., 3.]
    assert online[:, 1:].flatten().tolist() == frames[:, 1:].flatten().tolist()


def test_unidirectional_never_sees_the_future():
    x = torch.randn(8, 16, 2, 2, requires_grad=True)
    out = temporal_shift(x, 8, 8, 'unidirectional')
    for t in range(8):
        (g,) = torch.autograd.grad(out[t].sum(), x, retain_graph=True)
        assert g[t + 1:].abs().sum() == 0


def test_inf_stays_inf_and_input_untouched():
    x = torch.randn(4, 8, 2, 2)
    x[1, 0] = float('inf')
    before = x.clone()
    out = temporal_shift(x, 4, 8)
    assert torch.equal(x, before)
    assert not torch.isnan(out).any()  # MMAction2's `x - x` zeros turn inf into NaN
    assert torch.isinf(out[0, 0]).all()


def test_channels_last_input_gives_same_values():
    x = torch.randn(8, 16, 4, 4)
    out = temporal_shift(x.to(memory_format=torch.channels_last), 8)
    assert torch.equal(out, reference_shift(x, 8, 8, 'bidirectional'))


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_segments=0), 'num_segments'),
    (dict(num_segments=2.0), 'num_segments'),
    (dict(shift_div=0), 'shift_div'),
    (dict(shift_div=1), 'shift_div=1'),
    (dict(shift_div=9), 'leaves no channel'),
    (dict(mode='forward'), 'shift_mode'),
    (dict(num_segments=3), 'not a multiple of num_segments=3'),
])
def test_bad_arguments_raise_one_clear_error(kwargs, match):
    args = {**dict(num_segments=4, shift_div=8, mode='bidirectional'), **kwargs}
    with pytest.raises(ValueError, match=match):
        temporal_shift(torch.randn(8, 8, 2, 2), **args)


def test_bad_input_rank():
    with pytest.raises(ValueError, match=r'\(N\*T, C, H, W\)'):
        temporal_shift(torch.randn(2, 4, 8, 2, 2), 4)
