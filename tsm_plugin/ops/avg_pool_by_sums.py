"""Eager kernel of ``temporal_avg_pool`` (TAda2D's aggregation).

The plain formulation (``tadaconv.temporal_avg_pool``: a zero-padded copy,
then ``k - 1`` out-of-place sums and a division, what traces record) makes
``k + 1`` passes over the tensor, each a fresh allocation. Here: one copy,
then each neighbour added in place onto the frames that have it, and the
division in place. The average over a symmetric window with zero padding is
its own adjoint, so the backward is the same kernel on the gradient, and
nothing is kept for it. For ``k = 3`` the sums run in the plain order: the
same values. Measured on TAda2D-R50's 16 aggregations at 224 px (2 threads,
AMD EPYC, inference): the pool's CPU time halves (``docs/performance.md``).
"""
import torch


def avg_pool_by_sums(x, num_segments, kernel_size):
    """``temporal_avg_pool(x, num_segments, kernel_size)`` for eager mode."""
    return _TemporalAvgPool.apply(x, num_segments, kernel_size)


def _pool(x, num_segments, kernel_size):
    t = num_segments
    clips = x.reshape(-1, t, x[0].numel())
    total = clips.clone()
    for offset in range(1, min(kernel_size // 2, t - 1) + 1):
        total[:, offset:] += clips[:, :-offset]  # frame t-offset
        total[:, :-offset] += clips[:, offset:]  # frame t+offset
    return total.div_(kernel_size).view(x.shape)


class _TemporalAvgPool(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, num_segments, kernel_size):
        ctx.args = (num_segments, kernel_size)
        return _pool(x, num_segments, kernel_size)

    @staticmethod
    def backward(ctx, grad_out):
        return _pool(grad_out, *ctx.args), None, None
