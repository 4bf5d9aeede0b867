"""``channels_last`` in, ``channels_last`` out, the same values: the shift
(eager Function, lean path, the plain ops that traces and torch.compile
record), TAdaConv2d and TAda2D's temporal pool; gradients come back in the
input's layout."""
import pytest
import torch
from shift_reference import reference_shift
from torch import nn

from tsm_plugin.ops import (SHIFT_MODES, TAdaConv2d, TemporalShift,
                            temporal_avg_pool, temporal_shift)
from tsm_plugin.ops import tadaconv as tadaconv_module
from tsm_plugin.ops.temporal_shift import _shift

pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py

CL = torch.channels_last


def channels_last(t):
    return t.is_contiguous(memory_format=CL) and not t.is_contiguous()


def frames(*shape):
    x = torch.randn(*shape)
    return x, x.to(memory_format=CL)


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('shift', [
    lambda x, mode: temporal_shift(x, 4, 4, mode),
    lambda x, mode: _shift(x, 4, 4, mode),  # traced / compiled
], ids=['eager', 'plain-ops'])
def test_shift_keeps_channels_last(shift, mode):
    x, x_cl = frames(8, 16, 5, 6)
    x_cl.requires_grad_()
    out = shift(x_cl, mode)
    assert channels_last(out)
    assert torch.equal(out, reference_shift(x, 4, 4, mode))
    grad = torch.randn_like(x).to(memory_format=CL)
    out.backward(grad)
    assert torch.equal(x_cl.grad, torch.autograd.grad(
        reference_shift(x.requires_grad_(), 4, 4, mode), x, grad)[0])


@pytest.mark.parametrize('grad', [True, False], ids=['lean', 'plain'])
def test_shift_module_keeps_channels_last(grad):
    # The weight stays contiguous: a CPU conv's output is channels_last when
    # its input or its weight is, so here the output tells the input's.
    conv = nn.Conv2d(16, 8, 3, padding=1)
    module = TemporalShift(conv, 4, 4)
    x, x_cl = frames(8, 16, 5, 6)
    with torch.set_grad_enabled(grad):
        want = conv(reference_shift(x, 4, 4, 'bidirectional'))
        assert not channels_last(conv(x))
        assert module.path(x_cl) == ('lean' if grad else 'plain')
        out = module(x_cl.requires_grad_(grad))
        assert channels_last(out)
        torch.testing.assert_close(out, want)  # another conv kernel
    if grad:
        out.sum().backward()
        assert channels_last(x_cl.grad)


def test_tadaconv_keeps_channels_last():
    tada = TAdaConv2d(16, 16, 3, padding=1, num_segments=4)
    with torch.no_grad():
        tada.calibration.temporal_conv2.weight.normal_(0, 0.1)
    x, x_cl = frames(8, 16, 5, 6)
    want = tada(x)
    out = tada.to(memory_format=CL)(x_cl.requires_grad_())
    assert channels_last(out)
    torch.testing.assert_close(out, want)
    out.square().sum().backward()
    assert channels_last(x_cl.grad)


@pytest.mark.parametrize('eager', [True, False])
def test_temporal_avg_pool_keeps_channels_last(eager, monkeypatch):
    monkeypatch.setattr(tadaconv_module, 'eager_kernels_wanted',
                        lambda: eager)
    x, x_cl = frames(8, 16, 5, 6)
    out = temporal_avg_pool(x_cl, 4)
    assert channels_last(out)
    assert torch.equal(out, temporal_avg_pool(x, 4))
    # a frame's neighbours counted: not the input
    assert (out - x).abs().max() > 0.1
