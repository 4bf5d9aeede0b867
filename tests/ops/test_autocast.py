"""Mixed precision: the lean shift and TAdaConv2d under ``torch.autocast``.

Inside a network a layer may receive float32 (a residual stream, which
autocast leaves in float32) or low-precision inputs: both are tested. The
lean shift must be the plain path (a shifted copy, then the conv, autocast's
casts) bit for bit: the same kernels on the same values. TAdaConv2d's
Function likewise equals its plain ops (``x * a``, then ``nn.Conv2d``) bit
for bit; against float32 it agrees within bfloat16's rounding (tolerances
below, each far under what another input moves)."""
import pytest
import torch
from shift_reference import reference_shift
from torch import nn

from tsm_plugin.ops import TAdaConv2d, TemporalShift
from tsm_plugin.ops import tadaconv as tadaconv_module

pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py

LOW = [torch.bfloat16, torch.float16]  # both run on the CPU's autocast
CONVS = [  # (in, out, kernel, stride, padding, groups, bias)
    (16, 8, 1, 1, 0, 1, False),
    (16, 12, 3, 2, 1, 1, True),
    (16, 16, 3, 1, 1, 16, True),
]


def leaf_grads(out, leaves):
    # retain_graph: two outputs may share the graph of their input
    return torch.autograd.grad(out.float().square().sum(), leaves,
                               retain_graph=True)


@pytest.mark.parametrize('low', LOW)
@pytest.mark.parametrize('x_dtype', [torch.float32, 'low'])
@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
@pytest.mark.parametrize('spec', CONVS)
def test_lean_shift_is_the_plain_path_bit_for_bit(spec, mode, x_dtype, low):
    cin, cout, k, stride, padding, groups, bias = spec
    conv = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias)
    module = TemporalShift(conv, 4, 4, mode)
    params = [p for p in conv.parameters()]
    a = torch.randn(8, cin, 6, 5, requires_grad=True)
    dtype = low if x_dtype == 'low' else x_dtype
    with torch.autocast('cpu', dtype=low):
        x = a.relu().to(dtype)  # kept by the ReLU: must come back unchanged
        before = x.clone()
        assert module.path(x) == 'lean'
        out = module(x)
        # the reference: a frame-by-frame shift, then the conv (autocast casts)
        ref = conv(reference_shift(x, 4, 4, mode))
    assert out.dtype == low and torch.equal(out, ref)
    assert torch.equal(x, before)
    with torch.autocast('cpu', dtype=low):
        unshifted = conv(x)
    assert (out - unshifted).abs().max() > 0.1  # the shift mattered
    got, want = leaf_grads(out, [a] + params), leaf_grads(ref, [a] + params)
    for g, w, p in zip(got, want, [a] + params):
        assert g.dtype == p.dtype == torch.float32
        assert torch.equal(g, w)


@pytest.mark.parametrize('x_dtype', [torch.float32, torch.bfloat16])
def test_lean_shift_keeps_only_the_cast_input_and_the_weight(x_dtype):
    conv = nn.Conv2d(16, 8, 3, padding=1)
    x = torch.randn(8, 16, 5, 5, dtype=x_dtype, requires_grad=True)
    saved = []
    with torch.autocast('cpu', dtype=torch.bfloat16), \
            torch.autograd.graph.saved_tensors_hooks(
                lambda t: saved.append(t) or t, lambda t: t):
        TemporalShift(conv, 4, 8)(x)
    # what a conv alone keeps of its input: autocast's cast (x itself if it
    # already is bfloat16), and no shifted copy; the weight, not a cast of it
    kept = [t for t in saved if t.data_ptr() != conv.weight.data_ptr()]
    assert len(kept) == 1 and kept[0].dtype == torch.bfloat16
    assert kept[0].shape == x.shape
    assert (kept[0].data_ptr() == x.data_ptr()) == (x_dtype == torch.bfloat16)


def test_a_later_use_of_the_weight_still_gets_its_gradient():
    # autocast caches weight casts; one made inside the Function (no grad)
    # would reach a plain use of the same weight later in the same region
    conv = nn.Conv2d(16, 8, 1)
    x = torch.randn(8, 16, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        TemporalShift(conv, 4, 8)(x.requires_grad_())
        later = conv(x)
    (weight_grad, ) = torch.autograd.grad(later.float().sum(), conv.weight)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        alone = conv(x)
    assert torch.equal(weight_grad, torch.autograd.grad(alone.float().sum(),
                                                        conv.weight)[0])


def calibrated_tadaconv(conv):
    tada = TAdaConv2d.from_conv2d(conv, num_segments=4)
    with torch.no_grad():  # off identity, so the calibration matters
        tada.calibration.temporal_conv2.weight.normal_(0, 0.1)
    return tada


def tada_run(tada, x, dtype, autocast, plain=False, monkeypatch=None):
    """Output and gradients (input, then each parameter) of a train step."""
    if plain:
        monkeypatch.setattr(tadaconv_module, 'plain_ops_wanted', lambda: True)
    x = x.detach().to(dtype).requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        out = tada(x)
    grads = leaf_grads(out, [x] + list(tada.parameters()))
    if plain:
        monkeypatch.undo()
    names = ['out', 'x'] + [n for n, _ in tada.named_parameters()]
    return dict(zip(names, (out, ) + grads))


def norm_error(got, want):
    return ((got.float() - want).norm() / want.norm()).item()


# bfloat16 keeps 8 bits: 0.4% a rounding. Norm-relative errors measured
# (3x3 conv and depthwise 7x7, float32 or bfloat16 input): 0.04-0.6%, the
# calibration generator running in float32 (in bfloat16 its gradients were
# 30-70% off). Another input moves each by 25-175%.
TOLERANCE = 0.02


@pytest.mark.parametrize('x_dtype', [torch.float32, torch.bfloat16])
@pytest.mark.parametrize('conv', [
    lambda: nn.Conv2d(32, 32, 3, padding=1, bias=True),
    lambda: nn.Conv2d(32, 32, 7, padding=3, groups=32),  # TAdaConvNeXt's
], ids=['3x3', 'depthwise7x7'])
def test_tadaconv_trains_under_autocast(conv, x_dtype, monkeypatch):
    torch.manual_seed(0)
    tada = calibrated_tadaconv(conv())
    x = torch.randn(8, 32, 10, 10)
    got = tada_run(tada, x, x_dtype, True)
    assert got['out'].dtype == torch.bfloat16
    assert got['x'].dtype == x_dtype
    assert all(got[n].dtype == torch.float32 for n, _ in
               tada.named_parameters())
    # the plain ops under the same autocast: the same casts and kernels
    plain = tada_run(tada, x, x_dtype, True, plain=True,
                     monkeypatch=monkeypatch)
    for name in got:
        assert torch.equal(got[name], plain[name]), name
    # float32 without autocast, and another input as the yardstick
    want = tada_run(tada, x.to(x_dtype).float(), torch.float32, False)
    other = tada_run(tada, torch.randn_like(x), torch.float32, False)
    for name in got:
        if name == 'calibration.temporal_conv1.bias':
            # before a train-mode BatchNorm: zero in exact arithmetic, so
            # both are rounding noise (float32's and bfloat16's)
            continue
        assert norm_error(got[name], want[name]) < TOLERANCE, name
        assert norm_error(other[name], want[name]) > 10 * TOLERANCE, name
