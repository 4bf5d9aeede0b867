"""``TAdaBackbone``: TAdaConv in any 2D backbone.

In each residual block found by ``blocks.find_residual_blocks`` (the
discovery ``TSMBackbone`` uses), the branch's spatial k x k conv (ResNet: the
3x3; ConvNeXt: the depthwise 7x7; inverted residuals: the depthwise k x k)
becomes a ``TAdaConv2d`` holding that conv's parameters under the conv's own
name. Where a norm comes right after that conv, TAda's temporal aggregation
is added around it, ``norm(y) + norm'(AvgPool_t(y))`` with ``norm'`` a
zero-initialised copy of the norm:

- after a BatchNorm, TAda2D's ``BN(y) + BN'(AvgPool_t(y))`` (TAdaConv repo,
  ``models/module_zoo/branches/tada_branch.py``, ``TAdaConvBlockAvgPool``);
- after a LayerNorm (ConvNeXt), the same with LayerNorms,
  ``LN(y) + LN'(AvgPool_t(y))``, ``LN'`` zero-initialised, as the TAdaConvNeXt
  block ``TAdaConvNeXtBlockAvgPoolGELU`` does (the TAdaConvNeXt v1 code is not
  in the official repository; see docs/tadaconv_backbones.md for the sources
  and what differs).

Fresh, both are identities (calibration 1, ``norm'`` 0): the network computes
its 2D backbone frame by frame.
"""
import copy

from torch import nn

from ...ops.tadaconv import (TAdaConv2d, check_calibration_args,
                             tada_aggregation, temporal_avg_pool)
from ...registry import MODELS
from ..blocks import (find_residual_blocks, get_module, match_modules,
                      set_module, text_table)
from .clip_wrapper import Clip2DBackbone

NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
# Conv2d subclasses whose forward computes nn.Conv2d's: mmcv's wrapper only
# adds a path for empty inputs (MMAction2's and mmpretrain's ConvModule).
PLAIN_CONV_MODULES = ('mmcv.cnn.bricks.wrappers', )
LAYOUT_MODULES = ('Permute', )  # torchvision.ops.misc.Permute


def is_plain_conv(module):
    return isinstance(module, nn.Conv2d) and (
        type(module).forward is nn.Conv2d.forward
        or type(module).__module__ in PLAIN_CONV_MODULES)


def norm_channels(norm):
    """Channels a norm normalises (None if it is not one channel axis)."""
    if isinstance(norm, nn.modules.batchnorm._BatchNorm):
        return norm.num_features
    if isinstance(norm, nn.GroupNorm):
        return norm.num_channels
    shape = tuple(norm.normalized_shape)
    return shape[0] if len(shape) == 1 else None


def norm_after(network, conv_name):
    """``(name, norm)`` of the module right after ``conv_name`` in module
    (construction) order if it is a norm over the conv's output channels,
    else ``None``: ResNet ``conv2 -> bn2``, ConvModule ``conv -> bn``,
    ConvNeXt ``dwconv -> norm``, torchvision ``Conv2dNormActivation`` ``0 ->
    1``. A layout change between them (torchvision ConvNeXt's ``Permute``
    to channels-last) is stepped over: the aggregation only needs frames
    first."""
    conv = get_module(network, conv_name)
    modules = network.named_modules()
    for name, _ in modules:
        if name == conv_name:
            break
    for name, module in modules:
        if type(module).__name__ not in LAYOUT_MODULES:
            break
    else:
        return None
    if isinstance(module, NORMS) \
            and norm_channels(module) == conv.out_channels:
        return name, module
    return None


def is_norm_act(norm):
    """timm's ``BatchNormAct2d``: BN, drop and activation in one module."""
    return isinstance(norm, nn.modules.batchnorm._BatchNorm) and all(
        isinstance(getattr(norm, a, None), nn.Module) for a in ('drop', 'act'))


