"""A 1x1 conv of the shifted input, with no data moved: the shift becomes
where the matrix products read.

A 1x1 conv is a matrix product per frame, ``out[t] = W @ shift(x)[t]``, and
the product splits over input channels: the channels that stay give
``W[:, stay] @ x[t, stay]``, a fold that reads frame ``t + o`` gives
``W[:, fold] @ x[t + o, fold]``. Each term is one batched product over
strided views of ``x`` (its frames ``t + o``, the output's frames ``t``),
accumulated in place; an output frame with no ``t + o`` gets nothing from
that fold, which is the shift's zero. ``x`` is only read, nothing is copied.
Same values as ``conv(shift(x))`` up to float rounding (the sums run in
another order).

Backward is products too: the input gradient of a fold is ``W[:, fold].T @
grad_out`` written straight into the frames it came from, the weight gradient
of a fold sums ``grad_out[t] @ x[t + o, fold].T`` over frames. Autograd keeps
``x`` and ``W`` only, as for the unshifted conv.

Used on CPU, where oneDNN's 1x1 conv on NCHW measured slower than these
products on ResNet-50's layer1-3 shapes (forward and backward), and faster
on small maps (``MIN_PIXELS``): there the in-place shift + conv runs.
"""
import torch

from .temporal_shift import _channel_offsets

# Below this many pixels per frame the products' fixed costs (the weight
# expanded per frame) beat the in-place shift + conv they replace: measured
# on ResNet-50 at 112 and 224 px, 2 threads (layer4, 4x4 and 7x7, lose).
MIN_PIXELS = 100


def can_run_pointwise(conv, x):
    """A 1x1, stride-1, unpadded, ungrouped conv on a dense NCHW CPU input
    with enough pixels per frame to be worth it."""
    return (tuple(conv.kernel_size) == (1, 1) and tuple(conv.stride) == (1, 1)
            and tuple(conv.padding) == (0, 0) and conv.groups == 1
            and x.device.type == 'cpu' and x.is_contiguous()
            and x.dtype in (torch.float32, torch.float64)
            and x.dtype == conv.weight.dtype  # else conv's own error
            and x.shape[2] * x.shape[3] >= MIN_PIXELS)


def _groups(channels, num_segments, shift_div, mode):
    """``(first, last, read, written)`` per channel group that reaches the
    output: output frames ``written`` read input frames ``read``."""
    t = num_segments
    groups = []
    for first, last, offset in _channel_offsets(channels, shift_div, mode):
        if first < last and t > abs(offset):  # else: empty, or shifted out
            groups.append((first, last,
                           slice(max(offset, 0), t + min(offset, 0)),
                           slice(max(-offset, 0), t + min(-offset, 0))))
    return groups


def _frames(tensor, num_segments):
    """``(N*T, C, H, W)`` -> ``(N, T, C, H*W)``, a view."""
    nt, c, h, w = tensor.shape
    return tensor.view(nt // num_segments, num_segments, c, h * w)


def _expand(matrix, batch):
    return matrix.expand(batch, -1, -1)


def shifted_pointwise_conv2d(x, weight, bias, num_segments, shift_div, mode):
    """``conv2d(temporal_shift(x), weight, bias)`` for a 1x1 ``weight``
    (stride 1, no padding, groups 1), without autograd."""
    nt, c, h, w = x.shape
    weight = weight.reshape(weight.shape[0], c)
    out = x.new_empty((nt // num_segments, num_segments, weight.shape[0], h * w))
    every_frame = slice(0, num_segments)
    # The group that stays writes every output frame: it goes first and
    # overwrites (beta=0 does not read the empty memory), the folds add.
    groups = sorted(_groups(c, num_segments, shift_div, mode),
                    key=lambda group: group[3] != every_frame)
    overwrite = bias is None and bool(groups) and groups[0][3] == every_frame
    if bias is not None:
        out.copy_(bias.view(1, 1, -1, 1).expand_as(out))
    elif not overwrite:
        out.zero_()
    for clip, clip_out in zip(_frames(x, num_segments), out):
        for i, (first, last, read, written) in enumerate(groups):
            dst = clip_out[written]
            dst.baddbmm_(_expand(weight[:, first:last], len(dst)),
                         clip[read, first:last],
                         beta=0 if overwrite and i == 0 else 1)
    return out.view(nt, -1, h, w)


class _ShiftedPointwiseConv2d(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, shift_args):
        ctx.save_for_backward(x, weight)
        ctx.shift_args, ctx.has_bias = shift_args, bias is not None
        return shifted_pointwise_conv2d(x, weight, bias, *shift_args)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        num_segments, shift_div, mode = ctx.shift_args
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        c = x.shape[1]
        w2 = weight.reshape(weight.shape[0], c)
        grad_frames = _frames(grad_out.contiguous(), num_segments)
        groups = _groups(c, num_segments, shift_div, mode)
        grad_x = torch.empty_like(x) if needs_x else None
        grad_w = torch.zeros_like(w2) if needs_w else None
        if needs_x and sum(g[1] - g[0] for g in groups) < c:
            grad_x.zero_()  # a fold shifted out entirely (one frame)
        for clip, clip_grad, clip_grad_x in zip(
                _frames(x, num_segments), grad_frames,
                _frames(grad_x, num_segments) if needs_x
                else [None] * len(grad_frames)):
            for first, last, read, written in groups:
                g = clip_grad[written]
                if needs_x:  # to the frames the fold was read from
                    clip_grad_x[read, first:last].baddbmm_(
                        _expand(w2[:, first:last].t(), len(g)), g, beta=0)
                    clip_grad_x[:read.start, first:last].zero_()
                    clip_grad_x[read.stop:, first:last].zero_()
                if needs_w:
                    for g_t, x_t in zip(g, clip[read, first:last]):
                        grad_w[:, first:last].addmm_(g_t, x_t.t())
        grad_b = grad_out.sum((0, 2, 3)) if needs_b and ctx.has_bias else None
        if needs_w:
            grad_w = grad_w.view_as(weight)
        return grad_x, grad_w, grad_b, None


def shifted_pointwise_conv2d_autograd(x, conv, num_segments, shift_div, mode):
    """``conv(temporal_shift(x))`` for a conv that ``can_run_pointwise``,
    differentiable; keeps ``x`` and the weight only for backward."""
    return _ShiftedPointwiseConv2d.apply(x, conv.weight, conv.bias,
                                         (num_segments, shift_div, mode))
