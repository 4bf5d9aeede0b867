"""The temporal shift: move a fraction of the channels one frame along time.

Input and output are ``(N*T, C, H, W)``: N clips of T = ``num_segments`` frames,
stored frame after frame, as MMAction2's 2D recognizers feed them. With
``fold = C // shift_div``:

- ``'bidirectional'`` (offline TSM): channels ``[0, fold)`` of frame t take frame
  t+1, channels ``[fold, 2*fold)`` take frame t-1, the rest stay; a frame that
  does not exist reads zeros. Same layout as MMAction2's and the original TSM's.
- ``'unidirectional'`` (online TSM): channels ``[0, fold)`` take frame t-1, the
  rest stay, so a frame never sees the future.

The op is linear and moves data only. Its backward is the adjoint shift (the
same channels moved the other way), done in one pass instead of autograd's
per-slice scatter. ``TemporalShift`` (``shift_module.py``) places it in front of
a layer, and in front of a conv makes no shifted copy at all: it uses
``shifted_inplace`` (only the 1/4 (1/8) of the channels that move are moved, in
place, and moved back after the conv read them) or, for a 1x1 conv, no move
at all (``shifted_pointwise_conv.py``).
"""
import torch
import torch.nn.functional as F

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
    if channels // shift_div < 1:
        raise ValueError(
            f'shift_div={shift_div} leaves no channel to shift: '
            f'{channels} channels // {shift_div} = 0 '
            f'(need shift_div <= {channels})')


def _channel_offsets(channels, shift_div, mode):
    """``[(first, last, offset)]``: frame t of these channels reads frame t+offset."""
    fold = channels // shift_div
    if mode == 'bidirectional':
        return [(0, fold, 1), (fold, 2 * fold, -1), (2 * fold, channels, 0)]
    return [(0, fold, -1), (fold, channels, 0)]


def _shift(x, num_segments, shift_div, mode, adjoint=False):
    """Shifted copy of ``x`` from out-of-place ops only (slices, ``F.pad``,
    ``torch.cat``): differentiable, and traced/exported as data flow (slice
    copies into an empty tensor export to ONNX as wrong constants)."""
    nt, c, h, w = x.shape
    x = x.reshape(nt // num_segments, num_segments, c, h * w)
    parts = []
    for first, last, offset in _channel_offsets(c, shift_div, mode):
        part = x[:, :, first:last]
        offset = -offset if adjoint else offset
        if offset > 0:  # frame t reads t+1; the last frame reads zeros
            part = F.pad(part[:, 1:], (0, 0, 0, 0, 0, 1))
        elif offset < 0:  # frame t reads t-1; the first frame reads zeros
            part = F.pad(part[:, :-1], (0, 0, 0, 0, 1, 0))
        parts.append(part)
    return torch.cat(parts, 2).view(nt, c, h, w)


def can_shift_inplace(x):
    """A dense tensor (no two elements share memory) can be shifted in place."""
    return x.is_contiguous() or x.is_contiguous(
        memory_format=torch.channels_last)


def _shift_(x, num_segments, shift_div, mode, adjoint=False, padded=None):
    """Shift ``x`` in place, touching only the channels that move; returns a
    function that undoes it bit for bit.

    Works on the ``.data`` alias: the caller restores the values, so autograd
    must not see a version change (x may be saved for another op's backward).
    torch refuses an overlapping copy, so a fold cannot move in one op:
    - CPU: frame by frame, in the order that reads each frame before it is
      overwritten, keeping the frame pushed out: each moving element is
      copied once, no other allocation (T+1 small ops per fold).
    - Other devices (kernel launches cost more than bytes), or ``padded``:
      a copy of the moving channels padded with a zero frame at each end,
      read back shifted through one strided view (3 ops, whatever T is).
      On CPU it measured slower than the frame loop at every ResNet-50 size.
    """
    nt, c, h, w = x.shape
    fold = c // shift_div
    offsets = [o for _, _, o in _channel_offsets(c, shift_div, mode) if o]
    offsets = [-o for o in offsets] if adjoint else offsets
    moving = x.data.view(nt // num_segments, num_segments, c, h, w)[
        :, :, :len(offsets) * fold].view(-1, num_segments, len(offsets), fold,
                                         h, w)
    if padded or (padded is None and x.device.type != 'cpu'):
        copy = _shift_padded_(moving, offsets[0])
        return lambda: moving.copy_(copy[:, :, 1:-1].transpose(1, 2))
    folds = []
    for group, offset in enumerate(offsets):
        frames = moving[:, :, group].unbind(1)  # all frame views at once
        folds.append((frames, offset, _move_frames_(frames, offset)))

    def undo():
        for frames, offset, lost in folds:
            _move_frames_(frames, -offset, fill=lost)

    return undo


def _move_frames_(frames, offset, fill=None):
    """Frame t takes frame t+offset (offset +-1), in place; the frame left
    empty gets ``fill`` (zeros if None). Returns the frame pushed out."""
    if offset < 0:
        frames = frames[::-1]
    lost = frames[0].clone() if fill is None else None
    for dst, src in zip(frames[:-1], frames[1:]):
        dst.copy_(src)
    if fill is None:
        frames[-1].zero_()
    else:
        frames[-1].copy_(fill)
    return lost


def _shift_padded_(moving, offset):
    """In-place shift of ``moving`` (N, T, G, fold, H, W), group g by
    ``offset * (1 - 2g)`` frames, via a zero-padded copy; returns the copy."""
    n, t, g = moving.shape[:3]
    padded = moving.new_empty((n, g, t + 2) + moving.shape[3:])
    padded[:, :, 1:-1].copy_(moving.transpose(1, 2))
    padded[:, :, ::t + 1].zero_()  # the two pad frames
    # Frame t of group g reads padded frame t + 1 + offset * (1 - 2g): affine
    # in g, so one strided view reads both groups and one copy moves them.
    s_n, s_g, s_t = padded.stride()[:3]
    moving.copy_(padded.as_strided(
        moving.shape, (s_n, s_t, s_g - 2 * offset * s_t) + padded.stride()[3:],
        padded.storage_offset() + (1 + offset) * s_t))
    return padded


class shifted_inplace:
    """``with shifted_inplace(x, ...) as xs:`` ``xs`` is ``x`` shifted, in place.

    ``x`` gets its exact values back on exit, also on an exception. Moves the
    1/4 (1/8) of the channels that shift there and back (``_shift_``) instead
    of copying all of them into a new tensor. Only for a consumer that keeps
    no view of ``xs`` and does not write to it (a convolution). A tensor that
    is not dense (``can_shift_inplace``) gets a shifted copy instead.
    """

    def __init__(self, x, num_segments, shift_div, mode, adjoint=False):
        self.x = x
        self.args = (num_segments, shift_div, mode, adjoint)
        self.undo = None

    def __enter__(self):
        if not can_shift_inplace(self.x):
            return _shift(self.x, *self.args)
        self.undo = _shift_(self.x, *self.args)
        return self.x

    def __exit__(self, *exc):
        if self.undo is not None:
            self.undo()
        return False


class _TemporalShiftFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, num_segments, shift_div, mode):
        ctx.shift_args = (num_segments, shift_div, mode)
        return _shift(x, num_segments, shift_div, mode)

    @staticmethod
    def backward(ctx, grad_out):
        grad_x = _shift(grad_out, *ctx.shift_args, adjoint=True)
        return grad_x, None, None, None


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


def use_plain_ops():
    """Inside torch.compile / jit tracing, record plain ops instead."""
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