class TemporalAggregation(nn.Module):
    """TAda's temporal aggregation around a norm (child ``net``):
    ``net(y) + pool_norm(AvgPool_t(y))``, the pool averaging each frame with
    its ``pool_kernel // 2`` neighbours on each side within its clip (missing
    frames count as zeros). ``pool_norm`` is a copy of the norm (fresh
    statistics) at zero: fresh, the module computes its norm.

    Any call signature of the norm passes through (mmpretrain's
    ``norm(x, data_format=...)``) and any layout whose first dimension is the
    frames (ConvNeXt normalises ``(N*T, H, W, C)``). After timm's
    ``BatchNormAct2d`` the sum comes before its drop and activation, as in
    TAda2D (``relu(BN(y) + BN'(pool))``).
    """

    def __init__(self, norm, num_segments, pool_kernel=3):
        super().__init__()
        if getattr(norm, 'weight', None) is None:
            raise ValueError(
                f'cannot aggregate after {type(norm).__name__} without an '
                'affine weight: its zero-initialised copy is what makes a '
                'fresh aggregation an identity (set aggregation=False)')
        self.net = norm
        self.num_segments = num_segments
        self.pool_kernel = pool_kernel
        self.norm_act = is_norm_act(norm)
        if self.norm_act:
            self.pool_norm = nn.BatchNorm2d(norm.num_features, norm.eps,
                                            norm.momentum, norm.affine,
                                            norm.track_running_stats)
        else:
            self.pool_norm = copy.deepcopy(norm)
        self.reset_to_identity()

    def reset_to_identity(self):
        """``pool_norm`` at 0 (weight and bias), fresh statistics."""
        if hasattr(self.pool_norm, 'reset_running_stats'):
            self.pool_norm.reset_running_stats()
        nn.init.zeros_(self.pool_norm.weight)
        if getattr(self.pool_norm, 'bias', None) is not None:
            nn.init.zeros_(self.pool_norm.bias)

    def forward(self, y, *args, **kwargs):
        if not (self.norm_act or args or kwargs):
            return tada_aggregation(y, self.net, self.pool_norm,
                                    self.num_segments, self.pool_kernel)
        pooled = temporal_avg_pool(y, self.num_segments, self.pool_kernel)
        pooled = self.pool_norm(pooled, *args, **kwargs)
        if self.norm_act:
            out = nn.modules.batchnorm._BatchNorm.forward(self.net, y) + pooled
            return self.net.act(self.net.drop(out))
        return self.net(y, *args, **kwargs) + pooled

    def describe(self):
        """What it computes, for the placement table."""
        norm = type(self.net).__name__
        if self.norm_act:
            return f"act({norm}.bn(y) + BatchNorm2d'(AvgPool_t(y)))"
        return f"{norm}(y) + {norm}'(AvgPool_t(y))"

    def extra_repr(self):
        return (f'num_segments={self.num_segments}, '
                f'pool_kernel={self.pool_kernel}')


def check_pool_kernel(pool_kernel):
    if not (isinstance(pool_kernel, int) and not isinstance(pool_kernel, bool)
            and pool_kernel >= 1 and pool_kernel % 2):
        raise ValueError(
            f'pool_kernel must be an odd positive int, got {pool_kernel!r}')


