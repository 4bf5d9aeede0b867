"""``conv2d(temporal_shift(x))`` that keeps no shifted copy for backward.

Autograd saves a conv's input for the weight gradient. Behind a shift that input
is a full shifted copy of ``x``, while ``x`` itself is kept anyway (by the ReLU
that produced it, or the residual path): +26% activation memory on ResNet-50
(``benchmarks/bench_shift.py``). Here shift and conv are one autograd Function
that saves ``x`` only and recomputes the shift in backward, for the weight
gradient. The same ops on the same values: results are bit-identical.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .temporal_shift import eager_shift as _shift  # eager only (path)

# Conv classes whose forward is exactly ``F.conv2d`` with the module's
# arguments: torch's, and mmcv's wrapper (used by ConvModule), which only
# special-cases empty inputs on torch < 1.4.
_PLAIN_FORWARDS = {nn.Conv2d.forward}
try:
    from mmcv.cnn.bricks.wrappers import Conv2d as _MMCVConv2d
    _PLAIN_FORWARDS.add(_MMCVConv2d.forward)
except ImportError:  # mmcv is optional for the ops
    pass


class _LeanShiftConv2d(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, conv_args, shift_args):
        ctx.save_for_backward(x, weight)
        ctx.conv_args, ctx.shift_args = conv_args, shift_args
        ctx.has_bias = bias is not None
        return F.conv2d(_shift(x, *shift_args), weight, bias, *conv_args)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conv_args
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        # The input gradient reads only the conv input's shape.
        conv_input = _shift(x, *ctx.shift_args) if needs_w else x
        grad_shifted, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_out, conv_input, weight,
            [weight.shape[0]] if ctx.has_bias else None, stride, padding,
            dilation, False, [0, 0], groups, [needs_x, needs_w, needs_b])
        grad_x = _shift(grad_shifted, *ctx.shift_args, adjoint=True) \
            if needs_x else None
        return grad_x, grad_w, grad_b, None, None


def can_fuse(conv):
    """A zero-padded 2D conv that is exactly ``F.conv2d`` (no hooks, no
    parametrization, no custom forward), so it can run inside the Function."""
    return (isinstance(conv, nn.Conv2d)
            and type(conv).forward in _PLAIN_FORWARDS
            and type(conv)._conv_forward is nn.Conv2d._conv_forward
            and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str)
            and not (conv._forward_hooks or conv._forward_pre_hooks
                     or conv._backward_hooks or conv._backward_pre_hooks))


def lean_shift_conv2d(x, conv, num_segments, shift_div, mode):
    """``conv(temporal_shift(x, ...))`` for an ``nn.Conv2d`` that ``can_fuse``;
    keeps ``x`` and the weight only for backward."""
    conv_args = (conv.stride, conv.padding, conv.dilation, conv.groups)
    return _LeanShiftConv2d.apply(x, conv.weight, conv.bias, conv_args,
                                  (num_segments, shift_div, mode))
