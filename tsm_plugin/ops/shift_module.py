"""``TemporalShift``: a layer preceded by the temporal shift.

The wrapped layer is the child ``net`` (state-dict keys ``...net.weight``), as in
MMAction2's and the original TSM's wrappers, so their checkpoints load as they are.
"""
import torch
from torch import nn

from .lean_shift_conv import can_fuse, lean_shift_conv2d
from .temporal_shift import (check_shift_args, check_shift_channels,
                             check_shift_input, temporal_shift, use_plain_ops)


class TemporalShift(nn.Module):
    """Shift the input along time, then run ``net`` on it.

    Args:
        net (nn.Module): the layer that sees the shifted input.
        num_segments (int): frames per clip.
        shift_div (int): 1/shift_div of the channels move each way.
        mode (str): ``'bidirectional'`` or ``'unidirectional'``.
        lean (bool): when ``net`` is a plain ``nn.Conv2d`` and autograd records,
            keep no shifted copy for backward (see ``lean_shift_conv``). Same
            outputs and gradients; ``False`` runs the plain shift then ``net``.
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
        if (self.lean and torch.is_grad_enabled() and can_fuse(self.net)
                and not use_plain_ops()
                and not torch.is_autocast_enabled(x.device.type)):
            check_shift_input(x, self.num_segments)
            check_shift_channels(x.shape[1], self.shift_div)
            return lean_shift_conv2d(x, self.net, self.num_segments,
                                     self.shift_div, self.mode)
        return self.net(
            temporal_shift(x, self.num_segments, self.shift_div, self.mode))

    def extra_repr(self):
        return (f'num_segments={self.num_segments}, shift_div={self.shift_div}, '
                f'mode={self.mode!r}, lean={self.lean}')
