"""TAdaConv V2 (Huang et al., "Temporally-Adaptive Models for Efficient Video
Understanding", 2023): the temporally-adaptive conv of TAdaConvNeXtV2.

What differs from ``tadaconv.py`` (V1, TAda2D), as the official code has it
(alibaba-mmai-research/TAdaConv at 75b7839,
``tadaconv/models/module_zoo/ops/tadaconv_v2.py``: ``TAdaConv2dV2`` with
``cal_dim='cout'``, ``RouteFuncwTransformer``):

- the calibration scales **output** channels, and a second calibration
  scales the conv's **bias**: frame t gets ``W_t = a_t * W`` (per output
  channel) and ``b_t = beta_t * b``. So ``conv(x_t, W_t) + b_t ==
  a_t * conv(x_t, W) + beta_t * b``: here one ordinary conv runs for all
  frames and its output is scaled, no per-frame weight is built (the
  official code builds the ``N*T`` weights and runs a grouped conv);
- the generator (``TransformerCalibrationGenerator``) mixes frames with
  attention: per-frame descriptors, a temporal conv, LayerNorm and QuickGELU,
  then a residual multi-head self-attention over the frames of a clip, then
  one temporal conv per calibration (weight and bias), each zero-initialised
  with 1 added.

Pure tensor code over frames stored clip after clip, ``(N*T, C, H, W)``;
the clip length is passed at call time (the network's stem changes it).
"""
import torch
import torch.nn.functional as F
from torch import nn

from .tadaconv import _is_int, check_calibration_args


def quick_gelu(x):
    """``x * sigmoid(1.702 x)``, CLIP's GELU approximation, which the official
    TAdaConv V2 code uses as its activation (``ops/misc.py QuickGELU``)."""
    return x * torch.sigmoid(1.702 * x)


class QuickGELU(nn.Module):
    def forward(self, x):
        return quick_gelu(x)


def layer_norm_channels_first(x, norm):
    """``norm`` (an ``nn.LayerNorm`` over C) applied to dim 1 of ``x``."""
    return norm(x.movedim(1, -1)).movedim(-1, 1)


def check_frames(x, num_segments):
    if not _is_int(num_segments, 1):
        raise ValueError(
            f'num_segments must be a positive int, got {num_segments!r}')
    if x.shape[0] % num_segments:
        raise ValueError(
            f'the input holds {x.shape[0]} frames, not a multiple of '
            f'num_segments={num_segments}: it must hold whole clips')


