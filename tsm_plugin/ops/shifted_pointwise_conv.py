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

Used for inference (no autograd) on CPU, where oneDNN's 1x1 conv on NCHW
measured slower than these products on ResNet-50's layer1-3 shapes, and
faster on small maps (``MIN_PIXELS``): there the in-place shift + conv runs.
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
            and x.shape[2] * x.shape[3] >= MIN_PIXELS)


def shifted_pointwise_conv2d(x, weight, bias, num_segments, shift_div, mode):
    """``conv2d(temporal_shift(x), weight, bias)`` for a 1x1 ``weight``
    (stride 1, no padding, groups 1), without autograd."""
    nt, c, h, w = x.shape
    t = num_segments
    out_channels = weight.shape[0]
    weight = weight.reshape(out_channels, c)
    frames = x.view(nt // t, t, c, h * w)
    out = x.new_empty((nt // t, t, out_channels, h * w))
    groups = sorted(_channel_offsets(c, shift_div, mode), key=lambda g: g[2] != 0)
    for clip, clip_out in zip(frames, out):
        started = False
        for first, last, offset in groups:
            frames_read = t - abs(offset)
            if first == last or frames_read < 1:
                continue  # an empty group, or a fold shifted out entirely
            src = clip[max(offset, 0):t + min(offset, 0), first:last]
            dst = clip_out[max(-offset, 0):t + min(-offset, 0)]
            w_group = weight[:, first:last].expand(frames_read, -1, -1)
            if started:
                dst.baddbmm_(w_group, src)
            elif offset == 0:  # the channels that stay cover every frame
                torch.bmm(w_group, src, out=dst)
                started = True
            else:
                clip_out.zero_()
                dst.baddbmm_(w_group, src)
                started = True
        if not started:
            clip_out.zero_()
    if bias is not None:
        out += bias.view(1, 1, out_channels, 1)
    return out.view(nt, out_channels, h, w)
