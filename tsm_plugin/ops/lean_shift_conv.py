"""``conv2d(temporal_shift(x))`` that keeps no shifted copy for backward.

Autograd saves a conv's input for the weight gradient. Behind a shift that input
is a full shifted copy of ``x``, while ``x`` itself is kept anyway (by the ReLU
that produced it, or the residual path): +26% activation memory on ResNet-50
(``benchmarks/bench_shift.py``). Here shift and conv are one autograd Function
that saves ``x`` only and recomputes the shift in backward, for the weight
gradient. The same ops on the same values: results are bit-identical.

Under ``torch.autocast`` the conv sees ``x`` cast to the autocast dtype (as
autocast casts a conv's inputs), and that cast is what is kept: the tensor a
plain conv would keep too (``x`` itself when it already has that dtype).
Backward runs with autocast off, so it casts the weight again itself and
returns each gradient in its input's dtype, as autocast's casts would.
Bit-identical to the plain path under the same autocast
(``tests/ops/test_autocast.py``); bfloat16 on the CPU, ResNetTSM-50 keeps
1.000 of TSN's bytes where the plain shift keeps 1.255
(``benchmarks/saved_memory_modes.py``, ``docs/mixed_precision.md``).
"""
import torch
import torch.nn.functional as F
from torch import nn

from .shift_conv_op import shift_conv2d
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


def autocast_dtype(x):
    """The dtype autocast casts a conv's floating input ``x`` to, or None
    where autocast is off (autocast leaves float64 alone)."""
    device = x.device.type
    if torch.is_autocast_enabled(device) and x.is_floating_point() \
            and x.dtype != torch.float64:
        return torch.get_autocast_dtype(device)
    return None


def cast(tensor, dtype):
    return tensor if tensor is None or dtype is None else tensor.to(dtype)


class _LeanShiftConv2d(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, conv_args, shift_args):
        ctx.conv_dtype = autocast_dtype(x)
        # What the conv reads and keeps: autocast's casts, made here
        # explicitly (autocast would cache a cast of the weight made without
        # grad, which a later use of that weight would then get).
        conv_input = cast(x, ctx.conv_dtype)
        ctx.save_for_backward(conv_input, weight)
        ctx.conv_args, ctx.shift_args = conv_args, shift_args
        ctx.x_dtype, ctx.has_bias = x.dtype, bias is not None
        ctx.bias_dtype = bias.dtype if bias is not None else None
        with torch.autocast(x.device.type, enabled=False):
            return F.conv2d(_shift(conv_input, *shift_args),
                            cast(weight, ctx.conv_dtype),
                            cast(bias, ctx.conv_dtype), *conv_args)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conv_args
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        # The input gradient reads only the conv input's shape.
        conv_input = _shift(x, *ctx.shift_args) if needs_w else x
        grad_shifted, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_out, conv_input, cast(weight, ctx.conv_dtype),
            [weight.shape[0]] if ctx.has_bias else None, stride, padding,
            dilation, False, [0, 0], groups, [needs_x, needs_w, needs_b])
        grad_x = _shift(grad_shifted, *ctx.shift_args, adjoint=True) \
            if needs_x else None
        return (cast(grad_x, ctx.x_dtype), cast(grad_w, weight.dtype),
                cast(grad_b, ctx.bias_dtype), None, None)


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
    keeps ``x`` (under autocast: its cast) and the weight only for backward.
    Compiled, the same as a custom op (``shift_conv_op.py``)."""
    conv_args = (conv.stride, conv.padding, conv.dilation, conv.groups)
    shift_args = (num_segments, shift_div, mode)
    if torch.compiler.is_compiling():
        dtype = autocast_dtype(x)  # autocast's casts, recorded in the graph
        with torch.autocast(x.device.type, enabled=False):
            return shift_conv2d(cast(x, dtype), cast(conv.weight, dtype),
                                cast(conv.bias, dtype),
                                *map(list, conv_args[:3]), conv.groups,
                                *shift_args)
    return _LeanShiftConv2d.apply(x, conv.weight, conv.bias, conv_args,
                                  shift_args)
