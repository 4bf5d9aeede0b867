"""The shift op against a plain reference written frame by frame."""
import pytest
import torch

from tsm_plugin.ops import TemporalShift, temporal_shift


def reference_shift(x, num_segments, shift_div, mode):
    """Loop over frames: out[t] takes x[t + offset] for each channel group."""
    nt, c, h, w = x.shape
    clips = x.reshape(nt // num_segments, num_segments, c, h, w)
    fold = c // shift_div
    if mode == 'bidirectional':
        groups = [(0, fold, 1), (fold, 2 * fold, -1)]
    else:
        groups = [(0, fold, -1)]
    out = clips.clone()
    for first, last, offset in groups:
        for t in range(num_segments):
            src = t + offset
            if 0 <= src < num_segments:
                out[:, t, first:last] = clips[:, src, first:last]
            else:
                out[:, t, first:last] = 0
    return out.reshape(nt, c, h, w)


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


@pytest.mark.parametrize('lean', [True, False])
@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_module_is_shift_then_net(lean, mode):
    conv = torch.nn.Conv2d(16, 8, 3, padding=1, bias=True).double()
    module = TemporalShift(conv, num_segments=4, shift_div=4, mode=mode, lean=lean)
    x = torch.randn(8, 16, 5, 5, dtype=torch.float64, requires_grad=True)
    out = module(x)
    grads = torch.autograd.grad(out.square().sum(), (x, conv.weight, conv.bias))
    x_ref = x.detach().clone().requires_grad_()
    ref = conv(reference_shift(x_ref, 4, 4, mode))
    grads_ref = torch.autograd.grad(ref.square().sum(),
                                    (x_ref, conv.weight, conv.bias))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=0, atol=1e-10)


def test_module_rejects_bad_arguments_at_build():
    with pytest.raises(ValueError, match='shift_mode'):
        TemporalShift(torch.nn.Identity(), 8, 8, mode='both')
