"""``TemporalShift``: a layer preceded by the temporal shift.

The wrapped layer is the child ``net`` (state-dict keys ``...net.weight``), as in
MMAction2's and the original TSM's wrappers, so their checkpoints load as they are.
"""
import torch
from torch import nn

from .lean_shift_conv import can_fuse, lean_shift_conv2d
from .shifted_pointwise_conv import (can_run_pointwise,
                                     shifted_pointwise_conv2d_autograd)
from .temporal_shift import (check_shift_args, check_shift_channels,
                             check_shift_input, shifted_inplace,
                             temporal_shift, use_plain_ops)


class TemporalShift(nn.Module):
    """Shift the input along time, then run ``net`` on it.

    Args:
        net (nn.Module): the layer that sees the shifted input.
        num_segments (int): frames per clip.
        shift_div (int): 1/shift_div of the channels move each way.
        mode (str): ``'bidirectional'`` or ``'unidirectional'``.
        lean (bool): when ``net`` is a plain ``nn.Conv2d`` (``can_fuse``),
            make no shifted copy and keep only ``x`` for backward. A 1x1 conv
            on a large enough CPU map reads the shifted frames where they lie
            (``shifted_pointwise_conv``; equal up to float rounding); another
            conv reads ``x`` shifted in place, then moved back
            (``lean_shift_conv``; bit-identical). ``False`` runs the plain
            shift then ``net``.
    """

    def __init__(self, net, num_segments=8, shift_div=8, mode='bidirectional',
                 lean=True):
        super().__init__()
        check_shift_args(num_segments, shift_div, mode)
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.mode = mode
        self.lean = lean

    def forward(self, x):
        if not self.lean or use_plain_ops() or not can_fuse(self.net):
            return self.net(temporal_shift(
                x, self.num_segments, self.shift_div, self.mode))
        check_shift_input(x, self.num_segments)
        check_shift_channels(x.shape[1], self.shift_div)
        args = (self.num_segments, self.shift_div, self.mode)
        # Autocast does not reach inside our autograd functions.
        autocast = torch.is_autocast_enabled(x.device.type)
        if not autocast and can_run_pointwise(self.net, x):
            # A 1x1 conv reads the shifted frames where they lie.
            return shifted_pointwise_conv2d_autograd(x, self.net, *args)
        if not torch.is_grad_enabled():
            # The conv reads x shifted in place, then x is restored.
            with shifted_inplace(x, *args) as shifted:
                return self.net(shifted)
        if autocast:
            return self.net(temporal_shift(x, *args))
        return lean_shift_conv2d(x, self.net, *args)

    def extra_repr(self):
        return (f'num_segments={self.num_segments}, shift_div={self.shift_div}, '
                f'mode={self.mode!r}, lean={self.lean}')
