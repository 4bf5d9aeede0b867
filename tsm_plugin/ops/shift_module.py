"""``TemporalShift``: a layer preceded by the temporal shift.

The wrapped layer is the child ``net`` (state-dict keys ``...net.weight``), as in
MMAction2's and the original TSM's wrappers, so their checkpoints load as they are.
"""
import torch
from torch import nn

from .lean_shift_conv import can_fuse, lean_shift_conv2d
from .temporal_shift import (check_shift_args, check_shift_channels,
                             check_shift_input, temporal_shift)


class TemporalShift(nn.Module):
    """Shift the input along time, then run ``net`` on it.

    Args:
        net (nn.Module): the layer that sees the shifted input.
        num_segments (int): frames per clip.
        shift_div (int): 1/shift_div of the channels move each way.
        mode (str): ``'bidirectional'`` or ``'unidirectional'``.
        lean (bool): in front of a plain ``nn.Conv2d`` (``can_fuse``), keep
            only ``x`` for backward (``lean_shift_conv``; bit-identical
            results). ``False``: the shifted copy, then ``net``.
    """

    def __init__(self, net, num_segments=8, shift_div=8, mode='bidirectional',
                 lean=True):
        # Not super().__init__(): a subclass may also derive from MMAction2's
        # wrapper, whose __init__ wants ``net``.
        nn.Module.__init__(self)
        check_shift_args(num_segments, shift_div, mode)
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.mode = mode
        self.lean = lean

    def path(self, x):
        """How ``net(temporal_shift(x))`` runs: ``'lean'`` when autograd
        records it (compiled: as a custom op, ``shift_conv_op.py``), else
        ``'plain'`` (a shifted copy, then ``net``; also what jit traces and
        exports record).

        Eagerly, both paths shift with ``shift_by_copy`` (one read and one
        write of ``x``); traced, with the plain out-of-place ops
        (``docs/performance.md``). No other fast path: shifting ``x`` in
        place and back gained less than the spread of
        ``benchmarks/bench_shift.py``'s control row at 112 and 224 px; a
        shifted 1x1 conv as matrix products, faster than oneDNN's conv on an
        Intel Xeon, was as fast or slower on an AMD EPYC: a per-CPU kernel
        choice.
        """
        if (self.lean and torch.is_grad_enabled()
                and not torch.jit.is_tracing() and can_fuse(self.net)):
            return 'lean'
        return 'plain'

    def forward(self, x):
        args = (self.num_segments, self.shift_div, self.mode)
        if self.path(x) == 'lean':
            check_shift_input(x, self.num_segments)
            check_shift_channels(x.shape[1], self.shift_div)
            return lean_shift_conv2d(x, self.net, *args)
        return self.net(temporal_shift(x, *args))

    def extra_repr(self):
        return (f'num_segments={self.num_segments}, shift_div={self.shift_div}, '
                f'mode={self.mode!r}, lean={self.lean}')
