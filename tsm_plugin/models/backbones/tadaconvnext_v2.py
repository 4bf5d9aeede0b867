"""``TAdaConvNeXtV2`` (T/S/B): the authors' TAdaConvNeXtV2, as the official
code builds it.

Read from alibaba-mmai-research/TAdaConv at 75b7839 (written here, not
copied): ``tadaconv/models/base/backbone.py`` (``ConvNeXt``),
``tadaconv/models/module_zoo/branches/tadaconvnextv2.py``
(``TAdaConvNeXtV2Block``), ``tadaconv/models/module_zoo/ops/tadaconv_v2.py``
(see ``tsm_plugin/ops/tadaconv_v2.py``), ``configs/pool/backbone/
tadaconvnextv2_{tiny,small,base}.yaml`` and, for the ImageNet start,
``tadaconv/utils/checkpoint.py`` (``convert_convnext_weights``).

The network, on clips ``(N, 3, T, H, W)``:

- stem: a 3D conv, kernel ``(3, 4, 4)``, stride ``(2, 4, 4)``, temporal
  padding 1 (so ``T' = ceil(T / 2)`` frames go on), then a LayerNorm over
  channels;
- four stages of ConvNeXt blocks, a LayerNorm and a 2x2/2 conv between
  stages, frame by frame;
- each block: ``y = TAdaConv2dV2(x)`` (the depthwise 7x7 with its weight
  and bias calibrated per frame over output channels by an attention
  generator), ``z = LN(y) + LN'(AvgPool_t(y))`` (LN' zero-initialised),
  ``x + drop_path(gamma * Linear(QuickGELU(Linear(z))))`` (QuickGELU, not
  GELU);
- the final LayerNorm sits **after** the global average over frames and
  space: output ``LN(mean_{t,h,w} x)``, returned as ``(N, C, 1, 1, 1)`` so
  that MMAction2's ``Recognizer3D`` + ``I3DHead`` (its pool then an
  identity) give the official ``BaseHead`` (dropout, linear).

Module names follow mmpretrain's ConvNeXt (``downsample_layers.i.j``,
``stages.i.j.depthwise_conv / norm / pointwise_conv1 / pointwise_conv2 /
gamma``) plus ``depthwise_conv.calibration.*`` and ``pool_norm``;
``tsm_plugin.convert.tadaconv`` maps the official checkpoints onto them.
How it differs from the plugin's TAdaConvNeXt-T (``TAdaBackbone`` over
mmpretrain's ConvNeXt): docs/converted_tadaconv.md.
"""
import re

import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from ...ops.tadaconv import tada_aggregation
from ...ops.tadaconv_v2 import TAdaConv2dV2, TransformerCalibrationGenerator
from ...ops.tadaconv_v2 import quick_gelu
from ...registry import MODELS

# configs/pool/backbone/tadaconvnextv2_*.yaml (drop path: the K400 runs')
ARCHS = {
    'tiny': dict(depths=(3, 3, 9, 3), channels=(96, 192, 384, 768),
                 head_dim=48),
    'small': dict(depths=(3, 3, 27, 3), channels=(96, 192, 384, 768),
                  head_dim=48),
    'base': dict(depths=(3, 3, 27, 3), channels=(128, 256, 512, 1024),
                 head_dim=64),
}


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over dim 1 (channels first), any trailing dims."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


def drop_path_per_clip(x, drop_prob, num_segments, training):
    """Stochastic depth drawn once per clip (the official net drops per
    sample of its 5D batch) on frames ``(N*T, ...)``."""
    if drop_prob == 0. or not training:
        return x
    keep = 1 - drop_prob
    n = x.shape[0] // num_segments
    mask = (keep + torch.rand(n, 1, dtype=x.dtype, device=x.device)).floor_()
    mask = mask.expand(n, num_segments).reshape(-1, *([1] * (x.dim() - 1)))
    return x / keep * mask


