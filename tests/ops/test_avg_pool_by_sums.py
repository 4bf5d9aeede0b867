"""The eager temporal average pool (``avg_pool_by_sums.py``) against
``nn.AvgPool3d`` and the plain ops that traces record: outputs and
gradients."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tsm_plugin.ops.tadaconv as tadaconv
from tsm_plugin.ops.avg_pool_by_sums import avg_pool_by_sums

T = 4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def plain_pool(x, kernel):
    old = tadaconv.eager_kernels_wanted
    tadaconv.eager_kernels_wanted = lambda: False
    try:
        return tadaconv.temporal_avg_pool(x, T, kernel)
    finally:
        tadaconv.eager_kernels_wanted = old


def avgpool3d(x, kernel):
    n = x.shape[0] // T
    # zeros padded first: AvgPool3d refuses a kernel longer than the clip
    clips = F.pad(x.view(n, T, *x.shape[1:]).transpose(1, 2),
                  (0, 0, 0, 0, kernel // 2, kernel // 2))
    pool = nn.AvgPool3d((kernel, 1, 1), stride=1)
    return pool(clips).transpose(1, 2).reshape(x.shape)


@pytest.mark.parametrize('kernel', [1, 3, 5, 7, 9])
def test_outputs_and_gradients_match_avgpool3d(kernel):
    x = torch.randn(2 * T, 3, 4, 5, dtype=torch.double, requires_grad=True)
    grad = torch.randn_like(x)
    out = avg_pool_by_sums(x, T, kernel)
    (gx,) = torch.autograd.grad(out, x, grad)
    x_ref = x.detach().clone().requires_grad_()
    ref = avgpool3d(x_ref, kernel)
    (gx_ref,) = torch.autograd.grad(ref, x_ref, grad)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-12, atol=1e-12)
    if kernel > 1:  # teeth: frames really mix, within a clip only
        assert (out - x).abs().max() > 0.1
        moved = x.detach().clone()
        moved[T - 1] += 1
        assert torch.equal(avg_pool_by_sums(moved, T, kernel)[T:],
                           out.detach()[T:])


def test_kernel_3_same_bits_as_plain_ops_and_input_untouched():
    x = torch.randn(3 * T, 16, 7, 7)
    before = x.clone()
    assert torch.equal(avg_pool_by_sums(x, T, 3), plain_pool(x, 3))
    assert torch.equal(x, before)


def test_eager_dispatch_and_float32_close_to_plain():
    x = torch.randn(2 * T, 8, 3, 3, requires_grad=True)
    for kernel in (3, 5):
        eager = tadaconv.temporal_avg_pool(x, T, kernel)
        assert eager.grad_fn.name().endswith('_TemporalAvgPoolBackward')
        torch.testing.assert_close(eager, plain_pool(x, kernel))
    # an even kernel (not TAda2D's) keeps the plain, asymmetric window
    assert tadaconv.temporal_avg_pool(x, T, 2).grad_fn.name() != \
        eager.grad_fn.name()
