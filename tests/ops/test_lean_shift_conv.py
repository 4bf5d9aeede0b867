"""The fast paths (shift in place and back, lean backward) against the plain
path (a shifted copy, then the conv): same values, bit for bit, and the input
left as it was."""
import copy
import sys

import pytest
import torch
from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d
from torch import nn

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.ops import SHIFT_MODES, TemporalShift, lean_shift_conv2d
from tsm_plugin.ops.lean_shift_conv import can_fuse

# The package exports the function `temporal_shift` under the module's name.
ts = sys.modules['tsm_plugin.ops.temporal_shift']


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


def grads(out, x, conv, seed=1):
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    params = [p for p in (conv.weight, conv.bias) if p is not None]
    return torch.autograd.grad(out, [x] + params, g)


def plain(conv, x, num_segments, shift_div, mode):
    return conv(ts._shift(x, num_segments, shift_div, mode))


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('spec', CONVS)
def test_lean_conv_is_conv_of_shift_bit_for_bit(spec, mode):
    conv = conv_from(spec)
    x = torch.randn(2 * 4, spec[0], 7, 6, requires_grad=True)
    # x comes out of a ReLU, which saves it: an in-place change autograd saw
    # would break that backward; the shift must leave no trace.
    a = torch.randn(x.shape, requires_grad=True)
    base = a.relu()
    before = base.detach().clone()
    version = base._version
    out = lean_shift_conv2d(base, conv, 4, 4, mode)
    assert torch.equal(base, before) and base._version == version
    ref_a = a.detach().clone().requires_grad_()
    ref = plain(conv, ref_a.relu(), 4, 4, mode)
    assert torch.equal(out, ref)
    for got, want in zip(grads(out, a, conv), grads(ref, ref_a, conv)):
        assert torch.equal(got, want)
    assert torch.equal(base, before) and base._version == version


@pytest.mark.parametrize('mode', SHIFT_MODES)
def test_lean_conv_gradient_of_each_input_alone(mode):
    conv = conv_from(CONVS[1])
    x = torch.randn(8, 16, 5, 5)
    for needs_x, needs_w in [(True, False), (False, True)]:
        xi = x.clone().requires_grad_(needs_x)
        conv.weight.requires_grad_(needs_w)
        conv.bias.requires_grad_(needs_w)
        out = lean_shift_conv2d(xi, conv, 4, 8, mode)
        ref = plain(conv, xi, 4, 8, mode)
        wanted = [t for t, need in ((xi, needs_x), (conv.weight, needs_w))
                  if need]
        g = torch.randn(out.shape)
        for got, want in zip(torch.autograd.grad(out, wanted, g),
                             torch.autograd.grad(ref, wanted, g)):
            assert torch.equal(got, want)
    conv.requires_grad_(True)


@pytest.mark.parametrize('padded', [False, True])  # CPU / other devices
@pytest.mark.parametrize('adjoint', [False, True])
@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('clips,num_segments,channels,shift_div',
                         [(2, 8, 64, 8), (1, 3, 16, 4), (3, 1, 8, 8),
                          (2, 4, 10, 3), (1, 5, 24, 2)])
def test_inplace_shift_and_undo(clips, num_segments, channels, shift_div,
                                mode, adjoint, padded):
    for memory_format in (torch.contiguous_format, torch.channels_last):
        x = torch.randn(clips * num_segments, channels, 3, 5).to(
            memory_format=memory_format)
        y = x.clone()
        undo = ts._shift_(y, num_segments, shift_div, mode, adjoint, padded)
        want = ts._shift(x, num_segments, shift_div, mode, adjoint)
        assert torch.equal(y, want)
        undo()
        assert torch.equal(y, x)


@pytest.mark.parametrize('mode', SHIFT_MODES)
def test_module_inference_shifts_in_place_and_restores(mode):
    conv = conv_from(CONVS[2])
    module = TemporalShift(conv, 4, 4, mode)
    x = torch.randn(8, 16, 7, 6)
    before = x.clone()
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            out = module(x)
            ref = plain(conv, x, 4, 4, mode)
        assert torch.equal(out, ref)
        assert torch.equal(x, before)