class TAdaConvNeXtV2Block(nn.Module):
    """One block on frames ``(N*T, C, H, W)``: see the module docstring."""

    def __init__(self, channels, drop_path=0., layer_scale_init_value=1e-6,
                 reduction=2, kernels=(3, 3), head_dim=48):
        super().__init__()
        self.depthwise_conv = TAdaConv2dV2(
            channels, channels, 7, padding=3, groups=channels,
            reduction=reduction, kernels=kernels, head_dim=head_dim)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pool_norm = nn.LayerNorm(channels, eps=1e-6)
        self.pointwise_conv1 = nn.Linear(channels, 4 * channels)
        self.pointwise_conv2 = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(
            torch.full((channels, ), float(layer_scale_init_value))) \
            if layer_scale_init_value > 0 else None
        self.drop_path = drop_path
        self.reset_aggregation()

    def reset_aggregation(self):
        nn.init.zeros_(self.pool_norm.weight)
        nn.init.zeros_(self.pool_norm.bias)

    def forward(self, x, num_segments):
        y = self.depthwise_conv(x, num_segments).permute(0, 2, 3, 1)
        # LN(y) + LN'(AvgPool_t(y)), channels last, frames first
        y = tada_aggregation(y, self.norm, self.pool_norm, num_segments)
        y = self.pointwise_conv2(quick_gelu(self.pointwise_conv1(y)))
        if self.gamma is not None:
            y = self.gamma * y
        y = y.permute(0, 3, 1, 2)
        return x + drop_path_per_clip(y, self.drop_path, num_segments,
                                      self.training)


@MODELS.register_module()
class TAdaConvNeXtV2(nn.Module):
    """TAdaConvNeXtV2-T/S/B (Huang et al., 2023) on ``(N, 3, T, H, W)`` clips.

    Args:
        arch (str | dict): ``'tiny'``, ``'small'``, ``'base'`` or a dict
            with ``depths``, ``channels`` (4 each) and ``head_dim``.
        drop_path_rate (float): stochastic depth, linear over blocks.
            Default 0 (the official K400 runs: 0.2 / 0.4 / 0.6).
        layer_scale_init_value (float): Default 1e-6.
        stem_temporal_kernel (int): Default 3. stem_temporal_stride (int):
            Default 2 (the stem halves the frames).
        calibration_reduction (int): generator hidden channels ``C //
            calibration_reduction``. Default 2 (``ROUTE_FUNC_R``).
        calibration_kernels (tuple[int, int]): Default ``(3, 3)``.
        pretrained (str, optional): a 2D ImageNet ConvNeXt of the same arch
            (the official ConvNeXt release's ``{'model': ...}``, mmpretrain's
            or timm's state dict), loaded by ``init_weights`` as the
            official recipe does (``TRAIN.INIT: in1k``): the stem's 2D
            kernel at the centre of its 3 frames (zeros elsewhere), the
            depthwise weights into the TAdaConvs; the calibration and ``LN'``
            keep their identity start. Its classifier is not used.

    Output: ``(N, C, 1, 1, 1)``, the final LayerNorm of the clip's average.
    """

    def __init__(self, arch='tiny', drop_path_rate=0.,
                 layer_scale_init_value=1e-6, stem_temporal_kernel=3,
                 stem_temporal_stride=2, calibration_reduction=2,
                 calibration_kernels=(3, 3), pretrained=None, init_cfg=None):
        super().__init__()
        if isinstance(arch, str):
            if arch not in ARCHS:
                raise ValueError(f'arch must be one of {sorted(ARCHS)} or a '
                                 f'dict, got {arch!r}')
            arch = ARCHS[arch]
        if not (isinstance(arch, dict) and {'depths', 'channels', 'head_dim'}
                <= set(arch) and len(arch['depths']) == 4
                and len(arch['channels']) == 4):
            raise ValueError('arch as a dict needs depths and channels (4 '
                             f'each) and head_dim, got {arch!r}')
        if not 0 <= drop_path_rate < 1:
            raise ValueError(
                f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}')
        if not (isinstance(stem_temporal_kernel, int)
                and stem_temporal_kernel >= 1 and stem_temporal_kernel % 2):
            raise ValueError('stem_temporal_kernel must be an odd positive '
                             f'int, got {stem_temporal_kernel!r}')
        self.depths = tuple(arch['depths'])
        self.channels = tuple(arch['channels'])
        self.head_dim = arch['head_dim']
        self.pretrained = pretrained
        self.layer_scale_init_value = layer_scale_init_value
        c = self.channels
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv3d(3, c[0], (stem_temporal_kernel, 4, 4),
                      (stem_temporal_stride, 4, 4),
                      (stem_temporal_kernel // 2, 0, 0)),
            LayerNorm2d(c[0], eps=1e-6))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                LayerNorm2d(c[i], eps=1e-6),
                nn.Conv2d(c[i], c[i + 1], 2, stride=2)))
        rates = torch.linspace(0, drop_path_rate, sum(self.depths)).tolist()
        self.stages = nn.ModuleList()
        for i, depth in enumerate(self.depths):
            start = sum(self.depths[:i])
            self.stages.append(nn.ModuleList(
                TAdaConvNeXtV2Block(c[i], rates[start + j],
                                    layer_scale_init_value,
                                    calibration_reduction,
                                    calibration_kernels, self.head_dim)
                for j in range(depth)))
        self.norm = nn.LayerNorm(c[-1], eps=1e-6)
        self.out_channels = c[-1]

    def forward(self, x):
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError('TAdaConvNeXtV2 takes clips (N, 3, T, H, W) '
                             "(format_shape='NCTHW'), got a tensor of shape "
                             f'{tuple(x.shape)}')
        stem_conv, stem_norm = self.downsample_layers[0]
        x = stem_conv(x)
        n, c, t, h, w = x.shape
        x = stem_norm(x.transpose(1, 2).reshape(n * t, c, h, w))
        for i, stage in enumerate(self.stages):
            if i:
                x = self.downsample_layers[i](x)
            for block in stage:
                x = block(x, t)
        pooled = x.view(n, t, *x.shape[1:]).mean((1, 3, 4))
        return self.norm(pooled)[:, :, None, None, None]

    def init_weights(self):
        """The official init (truncated normal, std 0.02, for convs and
        linears, zero biases; calibration 1, ``LN'`` 0), then the 2D
        ImageNet weights if ``pretrained``."""
        for name, m in self.named_modules():
            if isinstance(m, TransformerCalibrationGenerator):
                m.reset_to_identity()
            elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)) \
                    and not re.search(r'temporal_conv2(_bias)?$', name):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():  # after the norms above
            if isinstance(m, TAdaConvNeXtV2Block):
                m.reset_aggregation()
                if m.gamma is not None:
                    nn.init.constant_(m.gamma, self.layer_scale_init_value)
        if self.pretrained:
            self.load_2d_weights(self.pretrained)

    def load_2d_weights(self, path):
        """Load a 2D ImageNet ConvNeXt (see ``pretrained``)."""
        state = _load_checkpoint(path, map_location='cpu')
        for key in ('model', 'state_dict'):
            if isinstance(state, dict) and key in state:
                state = state[key]
        mapped, unused = convnext_2d_to_v2(state, self.state_dict())
        self.load_state_dict(mapped, strict=False)
        MMLogger.get_current_instance().info(
            f'TAdaConvNeXtV2: loaded {len(mapped)} tensors from {path}; '
            f'unused: {unused}')


