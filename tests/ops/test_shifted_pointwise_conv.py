"""A shifted 1x1 conv as products over the shifted frames where they lie,
against the plain path (a shifted copy, then the conv): outputs, gradients."""
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.ops import SHIFT_MODES, TemporalShift
from tsm_plugin.ops import shift_module
from tsm_plugin.ops.shifted_pointwise_conv import (
    MIN_PIXELS, can_run_pointwise, shifted_pointwise_conv2d,
    shifted_pointwise_conv2d_autograd)

ts = sys.modules['tsm_plugin.ops.temporal_shift']
SIDE = 10  # 10x10 = MIN_PIXELS pixels per frame: the smallest map it takes


def reference(x, weight, bias, num_segments, shift_div, mode):
    return F.conv2d(ts._shift(x, num_segments, shift_div, mode), weight, bias)


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('clips,num_segments,channels,shift_div,bias', [
    (1, 8, 64, 8, False),
    (3, 4, 16, 4, True),
    (2, 3, 10, 3, False),   # channels not a multiple of shift_div
    (1, 5, 16, 2, True),    # bidirectional: no channel stays
    (2, 1, 16, 8, False),   # one frame: every moving fold reads zeros
    (1, 2, 24, 24, True),   # one channel per fold
])
def test_same_as_conv_of_shift(clips, num_segments, channels, shift_div, bias,
                               mode):
    g = torch.Generator().manual_seed(channels + num_segments)
    x = torch.randn(clips * num_segments, channels, SIDE, SIDE, generator=g,
                    dtype=torch.float64)
    weight = torch.randn(7, channels, 1, 1, generator=g, dtype=torch.float64)
    b = torch.randn(7, generator=g, dtype=torch.float64) if bias else None
    before = x.clone()
    out = shifted_pointwise_conv2d(x, weight, b, num_segments, shift_div, mode)
    want = reference(x, weight, b, num_segments, shift_div, mode)
    assert out.shape == want.shape and out.is_contiguous()
    torch.testing.assert_close(out, want, rtol=0, atol=1e-12)
    assert torch.equal(x, before)  # only read

    # Differentiable version: same output, same gradients as autograd's.
    conv = nn.Conv2d(channels, 7, 1, bias=bias).double()
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias:
            conv.bias.copy_(b)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    got = shifted_pointwise_conv2d_autograd(xs[0], conv, num_segments,
                                            shift_div, mode)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    params = [p for p in (conv.weight, conv.bias) if p is not None]
    grad = torch.randn(got.shape, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad(got, [xs[0]] + params, grad)
    wants = torch.autograd.grad(
        conv(ts._shift(xs[1], num_segments, shift_div, mode)),
        [xs[1]] + params, grad)
    for name, a, b_ in zip(('x', 'weight', 'bias'), grads, wants):
        torch.testing.assert_close(a, b_, rtol=0, atol=1e-10, msg=name)


def test_float32_within_rounding():
    x = torch.randn(16, 256, 14, 14)
    weight = torch.randn(64, 256, 1, 1) / 16
    out = shifted_pointwise_conv2d(x, weight, None, 8, 8, 'bidirectional')
    torch.testing.assert_close(
        out, reference(x, weight, None, 8, 8, 'bidirectional'))


@pytest.mark.parametrize('mode', SHIFT_MODES)
def test_gradient_of_each_input_alone(mode):
    conv = nn.Conv2d(16, 8, 1).double()
    x = torch.randn(8, 16, SIDE, SIDE, dtype=torch.float64)
    for needs_x, needs_w in [(True, False), (False, True)]:
        xi = x.clone().requires_grad_(needs_x)
        conv.requires_grad_(needs_w)
        out = shifted_pointwise_conv2d_autograd(xi, conv, 4, 8, mode)
        ref = conv(ts._shift(xi, 4, 8, mode))
        wanted = [xi] if needs_x else [conv.weight, conv.bias]
        g = torch.randn(out.shape, dtype=torch.float64)
        for got, want in zip(torch.autograd.grad(out, wanted, g),
                             torch.autograd.grad(ref, wanted, g)):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-10)
    assert torch.autograd.gradcheck(
        lambda xx, w: shifted_pointwise_conv2d_autograd(
            xx, _conv_with(w), 2, 4, mode),
        (torch.randn(4, 8, SIDE, SIDE, dtype=torch.float64, requires_grad=True),
         torch.randn(3, 8, 1, 1, dtype=torch.float64, requires_grad=True)))


