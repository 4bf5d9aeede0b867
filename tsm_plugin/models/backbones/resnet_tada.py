"""``ResNetTAda`` (TAda2D): MMAction2's ResNet with temporally-adaptive convs.

A subclass of ``mmaction.models.ResNet``. In every block, the 3x3 conv that
carries the stride (Bottleneck: ``conv2``; BasicBlock, R18/R34: ``conv1``)
becomes a ``TAdaConv2d`` followed by TAda2D's temporal aggregation. Module
and parameter names of the 2D ResNet are kept, so its weights load unchanged
and the calibration and aggregation layers are the only additions.

``layout='official'`` builds TAda2D-R50 as the official code does
(alibaba-mmai-research/TAdaConv, ``configs/pool/backbone/tada2d.yaml``:
``Base2DStem`` and ``DOWNSAMPLING: [true] * 5``): the stem's 7x7 conv at
stride 2 and no max-pool, and the first block of every stage strided, layer1.0
included (its 3x3 TAdaConv and its shortcut). Same parameters and output size
as MMAction2's layout, a different function. ``tada_init='official'`` (the
default with that layout) initialises as the official code does, see
``TAdaConvModule.init_official``.
"""
import copy
import math

from mmaction.models.backbones.resnet import Bottleneck, ResNet
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from ...ops.tadaconv import (TAdaConv2d, check_calibration_args,
                             check_num_segments, tada_aggregation)
from ...registry import MODELS
from ..blocks import text_table
from .clip_mixin import ClipBackboneMixin
from .resnet_args import check_pretrained2d
from .resnet_tsm import resolve_torchvision_checkpoint, torchvision_to_mmaction


class TAdaConvModule(nn.Module):
    """``ConvModule(conv, bn, relu)`` turned into TAda2D's
    ``relu(BN(y) + BN'(AvgPool_t(y)))`` with ``y = TAdaConv2d(x)``.

    ``conv`` and ``bn`` keep the ConvModule's names (and parameters); ``BN'``
    (``pool_bn``) starts at zero, so a fresh module computes what the
    ConvModule did.
    """

    def __init__(self, conv_module, num_segments, reduction, kernels,
                 pool_kernel):
        super().__init__()
        self.num_segments = num_segments
        self.pool_kernel = pool_kernel
        self.conv = TAdaConv2d.from_conv2d(conv_module.conv, num_segments,
                                           reduction, kernels)
        self.bn = conv_module.norm
        # a copy of the block's norm (BN, SyncBN, ...), reset, then zeroed
        self.pool_bn = copy.deepcopy(conv_module.norm)
        self.pool_bn.reset_parameters()
        self.activate = conv_module.activate \
            if conv_module.with_activation else nn.Identity()
        self.init_tada(identity=True)

    def init_tada(self, identity=True):
        """``identity``: calibration 1 and ``BN'`` 0, the module computes its
        2D ConvModule. Else a random calibration (PyTorch's default init of
        its last conv) and ``BN'`` at 1: both active from the start."""
        nn.init.zeros_(self.pool_bn.bias)
        if identity:
            self.conv.calibration.reset_to_identity()
            nn.init.zeros_(self.pool_bn.weight)
        else:
            self.conv.calibration.temporal_conv2.reset_parameters()
            nn.init.ones_(self.pool_bn.weight)

    def init_official(self):
        """The official code's init of what differs from MMAction2's
        (TAdaConv repo, ``models/utils/init_helper.py``
        ``_init_convnet_weights``, ``models/module_zoo/ops/tadaconv.py``):

        - the generator's convs (``nn.Conv3d`` there) are Kaiming-normal,
          fan out, ReLU gain, with zero bias (here ``nn.Conv1d``, which
          MMAction2's init leaves at PyTorch's default);
        - the base weight is not an ``nn.Conv3d`` there, so it keeps its own
          ``kaiming_uniform_(a=sqrt(5))``, drawn on its official shape
          ``(1, 1, C_out, C_in // groups, kh, kw)``: fan in
          ``C_out * C_in // groups * kh * kw``, so a bound of
          ``1 / sqrt(weight.numel())`` (MMAction2's: Kaiming normal).

        The rest (calibration 1, ``BN'`` 0, every other conv Kaiming-normal
        fan out, norms 1 and 0) is the same in both; ``init_tada`` sets it.
        """
        generator = self.conv.calibration
        for conv in (generator.global_proj, generator.temporal_conv1):
            nn.init.kaiming_normal_(conv.weight, mode='fan_out',
                                    nonlinearity='relu')
            nn.init.zeros_(conv.bias)
        weight = self.conv.weight
        nn.init.kaiming_uniform_(weight.view(1, 1, *weight.shape),
                                 a=math.sqrt(5))

    def forward(self, x):
        return self.activate(tada_aggregation(
            self.conv(x), self.bn, self.pool_bn, self.num_segments,
            self.pool_kernel))