def test_input_restored_when_the_conv_raises():
    module = TemporalShift(nn.Conv2d(8, 4, 1), 4, 4)  # wants 8 channels
    x = torch.randn(8, 16, 3, 3)
    before = x.clone()
    for grad in (False, True):
        with torch.set_grad_enabled(grad), pytest.raises(RuntimeError):
            module(x)
        assert torch.equal(x, before)


def test_input_that_is_not_dense_gets_a_copy():
    conv = conv_from(CONVS[1])
    module = TemporalShift(conv, 4, 8)
    wide = torch.randn(8, 32, 5, 5)
    x = wide[:, ::2]  # every other channel: strided, cannot be shifted in place
    before = wide.clone()
    with torch.no_grad():
        assert torch.equal(module(x), plain(conv, x, 4, 8, 'bidirectional'))
    xg = x.clone().requires_grad_()
    assert torch.equal(module(xg[:, :]), plain(conv, xg, 4, 8, 'bidirectional'))
    assert torch.equal(wide, before)


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


def test_hooked_or_custom_conv_still_runs_its_forward():
    seen = []
    hooked = nn.Conv2d(8, 4, 1)
    hooked.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    x = torch.randn(8, 8, 3, 3, requires_grad=True)
    out = TemporalShift(hooked, 4, 4)(x)
    assert torch.equal(seen[0], ts._shift(x, 4, 4, 'bidirectional'))
    custom = CustomConv(8, 4, 1)
    assert torch.equal(TemporalShift(custom, 4, 4)(x),
                       plain(custom, x, 4, 4, 'bidirectional'))
    assert out.requires_grad


def test_autocast_takes_the_plain_path():
    conv = nn.Conv2d(16, 8, 1)
    x = torch.randn(8, 16, 4, 4, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = TemporalShift(conv, 4, 8)(x)
        ref = plain(conv, x, 4, 8, 'bidirectional')
    assert out.dtype == torch.bfloat16 and torch.equal(out, ref)


NETS = [  # ResNetTSM arguments; each is compared with lean_shift=False
    dict(depth=18),
    dict(depth=50),
    dict(depth=50, shift_mode='unidirectional'),
    dict(depth=50, shift_place='block'),
    dict(depth=18, shift_place='block', shift_mode='unidirectional'),
    dict(depth=50, temporal_pool=True),
    dict(depth=50, non_local=((0, 0, 0), (0, 1, 0, 1), (0, 0, 0, 0, 0, 0),
                              (0, 0, 0)),
         non_local_cfg=dict(sub_sample=True, mode='dot_product')),
    dict(depth=50, with_cp=True),
    dict(depth=50, norm_eval=True, frozen_stages=1),
]


@pytest.mark.parametrize('kwargs', NETS, ids=lambda k: ','.join(
    f'{key}={value}' for key, value in k.items() if key != 'non_local_cfg'))
def test_backbone_same_outputs_and_gradients_as_plain(kwargs):
    lean = ResNetTSM(num_segments=4, **kwargs)
    plain_net = ResNetTSM(num_segments=4, lean_shift=False, **kwargs)
    plain_net.load_state_dict(lean.state_dict())
    lean.train()
    plain_net.train()
    x = torch.randn(8, 3, 32, 32)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    outs = [net(xi) for net, xi in zip((lean, plain_net), xs)]
    assert torch.equal(outs[0], outs[1])
    g = torch.randn(outs[0].shape)
    for out in outs:
        out.backward(g)
    assert torch.equal(xs[0].grad, xs[1].grad)
    for (name, p), q in zip(lean.named_parameters(), plain_net.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            assert torch.equal(p.grad, q.grad), name
    for net in (lean, plain_net):
        net.eval()
    with torch.no_grad():
        assert torch.equal(lean(x), plain_net(x))


def test_module_copy_and_repr_keep_lean_flag():
    module = TemporalShift(nn.Conv2d(8, 8, 1), 4, 4, lean=False)
    assert 'lean=False' in repr(copy.deepcopy(module))
