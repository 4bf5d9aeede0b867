"""``ResNetTSM``: MMAction2's ResNet with temporal shift, temporal pool and non-local.

A subclass of ``mmaction.models.ResNet``; the structure is rewired in
``__init__`` by three small placement steps, in MMAction2's order (shift,
non-local, temporal pool), with MMAction2's module names, so model-zoo TSM
checkpoints load unchanged.
"""
import glob
import os.path as osp
import re

import torch
from mmaction.models.backbones.resnet import ResNet
from mmaction.models.backbones.resnet_tsm import \
    TemporalShift as MMAction2TemporalShift
from mmcv.cnn import NonLocal3d
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from ... import ops
from ...ops.temporal_shift import check_shift_args, is_channels_last
from ...registry import MODELS
from ..blocks import find_residual_blocks
from ..shift_placement import (check_shift_place, insert_shifts,
                               placement_table, shift_targets)
from .clip_mixin import ClipBackboneMixin
from .resnet_args import (check_bools, check_pretrained2d,
                          check_resnet_args)

# Module-name segments that wrap an original ResNet module.
WRAPPER_SEGMENTS = ('net', 'block')


class TemporalShift(ops.TemporalShift, MMAction2TemporalShift):
    """``ops.TemporalShift`` that is also an instance of MMAction2's wrapper,
    for code that looks for that with ``isinstance`` (MMAction2's own tests).
    Same child ``net``, so the same state-dict keys; the plugin's forward."""


