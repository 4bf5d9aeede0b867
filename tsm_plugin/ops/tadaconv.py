"""Temporally-adaptive 2D convolution (TAdaConv, Huang et al., ICLR 2022).

Input and output are ``(N*T, C, H, W)``: N clips of T = ``num_segments``
frames, stored frame after frame. Frame t of a clip is convolved with its own
weight ``W_t = a_t * W``: the 2D weight ``W`` times a calibration ``a_t`` (one
factor per input channel), generated from the temporal context of per-frame
descriptors by ``CalibrationGenerator``.

The official code builds the ``N*T`` weights explicitly and runs one grouped
convolution with ``N*T`` groups. Since ``a_t`` scales input channels,
``conv(x_t, a_t * W) == conv(a_t * x_t, W)`` (padding reads zeros, scaled or
not): here the input is scaled and one ordinary convolution runs for all
frames, with the same weight, so no per-frame weight is ever built.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .aggregation_by_affine import aggregation_by_affine, fusable
from .avg_pool_by_sums import avg_pool_by_sums
from .lean_shift_conv import autocast_dtype, cast
from .temporal_shift import is_channels_last


def _is_int(value, minimum):
    return isinstance(value, int) and not isinstance(value, bool) \
        and value >= minimum


def check_num_segments(num_segments):
    if not _is_int(num_segments, 1):
        raise ValueError(
            f'num_segments must be a positive int, got {num_segments!r}')


def check_clip_input(x, num_segments):
    """Refuse an input that is not ``(N*T, C, H, W)`` with whole clips."""
    if x.dim() != 4:
        raise ValueError(f'expected (N*T, C, H, W) frames, got a {x.dim()}-D '
                         f'input of shape {tuple(x.shape)}')
    if x.shape[0] % num_segments:
        raise ValueError(
            f'the input holds {x.shape[0]} frames, not a multiple of '
            f'num_segments={num_segments}: it must hold whole clips')


def check_calibration_args(channels, reduction, kernels):
    """Raise one clear ``ValueError`` for a bad calibration argument."""
    if not _is_int(reduction, 1):
        raise ValueError(f'reduction must be an int >= 1, got {reduction!r}')
    if channels // reduction < 1:
        raise ValueError(
            f'reduction={reduction} leaves no hidden channel: {channels} '
            f'channels // {reduction} = 0 (need reduction <= {channels})')
    if not (isinstance(kernels, (tuple, list)) and len(kernels) == 2
            and all(_is_int(k, 1) and k % 2 for k in kernels)):
        raise ValueError('kernels must be two odd positive ints (temporal '
                         f'kernels of the two 1D convs), got {kernels!r}')


class CalibrationGenerator(nn.Module):
    """Per-frame, per-channel calibration ``a_t`` from temporal context.

    Per-frame descriptors (spatial averages) plus a global descriptor (their
    average over time, through a 1x1 map), then two temporal 1D convs with BN
    and ReLU between. The last conv starts at zero and 1 is added, so a fresh
    generator gives ``a_t = 1`` and a fresh ``TAdaConv2d`` is its 2D conv.

    Args:
        channels (int): C, the channels calibrated.
        num_segments (int): frames per clip (T).
        reduction (int): hidden channels are ``C // reduction``. Default 4.
        kernels (tuple[int, int]): temporal kernels of the two 1D convs (odd).
            Default ``(3, 3)``.

    Input ``(N*T, C, H, W)``, output ``(N*T, C)``.
    """

    def __init__(self, channels, num_segments, reduction=4, kernels=(3, 3)):
        super().__init__()
        check_num_segments(num_segments)
        check_calibration_args(channels, reduction, kernels)
        hidden = channels // reduction
        self.num_segments = num_segments
        self.global_proj = nn.Conv1d(channels, channels, 1)
        self.temporal_conv1 = nn.Conv1d(channels, hidden, kernels[0],
                                        padding=kernels[0] // 2)
        self.bn = nn.BatchNorm1d(hidden)
        self.relu = nn.ReLU(inplace=True)
        self.temporal_conv2 = nn.Conv1d(hidden, channels, kernels[1],
                                        padding=kernels[1] // 2, bias=False)
        self.reset_to_identity()

    def reset_to_identity(self):
        """Zero the last conv: calibration 1 everywhere."""
        nn.init.zeros_(self.temporal_conv2.weight)

    def forward(self, x):
        nt, c = x.shape[:2]
        t = self.num_segments
        # In the parameters' dtype, autocast or not: a few thousand numbers,
        # and a calibration near 1 has bfloat16 steps of 2^-7 (in bfloat16
        # its gradients were 30-70% off float32's, tests/ops/test_autocast.py)
        dtype = self.temporal_conv1.weight.dtype
        with torch.autocast(x.device.type, enabled=False):
            frames = x.mean((2, 3), dtype=dtype).view(nt // t, t, c)
            frames = frames.transpose(1, 2)  # N, C, T
            context = frames + self.global_proj(frames.mean(2, keepdim=True))
            hidden = self.relu(self.bn(self.temporal_conv1(context)))
            calibration = self.temporal_conv2(hidden) + 1
        return calibration.transpose(1, 2).reshape(nt, c)


def plain_ops_wanted():
    """Inside jit tracing / torch.compile, record plain ops (FLOP counters,
    exports see the conv)."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def eager_kernels_wanted():
    """Eager mode: TAda2D's temporal pool and aggregation take their eager
    kernels (``avg_pool_by_sums.py``, ``aggregation_by_affine.py``). A
    switch of its own, so that benchmarks and tests can run the plain ops
    with all else equal."""
    return not plain_ops_wanted()


