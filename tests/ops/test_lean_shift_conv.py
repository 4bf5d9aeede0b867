"""The lean "shift, then conv" Function against conv(reference shift): the
same values bit for bit, and only the unshifted input kept for backward."""
import pytest
import torch
from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d
from shift_reference import reference_shift
from torch import nn

from tsm_plugin.ops import SHIFT_MODES, lean_shift_conv2d
from tsm_plugin.ops.lean_shift_conv import can_fuse

pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py

CONVS = [  # (in, out, kernel, stride, padding, dilation, groups, bias)
    (16, 8, 1, 1, 0, 1, 1, False),
    (16, 8, 3, 1, 1, 1, 1, True),
    (16, 12, 3, 2, (1, 2), 1, 1, True),
    (16, 8, 3, 1, 2, 2, 1, False),
    (16, 8, 3, 1, 1, 1, 4, True),
    (24, 24, 3, 2, 1, 1, 24, False),
]


def conv_from(spec):
    cin, cout, k, stride, padding, dilation, groups, bias = spec
    return nn.Conv2d(cin, cout, k, stride, padding, dilation, groups, bias)


def params(conv):
    return [p for p in (conv.weight, conv.bias) if p is not None]


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('spec', CONVS)
def test_same_as_conv_of_reference_shift_bit_for_bit(spec, mode):
    conv = conv_from(spec)
    a = torch.randn(2 * 4, spec[0], 7, 6, requires_grad=True)
    x = a.relu()  # saved by the ReLU: the Function must not change it
    version = x._version
    out = lean_shift_conv2d(x, conv, 4, 4, mode)
    a_ref = a.detach().clone().requires_grad_()
    ref = conv(reference_shift(a_ref.relu(), 4, 4, mode))
    assert torch.equal(out, ref)
    assert not torch.allclose(out, conv(x), atol=0.1)  # the shift mattered
    g = torch.randn(out.shape)
    for got, want in zip(torch.autograd.grad(out, [a] + params(conv), g),
                         torch.autograd.grad(ref, [a_ref] + params(conv), g)):
        assert torch.equal(got, want)
    assert x._version == version


@pytest.mark.parametrize('mode', SHIFT_MODES)
def test_gradient_of_each_input_alone(mode):
    conv = conv_from(CONVS[1])
    x = torch.randn(8, 16, 5, 5)
    for needs_x, needs_w in [(True, False), (False, True)]:
        xi = x.clone().requires_grad_(needs_x)
        conv.requires_grad_(needs_w)
        out = lean_shift_conv2d(xi, conv, 4, 8, mode)
        ref = conv(reference_shift(xi, 4, 8, mode))
        wanted = [xi] if needs_x else params(conv)
        g = torch.randn(out.shape)
        for got, want in zip(torch.autograd.grad(out, wanted, g),
                             torch.autograd.grad(ref, wanted, g)):
            assert torch.equal(got, want)
    conv.requires_grad_(True)


def test_keeps_only_the_input_and_weight():
    conv = nn.Conv2d(32, 8, 3, padding=1)
    x = torch.randn(8, 32, 6, 6, requires_grad=True)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
            lambda t: saved.append(t) or t, lambda t: t):
        lean_shift_conv2d(x, conv, 4, 8, 'bidirectional')
    assert {t.data_ptr() for t in saved} == {x.data_ptr(),
                                             conv.weight.data_ptr()}


class CustomConv(nn.Conv2d):

    def forward(self, x):
        return super().forward(x) * 2


def test_only_plain_convs_are_fused():
    assert can_fuse(nn.Conv2d(4, 4, 1))
    assert can_fuse(MMCVConv2d(4, 4, 1))  # ConvModule's conv
    assert not can_fuse(CustomConv(4, 4, 1))
    assert not can_fuse(nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect'))
    assert not can_fuse(nn.Conv2d(4, 4, 3, padding='same'))
    assert not can_fuse(nn.Sequential(nn.Conv2d(4, 4, 1)))
    hooked = nn.Conv2d(4, 4, 1)
    hooked.register_forward_hook(lambda *args: None)
    assert not can_fuse(hooked)
