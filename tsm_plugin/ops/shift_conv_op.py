"""The lean shift as a ``torch.library`` custom op, for ``torch.compile``.

Traced into a graph, ``conv2d(temporal_shift(x))`` is plain ops, and the
compiler's partitioner decides what to keep for backward: it kept the shifted
copy (``aot_eager``: TSM's ResNet-18 stage 1 saved 1.11 of TSN's bytes;
inductor's min-cut partitioner, ``aot_eager_decomp_partition``: 1.03). As an
opaque op whose autograd keeps ``x`` and the weight only, compiled TSM keeps
TSN's bytes (``tests/ops/test_compile_lean.py``). Its backward is plain ops
(the shift's adjoint and ``convolution_backward``), which the compiler traces.

Under autocast the caller casts the inputs first (``lean_shift_conv2d``), as
autocast would for the conv; the op itself never sees mixed dtypes.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .temporal_shift import _shift, eager_shift


@torch.library.custom_op('tsm_plugin::shift_conv2d', mutates_args=())
def shift_conv2d(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                 stride: List[int], padding: List[int], dilation: List[int],
                 groups: int, num_segments: int, shift_div: int,
                 mode: str) -> Tensor:
    """``F.conv2d(temporal_shift(x, num_segments, shift_div, mode), ...)``."""
    return F.conv2d(eager_shift(x, num_segments, shift_div, mode), weight,
                    bias, stride, padding, dilation, groups)


@shift_conv2d.register_fake
def _(x, weight, bias, stride, padding, dilation, groups, num_segments,
      shift_div, mode):
    # the shift keeps the shape: the conv's output shape is that of conv(x)
    return F.conv2d(x, weight, bias, stride, padding, dilation, groups)


def _setup_context(ctx, inputs, output):
    x, weight, bias, *conv_args = inputs[:7]
    ctx.save_for_backward(x, weight)
    ctx.conv_args = conv_args
    ctx.shift_args = inputs[7:]
    ctx.has_bias = bias is not None


def _backward(ctx, grad_out):
    x, weight = ctx.saved_tensors
    stride, padding, dilation, groups = ctx.conv_args
    needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
    grad_shifted, grad_w, grad_b = torch.ops.aten.convolution_backward(
        grad_out, _shift(x, *ctx.shift_args), weight,
        [weight.shape[0]] if ctx.has_bias else None, stride, padding,
        dilation, False, [0, 0], groups, [needs_x, needs_w, needs_b])
    grad_x = _shift(grad_shifted, *ctx.shift_args, adjoint=True) \
        if needs_x else None
    return (grad_x, grad_w, grad_b) + (None, ) * 7


shift_conv2d.register_autograd(_backward, setup_context=_setup_context)