@MODELS.register_module()
class TAdaBackbone(Clip2DBackbone):
    """TAdaConv (Huang et al., ICLR 2022) in any 2D backbone.

    Args:
        backbone (dict): the 2D network (see ``Clip2DBackbone``), e.g.
            ``dict(type='mmpretrain.ConvNeXt', arch='tiny')``.
        num_segments (int): frames per clip (T). Default 8.
        calibration_reduction (int): hidden channels of each calibration
            generator: ``C // calibration_reduction``. Default 4 (TAda2D).
        calibration_kernels (tuple[int, int]): temporal kernels of its two
            1D convs (odd). Default ``(3, 3)``.
        pool_kernel (int): temporal kernel of the aggregation's average pool
            (odd). Default 3.
        aggregation (bool): add the temporal aggregation after each replaced
            conv that a norm follows. Default True.
        tada_modules (str, optional): a regular expression over module names
            of the 2D network (``re.fullmatch``): replace exactly those
            ``nn.Conv2d`` (k > 1) instead of each residual block's spatial
            conv, for networks the block rule does not cover.

    Each replaced conv keeps its name and parameters (``TAdaConv2d`` is an
    ``nn.Conv2d``; the generator adds ``<conv>.calibration.*``); an aggregated
    norm moves under ``<norm>.net`` and gains ``<norm>.pool_norm``, and
    ``init_weights`` runs the library's own init (e.g. an ``init_cfg``
    checkpoint) with the aggregations taken out, so 2D checkpoints load with
    their names. ``placement_table()`` lists what was replaced; a rule or
    pattern that replaces nothing is a ``ValueError``.
    """

    def __init__(self, backbone, num_segments=8, calibration_reduction=4,
                 calibration_kernels=(3, 3), pool_kernel=3, aggregation=True,
                 tada_modules=None):
        # the arguments alone, before any build (channels: per conv, below)
        check_calibration_args(1 << 30, calibration_reduction,
                               calibration_kernels)
        check_pool_kernel(pool_kernel)
        if not isinstance(aggregation, bool):
            raise ValueError(
                f'aggregation must be a bool, got {aggregation!r}')
        if tada_modules is not None and not isinstance(tada_modules, str):
            raise ValueError('tada_modules must be None or a regular '
                             f'expression string, got {tada_modules!r}')
        super().__init__(backbone, num_segments)
        self.calibration_reduction = calibration_reduction
        self.calibration_kernels = tuple(calibration_kernels)
        self.pool_kernel = pool_kernel
        self.aggregation = aggregation
        self.tada_modules = tada_modules
        # (conv name, name of the aggregated norm after it or None), in order
        self.tada_convs = []
        for name in self._targets(backbone):
            self._make_tada(name)

    def _targets(self, cfg):
        what = f"backbone {cfg.get('type')!r} ({type(self.backbone).__name__})"
        if self.tada_modules is not None:
            names = match_modules(self.backbone, self.tada_modules)
            if not names:
                raise ValueError(
                    f'tada_modules={self.tada_modules!r} matches no module of '
                    f'{what}; its module names: print(model.backbone)')
            return names
        names = [b.spatial_conv for b in find_residual_blocks(self.backbone)
                 if b.spatial_conv is not None]
        if not names:
            raise ValueError(
                f'found no residual block with a spatial (k x k, k > 1) conv '
                f'in {what}, so there is no conv to make temporally adaptive '
                "by the rule; name the convs with tada_modules=r'...' (a "
                'regular expression over module names)')
        return names

    def _make_tada(self, name):
        conv = get_module(self.backbone, name)
        if not (is_plain_conv(conv) and max(conv.kernel_size) > 1):
            raise ValueError(
                f'cannot make {name!r} ({type(conv).__name__}) a TAdaConv2d: '
                'only a plain nn.Conv2d with a k x k kernel, k > 1 (a '
                'subclass with its own forward would change what it '
                'computes)')
        try:
            tada = TAdaConv2d.from_conv2d(conv, self.num_segments,
                                          self.calibration_reduction,
                                          self.calibration_kernels)
        except ValueError as error:
            raise ValueError(f'TAdaConv2d at {name!r}: {error}') from None
        found = norm_after(self.backbone, name) if self.aggregation else None
        set_module(self.backbone, name, tada)
        norm_name = None
        if found is not None:
            norm_name, norm = found
            wrapper = TemporalAggregation(norm, self.num_segments,
                                          self.pool_kernel)
            set_module(self.backbone, norm_name, wrapper)
            self.replaced.append((norm_name, wrapper))
        self.tada_convs.append((name, norm_name))

    def init_weights(self):
        """The library's init (with the aggregations taken out), then TAda
        starts as its 2D network: calibration 1, ``norm'`` 0."""
        super().init_weights()
        self.reset_to_identity()

    def reset_to_identity(self):
        for module in self.backbone.modules():
            if isinstance(module, TAdaConv2d):
                module.calibration.reset_to_identity()
            elif isinstance(module, TemporalAggregation):
                module.reset_to_identity()

    def placement_table(self):
        """One row per TAdaConv2d: where, its kernel and groups, channels
        calibrated, the aggregation after it."""
        rows = []
        for name, norm_name in self.tada_convs:
            conv = get_module(self.backbone, name)
            after = '-'
            if norm_name is not None:
                wrapper = get_module(self.backbone, norm_name)
                after = f'{norm_name}: {wrapper.describe()}'
            kernel = 'x'.join(map(str, conv.kernel_size))
            kind = ('depthwise' if conv.groups == conv.in_channels > 1 else
                    f'groups={conv.groups}' if conv.groups > 1 else 'dense')
            rows.append((name, f'{kernel} {kind}', str(conv.in_channels),
                         str(conv.in_channels // self.calibration_reduction),
                         after))
        return text_table(
            f'{type(self).__name__} over {type(self.backbone).__name__} '
            f'({self.source}), T={self.num_segments}, '
            f'pool_kernel={self.pool_kernel}',
            ('module', 'conv', 'channels calibrated', 'hidden', 'aggregation'),
            rows, f'{len(rows)} TAdaConv2d, {len(self.replaced)} aggregations')
