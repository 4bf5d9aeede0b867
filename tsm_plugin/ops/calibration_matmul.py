"""The calibration generator's temporal 1D convs as matrix products.

The generator's convs run on tiny inputs (one descriptor per frame: ``(N, C,
T)`` with T = 8). PyTorch sends such a conv to its slow reference kernel
(``aten::_slow_conv2d_forward``: oneDNN takes it only from 20480 input
elements): profiled on TAda2D-R50 (2 threads, AMD EPYC), the three 1D convs
of a layer took 0.2-1.5 ms each, most of the generator's time, for a product
of at most ``8 x 1536`` by ``1536 x 128``. Written here as ``F.linear`` on the
``k`` neighbouring frames side by side (``unfold``), in the time-major layout
``(N, T, C)`` that needs no transposes: the same sums in another order
(results equal to rounding, ``tests/ops/test_calibration_matmul.py``).
Measured in ``docs/performance.md``.

Eager only: traced and compiled graphs keep the ``nn.Conv1d`` calls (FLOP
counters and exports see the convs).
"""
import torch.nn.functional as F


def temporal_conv_as_linear(frames, conv):
    """``conv`` (an ``nn.Conv1d`` with stride 1, dilation 1, groups 1 and
    zero padding ``k // 2``, as the generator builds them) along the time
    axis of ``frames`` ``(N, T, C_in)``; returns ``(N, T, C_out)``."""
    n, t, c = frames.shape
    k = conv.kernel_size[0]
    weight = conv.weight.reshape(conv.out_channels, c * k)  # (C_out, C_in*k)
    if k == 1:
        return F.linear(frames, weight, conv.bias)
    padded = F.pad(frames, (0, 0, k // 2, k // 2))
    windows = padded.unfold(1, k, 1)  # (N, T, C_in, k): matches the weight
    return F.linear(windows.reshape(n, t, c * k), weight, conv.bias)


def calibration_by_matmul(generator, x):
    """``generator(x)`` (a ``CalibrationGenerator``) with its convs as
    ``temporal_conv_as_linear``: ``(N*T, C, H, W)`` in, ``(N*T, C)`` out."""
    nt, c = x.shape[:2]
    t = generator.num_segments
    frames = x.mean((2, 3)).view(nt // t, t, c)  # N, T, C
    context = frames + temporal_conv_as_linear(frames.mean(1, keepdim=True),
                                               generator.global_proj)
    hidden = temporal_conv_as_linear(context, generator.temporal_conv1)
    # BatchNorm1d on (N*T, C): the same statistics as on (N, C, T)
    hidden = generator.relu(generator.bn(hidden.reshape(nt, -1)))
    calibration = temporal_conv_as_linear(hidden.view(nt // t, t, -1),
                                          generator.temporal_conv2) + 1
    return calibration.reshape(nt, c)
