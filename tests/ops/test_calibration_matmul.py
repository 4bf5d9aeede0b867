"""The calibration generator's eager path (1D convs as matrix products,
``calibration_matmul.py``) against its ``nn.Conv1d`` path (what traces
record): outputs, every gradient and the BN running statistics, in training
mode, for several kernels. The eval-mode formula is checked against explicit
sums in ``test_tadaconv.py``."""
import pytest
import torch
from torch import nn

import tsm_plugin.ops.tadaconv as tadaconv
from tsm_plugin.ops import CalibrationGenerator, TAdaConv2d

T = 4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def run(module, x, grad, conv1d):
    old = tadaconv.eager_kernels_wanted
    tadaconv.eager_kernels_wanted = lambda: not conv1d
    try:
        module.zero_grad()
        x.grad = None
        out = module(x)
        out.backward(grad)
    finally:
        tadaconv.eager_kernels_wanted = old
    grads = {n: p.grad.clone() for n, p in module.named_parameters()}
    return out.detach(), x.grad.clone(), grads


@pytest.mark.parametrize('kernels', [(3, 3), (3, 5), (1, 1), (5, 1)])
def test_same_as_conv1d_outputs_gradients_statistics(kernels):
    torch.manual_seed(0)
    gen = CalibrationGenerator(12, T, reduction=3, kernels=kernels).double()
    for p in gen.parameters():
        nn.init.normal_(p, 0, 0.5)
    x = torch.randn(3 * T, 12, 4, 5, dtype=torch.double, requires_grad=True)
    grad = torch.randn(3 * T, 12, dtype=torch.double)
    fast_gen, ref_gen = gen, type(gen)(12, T, 3, kernels).double()
    ref_gen.load_state_dict(gen.state_dict())
    fast, fast_gx, fast_grads = run(fast_gen.train(), x, grad, conv1d=False)
    ref, ref_gx, ref_grads = run(ref_gen.train(), x, grad, conv1d=True)
    tol = dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(fast, ref, **tol)
    torch.testing.assert_close(fast_gx, ref_gx, **tol)
    for name in ref_grads:
        torch.testing.assert_close(fast_grads[name], ref_grads[name], **tol,
                                   msg=name)
    for name in ('running_mean', 'running_var'):
        torch.testing.assert_close(getattr(fast_gen.bn, name),
                                   getattr(ref_gen.bn, name), **tol)
    assert fast_gen.bn.num_batches_tracked == 1
    # teeth: the calibration is far from 1, and moving frame 0 of clip 0
    # moves its neighbours' calibration by far more than the tolerance
    assert (fast - 1).abs().max() > 0.1
    moved = x.detach().clone()
    moved[0] += 1
    with torch.no_grad():
        shift = (fast_gen.eval()(moved) - fast_gen(x.detach())).abs()
    assert shift[:kernels[0] // 2 + 1].max() > 1e-3


def test_tadaconv_float32_close_to_conv1d_path():
    torch.manual_seed(0)
    tada = TAdaConv2d(16, 8, 3, padding=1, num_segments=T)
    for p in tada.calibration.parameters():
        nn.init.normal_(p, 0, 0.3)
    x = torch.randn(2 * T, 16, 6, 6, requires_grad=True)
    grad = torch.randn(2 * T, 8, 6, 6)
    fast = run(tada.eval(), x, grad, conv1d=False)
    ref = run(tada.eval(), x, grad, conv1d=True)
    torch.testing.assert_close(fast[0], ref[0])
    torch.testing.assert_close(fast[1], ref[1])
    for name in ref[2]:
        torch.testing.assert_close(fast[2][name], ref[2][name], msg=name)