# 2D ConvNeXt names -> the official ConvNeXt release's (FB) names.
_MMPRETRAIN = [(r'^backbone\.', ''), (r'\.depthwise_conv\.', '.dwconv.'),
               (r'\.pointwise_conv(\d)\.', r'.pwconv\1.'),
               (r'^norm3\.', 'norm.')]
_TIMM = [(r'^stem\.(\d)\.', r'downsample_layers.0.\1.'),
         (r'^stages\.(\d)\.downsample\.(\d)\.', r'downsample_layers.\1.\2.'),
         (r'^stages\.(\d)\.blocks\.', r'stages.\1.'),
         (r'\.conv_dw\.', '.dwconv.'),
         (r'\.mlp\.fc(\d)\.', r'.pwconv\1.'), (r'^head\.norm\.', 'norm.')]
# the official release's names -> ours
_TO_OURS = [(r'\.dwconv\.', '.depthwise_conv.'),
            (r'\.pwconv(\d)\.', r'.pointwise_conv\1.')]


def _rename(key, rules):
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def convnext_2d_to_v2(state, own):
    """``({our key: tensor}, [unused source keys])`` for a 2D ConvNeXt state
    dict (the official release's, mmpretrain's or timm's names), as the
    official ``convert_convnext_weights`` inflates it: the stem kernel at the
    centre frame of the temporal kernel, zeros elsewhere; the classifier is
    left out. A shape that fits no way is a ``ValueError`` naming the key."""
    rules = _TIMM if any(k.startswith('stem.') for k in state) else \
        _MMPRETRAIN
    mapped, unused = {}, []
    for key, value in state.items():
        ours = _rename(_rename(key, rules), _TO_OURS)
        if ours not in own:
            unused.append(key)
            continue
        target = own[ours].shape
        if ours == 'downsample_layers.0.0.weight' and value.dim() == 4:
            inflated = value.new_zeros(target)
            inflated[:, :, target[2] // 2] = value
            value = inflated
        elif value.shape != target and value.numel() == own[ours].numel():
            value = value.reshape(target)  # (C, 1, 1, ...) layouts
        if value.shape != target:
            raise ValueError(f'{key}: shape {tuple(value.shape)} does not fit '
                             f'{ours} {tuple(target)} (another arch?)')
        mapped[ours] = value
    return mapped, sorted(unused)
