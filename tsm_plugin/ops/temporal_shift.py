"""The temporal shift: move a fraction of the channels one frame along time.

Input and output are ``(N*T, C, H, W)``: N clips of T = ``num_segments`` frames,
stored frame after frame, as MMAction2's 2D recognizers feed them. With
``fold = C // shift_div``:

- ``'bidirectional'`` (offline TSM): channels ``[0, fold)`` of frame t take frame
  t+1, channels ``[fold, 2*fold)`` take frame t-1, the rest stay; a frame that
  does not exist reads zeros. Same layout as MMAction2's and the original TSM's.
- ``'unidirectional'`` (online TSM): channels ``[0, fold)`` take frame t-1, the
  rest stay, so a frame never sees the future.

The op is linear and only moves data; its adjoint (the gradient) moves the same
channels the other way. ``TemporalShift`` (``shift_module.py``) puts it in
front of a layer.
"""
import torch
import torch.nn.functional as F

from .shift_by_copy import shift_by_copy

SHIFT_MODES = ('bidirectional', 'unidirectional')


def check_shift_args(num_segments, shift_div, mode):
    """Raise one clear ``ValueError`` for a bad shift argument."""
    if mode not in SHIFT_MODES:
        raise ValueError(f'shift_mode must be one of {SHIFT_MODES}, got {mode!r}')
    if isinstance(num_segments, bool) or not isinstance(num_segments, int) \
            or num_segments < 1:
        raise ValueError(
            f'num_segments must be a positive int, got {num_segments!r}')
    if isinstance(shift_div, bool) or not isinstance(shift_div, int) \
            or shift_div < 1:
        raise ValueError(f'shift_div must be an int >= 1, got {shift_div!r}')
    if mode == 'bidirectional' and shift_div < 2:
        raise ValueError(
            f'shift_div={shift_div} with shift_mode={mode!r} would shift more '
            'than all channels (two folds of C // shift_div); use shift_div >= 2')


def check_shift_channels(channels, shift_div):
    """Raise one clear ``ValueError`` when no channel would move."""
    if channels // shift_div < 1:
        raise ValueError(
            f'shift_div={shift_div} leaves no channel to shift: '
            f'{channels} channels // {shift_div} = 0 '
            f'(need shift_div <= {channels})')


def check_shift_input(x, num_segments):
    """Raise one clear ``ValueError`` for an input the shift cannot take."""
    if x.dim() != 4:
        raise ValueError('temporal shift expects x of shape (N*T, C, H, W), '
                         f'got {x.dim()} dims: {tuple(x.shape)}')
    if x.shape[0] % num_segments != 0:
        raise ValueError(
            f'input has {x.shape[0]} frames, which is not a multiple of '
            f'num_segments={num_segments}: the batch must hold whole clips of '
            f'{num_segments} frames (check the pipeline\'s num_clips/clip_len)')


def shift_groups(channels, shift_div, mode, adjoint=False):
    """``(first, last, offset)``: channels ``[first, last)`` of frame t read
    frame ``t + offset`` (``adjoint``: the offsets reversed)."""
    fold = channels // shift_div
    if mode == 'bidirectional':
        groups = [(0, fold, 1), (fold, 2 * fold, -1), (2 * fold, channels, 0)]
    else:
        groups = [(0, fold, -1), (fold, channels, 0)]
    return [(first, last, -offset if adjoint else offset)
            for first, last, offset in groups]


def is_channels_last(x):
    """``x`` is stored channels last (and not also plain contiguous, as a
    1x1 image or a single channel is)."""
    return x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous()


def _shift(x, num_segments, shift_div, mode, adjoint=False):
    """Shifted copy of ``x`` (``adjoint``: moved the other way), in the
    memory format of ``x`` (a ``channels_last`` input is shifted as an
    ``(N*T, H, W, C)`` view, so no layout conversion is made).

    Out-of-place ops only (slices, ``F.pad``, ``torch.cat``) and ``-1`` for the
    clip count: traced or exported, the graph records data flow and keeps N
    dynamic (slice copies into an empty tensor export to ONNX as constants).
    """
    _, c, h, w = x.shape
    channels_last = is_channels_last(x)
    if channels_last:  # (N, T, H*W, C): channels are dim 3
        clips, dim = x.permute(0, 2, 3, 1).reshape(-1, num_segments, h * w,
                                                   c), 3
    else:  # (N, T, C, H*W): channels are dim 2
        clips, dim = x.reshape(-1, num_segments, c, h * w), 2
    parts = []
    for first, last, offset in shift_groups(c, shift_div, mode, adjoint):
        part = clips.narrow(dim, first, last - first)
        if offset > 0:  # the last frame reads zeros
            part = F.pad(part[:, 1:], (0, 0, 0, 0, 0, 1))
        elif offset < 0:  # the first frame reads zeros
            part = F.pad(part[:, :-1], (0, 0, 0, 0, 1, 0))
        parts.append(part)
    out = torch.cat(parts, dim)
    if channels_last:
        return out.view(-1, h, w, c).permute(0, 3, 1, 2)
    return out.view(-1, c, h, w)


def eager_shift(x, num_segments, shift_div, mode, adjoint=False):
    """``_shift`` for eager mode (not traced, not compiled): the same values
    from one read and one write of ``x`` (``shift_by_copy.py``)."""
    return shift_by_copy(x, num_segments,
                         shift_groups(x.shape[1], shift_div, mode, adjoint))


class _TemporalShiftFunction(torch.autograd.Function):
    """The shift with its adjoint as backward: one pass, where autograd would
    scatter each slice into a zero tensor of its own."""

    @staticmethod
    def forward(ctx, x, num_segments, shift_div, mode):
        ctx.shift_args = (num_segments, shift_div, mode)
        return eager_shift(x, num_segments, shift_div, mode)

    @staticmethod
    def backward(ctx, grad_out):
        return (eager_shift(grad_out, *ctx.shift_args, adjoint=True), None,
                None, None)


def use_plain_ops():
    """Inside torch.compile / jit tracing (ONNX export): record plain ops."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def temporal_shift(x, num_segments, shift_div=8, mode='bidirectional'):
    """Shift ``x`` of shape ``(N*T, C, H, W)`` along time; returns a new tensor.

    Args:
        x (Tensor): frames of N clips, ``num_segments`` frames each.
        num_segments (int): frames per clip (T).
        shift_div (int): 1/shift_div of the channels move each way.
        mode (str): ``'bidirectional'`` or ``'unidirectional'``.
    """
    check_shift_args(num_segments, shift_div, mode)
    check_shift_input(x, num_segments)
    check_shift_channels(x.shape[1], shift_div)
    if use_plain_ops():
        return _shift(x, num_segments, shift_div, mode)
    return _TemporalShiftFunction.apply(x, num_segments, shift_div, mode)
