"""TAdaConv2d, its calibration generator and the temporal average pool,
against independent references written here: the official formulation (one
per-frame weight ``a_t * W``, one grouped conv with N*T groups), the
calibration formula written out with explicit sums, and ``nn.AvgPool3d``."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tsm_plugin.ops import CalibrationGenerator, TAdaConv2d, temporal_avg_pool
from tsm_plugin.tools.saved_memory import saved_activation_bytes

T = 4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def perturb(tada, scale=0.5):
    """Make the calibration non-trivial (fresh, it is 1 everywhere)."""
    with torch.no_grad():
        for p in tada.calibration.parameters():
            p.normal_(0, scale)
    return tada


def explicit_tadaconv2d(x, calibration, conv):
    """Official formulation: per-frame weights, one conv with N*T*groups groups."""
    nt, c_in, h, w = x.shape
    c_out, c_in_g = conv.weight.shape[:2]
    g = conv.groups
    # the calibration of each weight's input channel: (NT, C_out, C_in/g)
    a = calibration.view(nt, g, 1, c_in_g).expand(nt, g, c_out // g, c_in_g)
    weights = a.reshape(nt, c_out, c_in_g)[..., None, None] * conv.weight
    bias = None if conv.bias is None else conv.bias.repeat(nt)
    out = F.conv2d(x.reshape(1, nt * c_in, h, w),
                   weights.reshape(nt * c_out, c_in_g, *conv.kernel_size),
                   bias, conv.stride, conv.padding, conv.dilation, nt * g)
    return out.view(nt, c_out, *out.shape[2:])


@pytest.mark.parametrize('kwargs', [
    dict(kernel_size=3, padding=1),
    dict(kernel_size=3, stride=2, padding=1, bias=True),
    dict(kernel_size=(3, 1), padding=(2, 0), dilation=2),
    dict(kernel_size=3, padding=1, groups=2),
    dict(kernel_size=1),
])
def test_fast_equals_explicit_outputs_and_gradients(kwargs):
    torch.manual_seed(0)
    tada = perturb(TAdaConv2d(8, 6, num_segments=T, **kwargs)).double()
    x = torch.randn(2 * T, 8, 9, 9, dtype=torch.double, requires_grad=True)
    grad_out = None

    def run(fast):
        tada.zero_grad()
        x.grad = None
        if fast:
            out = tada(x)
        else:
            out = explicit_tadaconv2d(x, tada.calibration(x), tada)
        nonlocal grad_out
        if grad_out is None:
            grad_out = torch.randn_like(out)
        out.backward(grad_out)
        grads = {n: p.grad.clone() for n, p in tada.named_parameters()}
        return out.detach(), x.grad.clone(), grads

    fast, fast_gx, fast_grads = run(True)
    ref, ref_gx, ref_grads = run(False)
    torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(fast_gx, ref_gx, rtol=1e-10, atol=1e-10)
    assert fast_grads.keys() == ref_grads.keys()
    for name in ref_grads:
        torch.testing.assert_close(fast_grads[name], ref_grads[name],
                                   rtol=1e-10, atol=1e-10, msg=name)
    # teeth: the calibration moves the output far beyond the tolerance
    plain = F.conv2d(x, tada.weight, tada.bias, tada.stride, tada.padding,
                     tada.dilation, tada.groups)
    assert (fast - plain.detach()).abs().max() > 1e-2
    assert ref_grads['calibration.temporal_conv1.weight'].abs().max() > 1e-3


def test_keeps_no_scaled_copy_for_backward():
    tada = perturb(TAdaConv2d(64, 64, 3, padding=1, num_segments=T))
    x = torch.randn(2 * T, 64, 16, 16)
    input_bytes = x.numel() * x.element_size()
    # the input, the calibration and the generator's few small tensors
    assert saved_activation_bytes(tada, x) < 1.05 * input_bytes
    assert saved_activation_bytes(ScaledInputConv(tada), x) > 1.9 * input_bytes


class ScaledInputConv(nn.Module):
    """conv(x * a, W) left to autograd: it keeps the scaled copy too."""

    def __init__(self, tada):
        super().__init__()
        self.tada = tada

    def forward(self, x):
        a = self.tada.calibration(x)[:, :, None, None]
        return self.tada._conv_forward(x * a, self.tada.weight, None)


@pytest.mark.parametrize('trace', [True, False])
def test_traced_and_padding_modes_record_plain_ops(trace):
    kwargs = dict(padding=1) if trace else dict(padding=1,
                                                padding_mode='reflect')
    tada = perturb(TAdaConv2d(8, 8, 3, num_segments=T, **kwargs)).eval()
    x = torch.randn(2 * T, 8, 6, 6)
    if trace:
        traced = torch.jit.trace(tada, x)
        assert 'aten::_convolution' in str(traced.graph)
        torch.testing.assert_close(traced(x), tada(x))
    else:  # scaling commutes with reflect padding too
        conv = nn.Conv2d(8, 8, 3, bias=False)
        conv.weight = tada.weight
        ref = explicit_tadaconv2d(F.pad(x, (1, 1, 1, 1), mode='reflect'),
                                  tada.calibration(x), conv)
        torch.testing.assert_close(tada(x), ref)


def test_fresh_tadaconv_is_its_2d_conv_exactly():
    conv = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    tada = TAdaConv2d.from_conv2d(conv, num_segments=T)
    assert tada.weight is conv.weight
    x = torch.randn(2 * T, 8, 7, 7)
    assert torch.equal(tada(x), conv(x))
    perturb(tada)  # the test above has teeth: a calibrated conv differs
    assert not torch.allclose(tada(x), conv(x), atol=1e-3)


def calibration_reference(gen, x):
    """The calibration of the paper, in explicit sums over time (eval mode)."""
    nt, c = x.shape[:2]
    n = nt // T
    d = x.mean((2, 3)).view(n, T, c)  # per-frame descriptors
    g = d.mean(1) @ gen.global_proj.weight[:, :, 0].T + gen.global_proj.bias
    ctx = d + g[:, None]

    def temporal_conv(seq, conv):
        k = conv.kernel_size[0]
        out = torch.zeros(n, T, conv.out_channels, dtype=seq.dtype)
        for t in range(T):
            for j in range(k):
                s = t + j - k // 2
                if 0 <= s < T:  # zero padding
                    out[:, t] += seq[:, s] @ conv.weight[:, :, j].T
        return out if conv.bias is None else out + conv.bias

    h = temporal_conv(ctx, gen.temporal_conv1)
    bn = gen.bn
    h = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) \
        * bn.weight + bn.bias
    a = temporal_conv(h.clamp(min=0), gen.temporal_conv2) + 1
    return a.reshape(nt, c)


def test_calibration_follows_the_paper_formula():
    gen = CalibrationGenerator(8, T, reduction=4, kernels=(3, 5)).double()
    for p in gen.parameters():
        nn.init.normal_(p, 0, 0.5)
    gen.bn.running_mean.normal_()
    gen.bn.running_var.uniform_(0.5, 2)
    gen.eval()
    x = torch.randn(3 * T, 8, 5, 5, dtype=torch.double)
    with torch.no_grad():
        ref = calibration_reference(gen, x)
        torch.testing.assert_close(gen(x), ref, rtol=1e-10, atol=1e-10)
        assert (ref - 1).abs().max() > 0.1  # not the identity


def test_fresh_calibration_is_one_and_has_gradient():
    gen = CalibrationGenerator(8, T)
    x = torch.randn(2 * T, 8, 5, 5)
    a = gen(x)
    assert torch.equal(a, torch.ones_like(a))
    (a * torch.randn_like(a)).sum().backward()
    assert gen.temporal_conv2.weight.grad.abs().max() > 0


def test_calibration_mixes_frames_of_a_clip_only():
    gen = CalibrationGenerator(8, T)
    nn.init.normal_(gen.temporal_conv2.weight)
    gen.eval()
    x = torch.randn(2 * T, 8, 5, 5)
    changed = x.clone()
    changed[1] += torch.randn(8, 5, 5)
    with torch.no_grad():
        a, b = gen(x), gen(changed)
    assert (a[:T] - b[:T]).abs().min(1).values.gt(0).all()  # whole clip 0
    assert torch.equal(a[T:], b[T:])  # clip 1 untouched


@pytest.mark.parametrize('kernel', [1, 3])
def test_temporal_avg_pool_equals_avgpool3d(kernel):
    x = torch.randn(2 * T, 3, 4, 4)
    pool = nn.AvgPool3d((kernel, 1, 1), stride=1, padding=(kernel // 2, 0, 0))
    ref = pool(x.view(2, T, 3, 4, 4).transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(temporal_avg_pool(x, T, kernel),
                               ref.reshape(2 * T, 3, 4, 4))
    if kernel > 1:
        assert not torch.allclose(temporal_avg_pool(x, T, kernel), x)


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_segments=0), 'num_segments must be a positive int, got 0'),
    (dict(num_segments=2.0), 'num_segments'),
    (dict(reduction=0), 'reduction must be an int >= 1, got 0'),
    (dict(reduction=16), 'reduction=16 leaves no hidden channel'),
    (dict(kernels=(2, 3)), r'kernels must be two odd positive ints.*\(2, 3\)'),
    (dict(kernels=3), 'kernels'),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TAdaConv2d(8, 8, 3, **kwargs)


@pytest.mark.parametrize('shape,match', [
    ((6, 8, 5, 5), '6 frames, not a multiple of num_segments=4'),
    ((8, 5, 5), r'\(N\*T, C, H, W\)'),
])
def test_bad_input_raises_value_error(shape, match):
    with pytest.raises(ValueError, match=match):
        TAdaConv2d(8, 8, 3, num_segments=T)(torch.randn(shape))
