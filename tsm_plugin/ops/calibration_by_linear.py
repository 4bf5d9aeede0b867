"""Eager kernel of TAdaConv's ``CalibrationGenerator``: its 1D convs as
matrix products on time-major descriptors.

The generator (``tadaconv.py``) runs three ``nn.Conv1d`` on ``(N, C, T)``
descriptors of a few thousand elements. PyTorch sends convs that small to
its reference kernel (``aten::_slow_conv2d_forward``: oneDNN declines them),
about 60 us a call, most of the generator's time. Here the descriptors stay
``(N, T, C)``, as the frames are stored: a temporal conv of kernel ``k`` is
one ``F.linear`` on each frame's ``k`` zero-padded neighbours (a view by
``Tensor.unfold``, in the ``(C, k)`` order of the Conv1d's own ``(out, C,
k)`` weight), and the BN runs on ``(N*T, hidden)`` (the same statistics as
over ``(N, hidden, T)``). The same parameters, no transposes; the same
values up to float32 summation order.

Measured on TAda2D-R50's 16 generators, 8 frames, 2 threads, AMD EPYC, idle
machine, OpenMP's default wait policy (``benchmarks/profile_tadaconv.py``,
``docs/performance.md``): inference at 112 px 3.6 ms against 5.0 ms with
the Conv1d, i.e. 9% of the convs they calibrate instead of 13%. What is
left is some 15 dispatches a layer and reading the generator's weights
(2.5 C^2 floats, 28% of a 3x3 conv's).
"""
import torch.nn.functional as F


def temporal_conv_as_linear(frames, conv):
    """``conv`` (an odd-kernel, same-padded ``nn.Conv1d`` over time) of
    ``frames`` ``(N, T, C_in)``; returns ``(N*T, C_out)``."""
    n, t, c = frames.shape
    k = conv.kernel_size[0]
    padded = F.pad(frames, (0, 0, k // 2, k // 2))
    taps = padded.unfold(1, k, 1).reshape(n * t, c * k)  # (C, k) per frame
    return F.linear(taps, conv.weight.view(conv.out_channels, c * k),
                    conv.bias)


def batch_norm(bn, x):
    """``bn(x)``; in eval mode as one ``F.batch_norm`` call on the running
    statistics, without the module call (measurable on ops this small)."""
    if bn.training or bn.running_mean is None:
        return bn(x)
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight,
                        bn.bias, False, 0.0, bn.eps)


def calibration_by_linear(generator, x):
    """``generator(x)`` (a ``CalibrationGenerator``) for eager mode:
    ``(N*T, C, H, W)`` in, ``(N*T, C)`` out."""
    nt, c = x.shape[:2]
    t = generator.num_segments
    frames = x.mean((2, 3)).view(nt // t, t, c)
    proj = generator.global_proj
    context = frames + F.linear(frames.mean(1), proj.weight.view(c, c),
                                proj.bias)[:, None]
    hidden = batch_norm(generator.bn, temporal_conv_as_linear(
        context, generator.temporal_conv1)).relu_()
    hidden = hidden.view(nt // t, t, -1)
    return temporal_conv_as_linear(hidden, generator.temporal_conv2).add_(1)
