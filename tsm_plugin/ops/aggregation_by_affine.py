"""Eager kernel of TAda2D's aggregation in inference:
``BN(y) + BN'(AvgPool_t(y))`` in ``1 + 2 * (k // 2)`` passes over ``y``.

In eval mode a BatchNorm is a per-channel affine map ``y * s + b``, and the
temporal average pool (kernel ``k``, missing frames zeros, divided by ``k``)
is linear, so the sum is ``y * (s + s'/k) + (b + b')`` plus ``s'/k`` times
each neighbouring frame within ``k // 2``. One ``addcmul`` writes the first
term, one in-place ``addcmul_`` per neighbour offset and side adds the rest:
3 passes for TAda2D's ``k = 3``, where BN, the pool (a copy, two sums, a
division), BN' and the sum make 7, each but the pool's a new tensor. The
same values up to float32 rounding (the same terms, summed in another
order).

Only for plain BatchNorms in eval mode, outside autograd (no graph to
record through in-place ops), not traced or compiled: ``fusable`` says.
Measured on TAda2D-R50's 16 aggregations at 224 px (2 threads, AMD EPYC,
idle; ``benchmarks/profile_aggregation.py``, ``docs/performance.md``): 9.0
ms against 16.6 ms with the modules, 1.8% of TSN-R50's forward.
"""
import torch
from torch import nn

# Norm classes whose eval-mode forward is exactly F.batch_norm on the running
# statistics (SyncBatchNorm only synchronises in training).
_BN_FORWARDS = {nn.BatchNorm2d.forward, nn.SyncBatchNorm.forward}


def fusable(norm):
    """``norm`` is a plain BatchNorm in eval mode, with running statistics
    and no hooks (which the kernel would skip)."""
    return (isinstance(norm, nn.modules.batchnorm._BatchNorm)
            and type(norm).forward in _BN_FORWARDS
            and not norm.training and norm.running_mean is not None
            and not (norm._forward_hooks or norm._forward_pre_hooks))


def eval_affine(norm):
    """``(scale, shift)`` per channel of an eval-mode BatchNorm."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


def aggregation_by_affine(y, norm, pool_norm, num_segments, kernel_size):
    """``norm(y) + pool_norm(temporal_avg_pool(y, num_segments,
    kernel_size))`` for ``y`` ``(N*T, C, ...)``, both norms ``fusable``."""
    scale, shift = eval_affine(norm)
    pool_scale, pool_shift = eval_affine(pool_norm)
    neighbour = pool_scale / kernel_size
    per_channel = (1, y.shape[1]) + (1, ) * (y.dim() - 2)
    out = torch.addcmul((shift + pool_shift).view(per_channel), y,
                        (scale + neighbour).view(per_channel))
    clips_y = y.view(-1, num_segments, *y.shape[1:])
    clips_out = out.view(clips_y.shape)
    neighbour = neighbour.view((1, ) + per_channel)
    for offset in range(1, min(kernel_size // 2, num_segments - 1) + 1):
        clips_out[:, offset:].addcmul_(clips_y[:, :-offset], neighbour)
        clips_out[:, :-offset].addcmul_(clips_y[:, offset:], neighbour)
    return out