class TransformerCalibrationGenerator(nn.Module):
    """Per-frame, per-channel calibrations ``(a_t, beta_t)`` of TAdaConv V2.

    On the per-frame descriptors ``d`` (spatial means, ``(N, C, T)``):
    ``h = QuickGELU(LN(conv_t(d)))`` (hidden ``C // reduction`` channels),
    ``h = h + attention(LN'(h))`` over the T frames of each clip, then
    ``a = conv_a(h) + 1`` and ``beta = conv_beta(h) + 1``, the two last
    temporal convs zero-initialised (a fresh generator gives 1).

    The attention follows the official ``forward_attention`` exactly,
    including its channel layout: the 1x1 ``qkv`` projection's output
    channel ``s * c + d * heads + h`` is component s (q, k, v) of head h,
    dimension d; the attention output is laid out head-major (channel ``h *
    head_dim + d``) before the 1x1 ``attn_out``; logits are scaled by
    ``c ** -0.5`` with ``c`` all hidden channels (not the head's).

    Args:
        channels (int): C, the channels calibrated.
        reduction (int): hidden channels ``C // reduction``. Default 2.
        kernels (tuple[int, int]): temporal kernels of the first conv and of
            the last ones (odd). Default ``(3, 3)``.
        head_dim (int): channels per attention head; must divide the hidden
            channels. Default 48.
        bias_calibration (bool): also generate ``beta``. Default True.

    ``forward(x, num_segments)``: ``x`` ``(N*T, C, H, W)`` -> ``a`` (and
    ``beta``), each ``(N*T, C)``.
    """

    def __init__(self, channels, reduction=2, kernels=(3, 3), head_dim=48,
                 bias_calibration=True):
        super().__init__()
        check_calibration_args(channels, reduction, kernels)
        hidden = channels // reduction
        if not _is_int(head_dim, 1) or hidden % head_dim:
            raise ValueError(
                f'head_dim={head_dim!r} must divide the hidden channels '
                f'{channels} // reduction {reduction} = {hidden}')
        self.hidden = hidden
        self.head_dim = head_dim
        self.temporal_conv1 = nn.Conv1d(channels, hidden, kernels[0],
                                        padding=kernels[0] // 2)
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-6)
        self.qkv = nn.Conv1d(hidden, 3 * hidden, 1)
        self.attn_out = nn.Conv1d(hidden, hidden, 1)
        self.temporal_conv2 = nn.Conv1d(hidden, channels, kernels[1],
                                        padding=kernels[1] // 2, bias=False)
        self.temporal_conv2_bias = nn.Conv1d(
            hidden, channels, kernels[1], padding=kernels[1] // 2,
            bias=False) if bias_calibration else None
        self.reset_to_identity()

    def reset_to_identity(self):
        """Zero the last convs: calibrations 1 everywhere."""
        nn.init.zeros_(self.temporal_conv2.weight)
        if self.temporal_conv2_bias is not None:
            nn.init.zeros_(self.temporal_conv2_bias.weight)

    def attention(self, h):
        """Multi-head self-attention over frames, ``(N, c, T)`` in and out."""
        n, c, t = h.shape
        heads = c // self.head_dim
        qkv = self.qkv(h).view(n, 3, self.head_dim, heads, t)
        q, k, v = qkv.permute(1, 0, 3, 4, 2)  # each (N, heads, T, head_dim)
        weights = ((q @ k.transpose(-2, -1)) * c ** -0.5).softmax(-1)
        out = (weights @ v).transpose(-2, -1).reshape(n, c, t)
        return self.attn_out(out)

    def forward(self, x, num_segments):
        check_frames(x, num_segments)
        nt, c = x.shape[:2]
        t = num_segments
        frames = x.mean((2, 3)).view(nt // t, t, c).transpose(1, 2)  # N, C, T
        h = quick_gelu(layer_norm_channels_first(self.temporal_conv1(frames),
                                                 self.norm))
        h = h + self.attention(layer_norm_channels_first(h, self.attn_norm))
        a = (self.temporal_conv2(h) + 1).transpose(1, 2).reshape(nt, c)
        if self.temporal_conv2_bias is None:
            return a, None
        beta = self.temporal_conv2_bias(h) + 1
        return a, beta.transpose(1, 2).reshape(nt, c)


class TAdaConv2dV2(nn.Conv2d):
    """``nn.Conv2d`` whose weight and bias are calibrated per frame over
    output channels by its ``TransformerCalibrationGenerator``
    (``self.calibration``), which reads the conv's input.

    Same arguments as ``nn.Conv2d`` (``bias`` defaults to True, as in
    TAdaConvNeXtV2's depthwise conv) plus the generator's ``reduction``,
    ``kernels`` and ``head_dim``; the bias calibration exists when the conv
    has a bias. ``forward(x, num_segments)`` on ``(N*T, C_in, H, W)``.
    Fresh, it computes its 2D conv.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 padding=0, dilation=1, groups=1, bias=True,
                 padding_mode='zeros', reduction=2, kernels=(3, 3),
                 head_dim=48):
        super().__init__(in_channels, out_channels, kernel_size, stride,
                         padding, dilation, groups, bias, padding_mode)
        if in_channels != out_channels:
            # the official generator reads the input and calibrates C_out
            # with the same channel count (c_in=out_channels there)
            raise ValueError(
                f'TAdaConv2dV2 calibrates output channels from the input '
                f'descriptors: in_channels ({in_channels}) must equal '
                f'out_channels ({out_channels})')
        self.calibration = TransformerCalibrationGenerator(
            in_channels, reduction, kernels, head_dim, bias)

    def forward(self, x, num_segments):
        a, beta = self.calibration(x, num_segments)
        # conv(x_t, a_t * W) + beta_t * b == a_t * conv(x_t, W) + beta_t * b
        y = self._conv_forward(x, self.weight, None) * a[:, :, None, None]
        if self.bias is not None:
            y = y + (beta * self.bias)[:, :, None, None]
        return y