@MODELS.register_module()
class ResNetTAda(ClipBackboneMixin, ResNet):
    """TAda2D: a ResNet whose 3x3 convs adapt their weights frame by frame.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): frames per clip (T); the input holds ``N*T``
            frames. Default 8.
        calibration_reduction (int): hidden channels of each calibration
            generator are ``C // calibration_reduction``. Default 4.
        calibration_kernels (tuple[int, int]): temporal kernels of its two 1D
            convs (odd). Default ``(3, 3)``.
        pool_kernel (int): temporal kernel of the aggregation's average pool
            (odd). Default 3.
        pretrained (str, optional): ``None`` for random init; a torchvision
            ResNet state dict (path or ``'torchvision://resnetXX'``, resolved
            in the local torch hub cache) when ``pretrained2d``; else a
            checkpoint of this backbone, loaded as it is.
        pretrained2d (bool): ``pretrained`` holds 2D torchvision weights.
            Default True.
        identity_init (bool): ``init_weights`` starts TAda as its 2D ResNet
            (calibration 1, ``BN'`` 0), as TAda2D does. ``False``: random
            calibration and ``BN'`` at 1, already temporal at the start (the
            demo trains from scratch with the default). Default True.
        layout (str): ``'mmaction'``: MMAction2's ResNet (stem conv, max-pool
            3x3/2, layer1.0 at stride 1). ``'official'``: the official
            TAda2D (stem conv, no max-pool, layer1.0 at stride 2: its 3x3
            and its shortcut); bottleneck depths (50, 101, 152) only, as
            the official code, and ``strides`` is then fixed. The shipped
            R50 TAda2D configs use ``'official'``. Default ``'mmaction'``.
        tada_init (str, optional): ``'mmaction'`` (MMAction2's ResNet init
            for every Conv2d, the generator's Conv1ds at PyTorch's default)
            or ``'official'`` (see ``TAdaConvModule.init_official``); applied
            by ``init_weights`` before 2D weights are loaded. Default: the
            same as ``layout``.
        **kwargs: every argument of MMAction2's ``ResNet`` (``frozen_stages``,
            ``norm_eval``, ``partial_bn``, ``with_cp``, ``out_indices``, ...).
    """

    LAYOUTS = ('mmaction', 'official')

    def __init__(self,
                 depth,
                 num_segments=8,
                 calibration_reduction=4,
                 calibration_kernels=(3, 3),
                 pool_kernel=3,
                 pretrained=None,
                 pretrained2d=True,
                 identity_init=True,
                 layout='mmaction',
                 tada_init=None,
                 **kwargs):
        check_num_segments(num_segments)
        tada_init = layout if tada_init is None else tada_init
        for arg, value in (('layout', layout), ('tada_init', tada_init)):
            if value not in self.LAYOUTS:
                raise ValueError(f'{arg} must be one of {self.LAYOUTS}, '
                                 f'got {value!r}')
        pretrained2d = check_pretrained2d(pretrained2d)
        check_calibration_args(64, calibration_reduction, calibration_kernels)
        if not (isinstance(pool_kernel, int) and not isinstance(pool_kernel, bool)
                and pool_kernel >= 1 and pool_kernel % 2):
            raise ValueError(
                f'pool_kernel must be an odd positive int, got {pool_kernel!r}')
        if depth not in self.arch_settings:
            raise ValueError(f'depth must be one of {sorted(self.arch_settings)}'
                             f', got {depth!r}')
        if layout == 'official':
            if self.arch_settings[depth][0] is not Bottleneck:
                raise ValueError(
                    f"layout='official' needs a bottleneck depth (50, 101, "
                    f"152; the official code has no basic-block TAda2D), got "
                    f"depth={depth!r}")
            if 'strides' in kwargs:
                raise ValueError(
                    f"layout='official' fixes strides to (2, 2, 2, 2), got "
                    f"strides={kwargs['strides']!r}")
            kwargs['strides'] = (2, 2, 2, 2)
        super().__init__(depth, **kwargs)
        if layout == 'official':
            self.maxpool = nn.Identity()  # no parameters: names unchanged
        self.layout = layout
        self.tada_init = tada_init
        self.pretrained = pretrained  # loaded by init_weights, see there
        self.pretrained2d = pretrained2d
        self.identity_init = identity_init
        self.num_segments = num_segments
        self.calibration_reduction = calibration_reduction
        self.calibration_kernels = tuple(calibration_kernels)
        self.pool_kernel = pool_kernel
        self.make_tada()

    def make_tada(self):
        """Each block's strided 3x3 ConvModule -> ``TAdaConvModule``."""
        name = 'conv2' if self.block is Bottleneck else 'conv1'
        for layer_name in self.res_layers:
            for block in getattr(self, layer_name):
                setattr(block, name, TAdaConvModule(
                    getattr(block, name), self.num_segments,
                    self.calibration_reduction, self.calibration_kernels,
                    self.pool_kernel))

    def placement_table(self):
        """One row per TAdaConv2d: where, its kernel, channels calibrated."""
        rows = [(name, 'x'.join(map(str, m.conv.kernel_size)),
                 str(m.conv.in_channels),
                 str(m.conv.in_channels // self.calibration_reduction),
                 "BN(y) + BN'(AvgPool_t(y))")
                for name, m in self.named_modules()
                if isinstance(m, TAdaConvModule)]
        return text_table(
            f'ResNetTAda depth={self.depth}, T={self.num_segments}',
            ('module', 'conv', 'channels calibrated', 'hidden', 'aggregation'),
            rows, f'{len(rows)} TAdaConv2d')

    def init_weights(self):
        """Random init (``pretrained=None``), 2D ImageNet weights, or a checkpoint.

        Except from a checkpoint of this backbone, TAda starts as its 2D
        ResNet (``identity_init``): ResNet's init sets every BatchNorm2d to 1,
        so ``BN'`` and the calibration are set afterwards.
        """
        pretrained, self.pretrained = self.pretrained, None
        own_checkpoint = bool(pretrained) and not self.pretrained2d
        if own_checkpoint:
            self.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        try:
            super().init_weights()
        finally:
            self.pretrained = pretrained
        if own_checkpoint:
            return
        for module in self.modules():
            if isinstance(module, TAdaConvModule):
                module.init_tada(identity=self.identity_init)
                if self.tada_init == 'official':
                    module.init_official()
        if pretrained:
            self.load_2d_weights(pretrained)

    def load_2d_weights(self, pretrained):
        """Load a torchvision 2D ResNet state dict (same names as ours)."""
        path = resolve_torchvision_checkpoint(pretrained)
        state = _load_checkpoint(path, map_location='cpu')
        state = state.get('state_dict', state)
        own = self.state_dict()
        mapped = {torchvision_to_mmaction(k): v for k, v in state.items()}
        unused = sorted(k for k in mapped if k not in own)
        result = self.load_state_dict(
            {k: v for k, v in mapped.items() if k in own}, strict=False)
        MMLogger.get_current_instance().info(
            f'ResNetTAda: loaded {len(mapped) - len(unused)} tensors from '
            f'{path}; not in the checkpoint (TAda layers): '
            f'{len(result.missing_keys)}; unused: {unused}')