def _conv_with(weight):
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], 1, bias=False)
    del conv.weight
    conv.weight = weight  # a plain tensor attribute: gradcheck's input
    return conv


def test_saves_only_the_input_and_weight():
    conv = nn.Conv2d(32, 8, 1)
    x = torch.randn(8, 32, SIDE, SIDE).relu().requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t) or t, lambda t: t):
        shifted_pointwise_conv2d_autograd(x, conv, 4, 8, 'bidirectional')
    assert {t.data_ptr() for t in saved} == {x.data_ptr(),
                                             conv.weight.data_ptr()}


def test_takes_only_what_it_computes_exactly():
    big = torch.randn(8, 16, SIDE, SIDE)
    assert can_run_pointwise(nn.Conv2d(16, 8, 1), big)
    assert can_run_pointwise(nn.Conv2d(16, 8, 1, bias=False).double(),
                             big.double())
    for conv in (nn.Conv2d(16, 8, 3, padding=1), nn.Conv2d(16, 8, 1, stride=2),
                 nn.Conv2d(16, 8, 1, padding=1), nn.Conv2d(16, 8, 1, groups=2)):
        assert not can_run_pointwise(conv, big), conv
    conv = nn.Conv2d(16, 8, 1)
    assert not can_run_pointwise(conv, big.to(memory_format=torch.channels_last))
    assert not can_run_pointwise(conv, big.bfloat16())
    assert not can_run_pointwise(conv, big.double())  # float weight
    assert not can_run_pointwise(conv, torch.randn(8, 16, 9, 11))  # 99 pixels
    assert MIN_PIXELS == SIDE * SIDE


@pytest.mark.parametrize('mode', SHIFT_MODES)
def test_module_inference_uses_it(mode, monkeypatch):
    def no_inplace(*args):
        raise AssertionError('a 1x1 conv in inference needs no in-place shift')

    monkeypatch.setattr(shift_module, 'shifted_inplace', no_inplace)
    conv = nn.Conv2d(32, 8, 1)
    x = torch.randn(8, 32, SIDE, SIDE + 2)
    with torch.no_grad():
        out = TemporalShift(conv, 4, 8, mode)(x)
        want = reference(x, conv.weight, conv.bias, 4, 8, mode)
    torch.testing.assert_close(out, want)
    with pytest.raises(AssertionError, match='in-place'):  # 3x3: not this path
        with torch.no_grad():
            TemporalShift(nn.Conv2d(32, 8, 3), 4, 8, mode)(x)


@pytest.mark.parametrize('kwargs', [dict(), dict(shift_mode='unidirectional'),
                                    dict(temporal_pool=True),
                                    dict(with_cp=True)])
def test_backbone_close_to_plain(kwargs):
    # 96 px: layer1-2 maps (24x24, 12x12) take the products, layer3-4 do not.
    lean = ResNetTSM(50, num_segments=4, **kwargs).double()
    plain = ResNetTSM(50, num_segments=4, lean_shift=False, **kwargs).double()
    plain.load_state_dict(lean.state_dict())
    x = torch.randn(8, 3, 96, 96, dtype=torch.float64)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    outs = [net(xi) for net, xi in zip((lean, plain), xs)]
    torch.testing.assert_close(outs[0], outs[1])
    g = torch.randn(outs[0].shape, dtype=torch.float64)
    for out in outs:
        out.backward(g)
    torch.testing.assert_close(xs[0].grad, xs[1].grad)
    for (name, p), q in zip(lean.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    with torch.no_grad():
        torch.testing.assert_close(lean.eval()(x), plain.eval()(x))