class TemporalPool(nn.Module):
    """Max-pool over time (kernel 3, stride 2) before ``net``: T -> T/2 frames."""

    def __init__(self, net, num_segments):
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.max_pool3d = nn.MaxPool3d(
            kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))

    def forward(self, x):
        nt, c, h, w = x.shape
        t = self.num_segments
        pooled = self.max_pool3d(x.view(nt // t, t, c, h, w).transpose(1, 2))
        if is_channels_last(x):  # keep the layout: N, T/2, H, W, C in memory
            x = pooled.permute(0, 2, 3, 4, 1).reshape(nt // 2, h, w, c)
            return self.net(x.permute(0, 3, 1, 2))
        return self.net(pooled.transpose(1, 2).reshape(nt // 2, c, h, w))


class NonLocalWrapper(nn.Module):
    """A residual block followed by a 3D non-local block over each clip."""

    def __init__(self, block, channels, num_segments, non_local_cfg):
        super().__init__()
        self.block = block
        self.non_local_block = NonLocal3d(channels, **non_local_cfg)
        self.num_segments = num_segments

    def forward(self, x):
        x = self.block(x)
        nt, c, h, w = x.shape
        t = self.num_segments
        # NonLocal3d views its input (gaussian mode): it must be contiguous
        x = x.view(nt // t, t, c, h, w).transpose(1, 2).contiguous()
        x = self.non_local_block(x)
        return x.transpose(1, 2).reshape(nt, c, h, w)


@MODELS.register_module()
class ResNetTSM(ClipBackboneMixin, ResNet):
    """ResNet with the Temporal Shift Module (TSM, ICCV 2019).

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        num_segments (int): frames per clip (T). Default 8.
        is_shift (bool): insert temporal shifts. ``False`` gives TSN. Default True.
        shift_div (int): 1/shift_div of the channels move each way. Default 8.
        shift_place (str): ``'blockres'`` shifts inside the residual branch,
            before conv1 (every other block when layer3 has >= 23 blocks);
            ``'block'`` shifts the whole block input. Default ``'blockres'``.
        shift_mode (str): ``'bidirectional'`` (offline) or ``'unidirectional'``
            (online: from the past only). Default ``'bidirectional'``.
        temporal_pool (bool): max-pool time by 2 before layer2. Default False.
        non_local (Sequence): per stage, 0 or one 0/1 flag per block: which
            blocks get a non-local block after them. Default ``(0, 0, 0, 0)``.
        non_local_cfg (dict): arguments of mmcv's ``NonLocal3d``.
        pretrained (str, optional): ``None`` for random init; a torchvision
            ResNet state dict (path or ``'torchvision://resnetXX'``, resolved in
            the local torch hub cache) when ``pretrained2d``; else a checkpoint
            of this backbone, loaded as it is.
        pretrained2d (bool): ``pretrained`` holds 2D torchvision weights.
        lean_shift (bool): keep no shifted copy for backward, and shift in
            place in inference (bit-identical results; see
            ``ops.TemporalShift``).
        **kwargs: every argument of MMAction2's ``ResNet`` (``frozen_stages``,
            ``norm_eval``, ``partial_bn``, ``with_cp``, ``out_indices``, ...).
    """

    def __init__(self,
                 depth,
                 num_segments=8,
                 is_shift=True,
                 non_local=(0, 0, 0, 0),
                 non_local_cfg=dict(),
                 shift_div=8,
                 shift_place='blockres',
                 shift_mode='bidirectional',
                 temporal_pool=False,
                 pretrained=None,
                 pretrained2d=True,
                 lean_shift=True,
                 **kwargs):
        check_resnet_args(depth, **kwargs)
        pretrained2d = check_pretrained2d(pretrained2d)
        check_bools(is_shift=is_shift, temporal_pool=temporal_pool,
                    lean_shift=lean_shift)
        if pretrained is not None and not isinstance(pretrained, str):
            raise ValueError('pretrained must be None or a path/URL string, '
                             f'got {pretrained!r}')
        check_shift_place(shift_place)
        check_shift_args(num_segments, shift_div, shift_mode)
        if temporal_pool and (num_segments < 2 or num_segments % 2):
            raise ValueError('temporal_pool halves the frames: it needs an even '
                             f'num_segments >= 2, got num_segments={num_segments}')
        super().__init__(depth, **kwargs)
        self.pretrained = pretrained  # loaded by init_weights, see there
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.shift_place = shift_place
        self.shift_mode = shift_mode
        self.temporal_pool = temporal_pool
        self.non_local = non_local
        self.non_local_cfg = non_local_cfg
        self.pretrained2d = pretrained2d
        self.lean_shift = lean_shift
        non_local_stages = self._check_non_local(non_local)

        if is_shift:
            self.make_temporal_shift()
        if any(any(stage) for stage in non_local_stages):
            self.make_non_local(non_local_stages)
        if temporal_pool:
            self.layer2 = TemporalPool(self.layer2, num_segments)

    def stage_num_segments(self, stage):
        """Frames per clip seen by ``layer{stage + 1}``."""
        if self.temporal_pool and stage >= 1:
            return self.num_segments // 2
        return self.num_segments

    def _check_non_local(self, non_local):
        """Per-stage lists of 0/1 flags, one per block; ValueError otherwise."""
        # the default (0, 0, 0, 0) also fits num_stages < 4, as in MMAction2
        if len(non_local) > self.num_stages and not any(
                non_local[self.num_stages:]):
            non_local = non_local[:self.num_stages]
        if len(non_local) != self.num_stages:
            raise ValueError(
                f'non_local must give one entry per stage ({self.num_stages}), '
                f'got {len(non_local)}: {non_local!r}')
        stages = []
        for i, (flags, num_blocks) in enumerate(
                zip(non_local, self.stage_blocks)):
            if isinstance(flags, int):
                flags = [flags] * num_blocks if flags == 0 else flags
            if isinstance(flags, int) or len(flags) != num_blocks:
                raise ValueError(
                    f'non_local[{i}] must list one flag per block of '
                    f'layer{i + 1} ({num_blocks} blocks), got {flags!r}')
            stages.append(list(flags))
        return stages

    def make_temporal_shift(self):
        """Wrap each shifted block (``'block'``) or its conv1 (``'blockres'``),
        by the plugin's one placement mechanism (``shift_placement``)."""
        blocks = find_residual_blocks(self)
        if self.shift_place == 'blockres':
            # Deep nets (layer3 >= 23 blocks, i.e. R101/R152) shift every
            # other block, as MMAction2 and the original TSM do.
            every = 2 if self.num_stages >= 3 and len(self.layer3) >= 23 else 1
            blocks = [b for b in blocks
                      if int(b.name.split('.')[1]) % every == 0]
        insert_shifts(self, shift_targets(blocks, self.shift_place),
                      self.segments_of_module, self.shift_div,
                      self.shift_mode, lean=self.lean_shift,
                      wrapper=TemporalShift)

    def segments_of_module(self, name):
        """Frames per clip seen by the module ``layerX...``."""
        return self.stage_num_segments(self.res_layers.index(name.split('.')[0]))

    def placement_table(self):
        """Where each shift went, the channels in and the channels moved."""
        return placement_table(self, f'ResNetTSM depth={self.depth}, '
                               f'shift_mode={self.shift_mode!r}')

    def make_non_local(self, non_local_stages):
        """Follow each flagged block by a ``NonLocal3d`` over its clip."""
        for stage, flags in enumerate(non_local_stages):
            layer = getattr(self, self.res_layers[stage])
            channels = 64 * 2**stage * self.block.expansion
            for i, flag in enumerate(flags):
                if flag:
                    layer[i] = NonLocalWrapper(
                        layer[i], channels, self.stage_num_segments(stage),
                        self.non_local_cfg)

    def init_weights(self):
        """Random init (``pretrained=None``), 2D ImageNet weights, or a checkpoint."""
        pretrained, self.pretrained = self.pretrained, None
        if pretrained and not self.pretrained2d:
            self.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        try:
            super().init_weights()  # ResNet with pretrained=None: init_cfg
        finally:
            self.pretrained = pretrained
        if pretrained and self.pretrained2d:
            self.load_2d_weights(pretrained)

    def load_2d_weights(self, pretrained):
        """Inflate a torchvision 2D ResNet state dict into this model."""
        path = resolve_torchvision_checkpoint(pretrained)
        state = _load_checkpoint(path, map_location='cpu')
        state = state.get('state_dict', state)
        own = {unwrapped_name(k): k for k in self.state_dict()}
        mapped, unused = {}, []
        for tv_key, value in state.items():
            key = own.get(torchvision_to_mmaction(tv_key))
            if key is None:
                unused.append(tv_key)
            else:
                mapped[key] = value
        result = self.load_state_dict(mapped, strict=False)
        MMLogger.get_current_instance().info(
            f'ResNetTSM: loaded {len(mapped)} tensors from {path}; '
            f'not in the checkpoint: {result.missing_keys}; unused: {unused}')


def unwrapped_name(key):
    """``layer1.0.conv1.conv.net.weight`` -> ``layer1.0.conv1.conv.weight``."""
    return '.'.join(p for p in key.split('.') if p not in WRAPPER_SEGMENTS)


def torchvision_to_mmaction(key):
    """torchvision ResNet key -> MMAction2 ResNet key (ConvModule naming)."""
    key = re.sub(r'^conv1\.', 'conv1.conv.', key)
    key = re.sub(r'^bn1\.', 'conv1.bn.', key)
    key = re.sub(r'\.conv(\d)\.', r'.conv\1.conv.', key)
    key = re.sub(r'\.bn(\d)\.', r'.conv\1.bn.', key)
    key = key.replace('.downsample.0.', '.downsample.conv.')
    return key.replace('.downsample.1.', '.downsample.bn.')


def resolve_torchvision_checkpoint(pretrained):
    """``'torchvision://resnet50'`` -> its file in the local torch hub cache."""
    if not pretrained.startswith('torchvision://'):
        return pretrained
    name = pretrained[len('torchvision://'):]
    folder = osp.join(torch.hub.get_dir(), 'checkpoints')
    found = sorted(glob.glob(osp.join(folder, f'{name}-*.pth')))
    if not found:
        raise FileNotFoundError(
            f'pretrained={pretrained!r}: no {name}-*.pth in the torch hub cache '
            f'{folder}. This machine cannot download it: copy torchvision\'s '
            f'ImageNet file for {name} (e.g. resnet50-0676ba61.pth) there, or '
            'pass its path as `pretrained`.')
    return found[-1]