class CalibratedConv2d(torch.autograd.Function):
    """``conv2d(x * a[:, :, None, None], weight, ...)`` that keeps ``x`` and
    ``a`` for backward, not the scaled input: ``x`` is kept anyway by the
    layer before (ReLU), and the scaled copy is recomputed in backward.

    Under ``torch.autocast`` the conv reads the scaled input, weight and bias
    cast to the autocast dtype, as a plain conv would; backward runs with
    autocast off, so it makes the same casts itself (the conv's gradient
    kernels want one dtype) and returns each gradient in its input's dtype.
    ``x`` may be float32 while ``a`` is low precision: inside a ConvNeXt block
    the depthwise conv reads the float32 residual stream."""

    @staticmethod
    def forward(ctx, x, calibration, weight, bias, stride, padding, dilation,
                groups):
        ctx.conv_args = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x, calibration, weight)
        scaled = x * calibration[:, :, None, None]
        ctx.conv_dtype = autocast_dtype(scaled)
        ctx.bias_dtype = bias.dtype if bias is not None else None
        # Explicit casts (autocast would cache a weight cast made without grad)
        with torch.autocast(x.device.type, enabled=False):
            return F.conv2d(cast(scaled, ctx.conv_dtype),
                            cast(weight, ctx.conv_dtype),
                            cast(bias, ctx.conv_dtype), stride, padding,
                            dilation, groups)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, calibration, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conv_args
        a = calibration[:, :, None, None]
        need_x, need_a, need_w, need_b = ctx.needs_input_grad[:4]
        scaled = x * a
        grad_scaled, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_out, cast(scaled, ctx.conv_dtype),
            cast(weight, ctx.conv_dtype),
            [weight.shape[0]] if ctx.has_bias else None,
            stride, padding, dilation, False, [0, 0], groups,
            [need_x or need_a, need_w, need_b and ctx.has_bias])
        if need_x or need_a:  # the product's gradient, in its dtype
            grad_scaled = grad_scaled.to(scaled.dtype)
        grad_x = (grad_scaled * a).to(x.dtype) if need_x else None
        grad_a = (grad_scaled * x).sum((2, 3)).to(calibration.dtype) \
            if need_a else None
        return (grad_x, grad_a, cast(grad_w, weight.dtype),
                cast(grad_b, ctx.bias_dtype), None, None, None, None)


class TAdaConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is calibrated per frame over input channels.

    Same arguments as ``nn.Conv2d`` (``bias`` defaults to False, as in TAda2D)
    plus ``num_segments``, ``reduction`` and ``kernels`` of its
    ``CalibrationGenerator`` (``self.calibration``). Its own parameters keep
    ``nn.Conv2d``'s names, so a 2D checkpoint loads into it; fresh, it gives
    the 2D conv's output exactly.

    Input ``(N*T, C_in, H, W)``, output ``(N*T, C_out, H', W')``; an input
    whose first dimension is not a multiple of ``num_segments`` raises
    ``ValueError``.

    Where its time goes beyond the conv (TAda2D-R50's 16 TAdaConv2d on their
    inputs, 8 frames, 2 threads, AMD EPYC, idle machine;
    ``benchmarks/profile_tadaconv.py``, ``docs/performance.md``): the conv on
    the freshly allocated scaled input costs what it costs on ``x``; the
    multiply 2-6% of the conv; the autograd Function nothing measurable. The
    rest is the calibration generator, 0.3-0.4 ms a layer whatever the image
    size: 13% of the conv at 112 px, 5% at 224. That is a fixed cost of some
    20 ops on a few thousand elements each, run right after a conv has
    flushed the caches, plus a read of the generator's weights (2.5 C^2
    floats, 28% of the 3x3 conv's). Its 1D convs as matrix products on
    time-major descriptors were 1.4x faster in a loop of generators alone,
    but between the convs no faster (0.137 against 0.131 of the conv): not
    kept. With ``OMP_WAIT_POLICY=PASSIVE`` each wake-up of a sleeping
    OpenMP thread costs some 50 us and the generator takes 2.7x as long.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, dilation=1, groups=1, bias=False,
                 padding_mode='zeros', num_segments=8, reduction=4,
                 kernels=(3, 3)):
        super().__init__(in_channels, out_channels, kernel_size, stride,
                         padding, dilation, groups, bias, padding_mode)
        self.num_segments = num_segments
        self.calibration = CalibrationGenerator(in_channels, num_segments,
                                                reduction, kernels)

    @classmethod
    def from_conv2d(cls, conv, num_segments=8, reduction=4, kernels=(3, 3)):
        """A ``TAdaConv2d`` holding ``conv``'s parameters (shared, not copied)."""
        tada = cls(conv.in_channels, conv.out_channels, conv.kernel_size,
                   conv.stride, conv.padding, conv.dilation, conv.groups,
                   conv.bias is not None, conv.padding_mode, num_segments,
                   reduction, kernels)
        tada.weight = conv.weight
        tada.bias = conv.bias
        return tada

    def forward(self, x):
        check_clip_input(x, self.num_segments)
        calibration = self.calibration(x)
        # conv(x_t, a_t * W) == conv(a_t * x_t, W): scale the input channels.
        if self.padding_mode != 'zeros' or isinstance(self.padding, str) \
                or plain_ops_wanted():
            return super().forward(x * calibration[:, :, None, None])
        return CalibratedConv2d.apply(x, calibration, self.weight, self.bias,
                                      self.stride, self.padding,
                                      self.dilation, self.groups)

    def extra_repr(self):
        return super().extra_repr() + f', num_segments={self.num_segments}'


def temporal_avg_pool(x, num_segments, kernel_size=3):
    """Average each frame with its ``kernel_size // 2`` neighbours on each side
    within its clip, missing frames counted as zeros (``nn.AvgPool3d((k, 1,
    1), stride 1, padding (k // 2, 0, 0))`` as in TAda2D). ``(N*T, ...)`` in
    and out.

    Written as padded shifted sums: nothing is transposed or kept for backward.
    Eagerly, the same sums in place (``avg_pool_by_sums.py``). A
    ``channels_last`` input is pooled as its ``(N*T, H, W, C)`` view, so the
    output keeps its layout.
    """
    if is_channels_last(x):
        return temporal_avg_pool(x.permute(0, 2, 3, 1), num_segments,
                                 kernel_size).permute(0, 3, 1, 2)
    if kernel_size % 2 and eager_kernels_wanted():
        return avg_pool_by_sums(x, num_segments, kernel_size)
    nt = x.shape[0]
    t = num_segments
    half = kernel_size // 2
    clips = x.reshape(nt // t, t, -1)
    padded = F.pad(clips, (0, 0, half, half))
    total = padded[:, :t]
    for offset in range(1, kernel_size):
        total = total + padded[:, offset:offset + t]
    return (total / kernel_size).view_as(x)


def tada_aggregation(y, norm, pool_norm, num_segments, pool_kernel=3):
    """TAda2D's aggregation before its activation: ``norm(y) +
    pool_norm(temporal_avg_pool(y))``. In eager inference with two plain
    eval-mode BatchNorms, the same sum in three passes
    (``aggregation_by_affine.py``)."""
    if not torch.is_grad_enabled() and eager_kernels_wanted() \
            and fusable(norm) and fusable(pool_norm):
        return aggregation_by_affine(y, norm, pool_norm, num_segments,
                                     pool_kernel)
    pooled = temporal_avg_pool(y, num_segments, pool_kernel)
    return norm(y) + pool_norm(pooled)
