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
a layer.
"""
import torch

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
    """Shifted copy of ``x`` (plain tensor ops, differentiable, traceable)."""
    nt, c, h, w = x.shape
    x = x.reshape(nt // num_segments, num_segments, c, h * w)
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    for first, last, offset in _channel_offsets(c, shift_div, mode):
        if adjoint:
            offset = -offset
        src, dst = x[:, :, first:last], out[:, :, first:last]
        if offset == 0:
            dst.copy_(src)
        elif offset > 0:  # frame t reads t+1; the last frame reads zeros
            dst[:, :-1].copy_(src[:, 1:])
            dst[:, -1:].zero_()
        else:  # frame t reads t-1; the first frame reads zeros
            dst[:, 1:].copy_(src[:, :-1])
            dst[:, :1].zero_()
    return out.view(nt, c, h, w)


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
