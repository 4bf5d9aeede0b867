"""``MobileOneTSM``: MMAction2's MobileOne TSM with the plugin's shift.

Same arguments, module names and state-dict keys as
``mmaction.models.MobileOneTSM`` (its checkpoints, deploy ones included, load
strictly), plus ``shift_mode`` and the plugin's checks. MobileOne is
mmpretrain's, so importing this module imports mmpretrain (the ``zoo`` extra);
``import tsm_plugin`` does not: the registry entry ``tsm_plugin.MobileOneTSM``
imports this module when it builds (``mobileone_tsm_registration.py``).
"""
from mmaction.models.backbones.mobileone_tsm import \
    MobileOneTSM as MMActionMobileOneTSM
from mmpretrain.models.backbones.mobileone import MobileOne
from torch import nn

from ...ops.temporal_shift import check_shift_args
from ..shift_placement import insert_shifts, placement_table
from .clip_mixin import ClipBackboneMixin


class Unshifted(nn.Module):
    """``net`` unchanged, under the child name ``net``: stands for a shift that
    would move no channel (``in_channels // shift_div == 0``), so the keys stay
    ``...net.*`` as in MMAction2, whose shift of such an input is the identity."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)


class MobileOneTSM(ClipBackboneMixin, MMActionMobileOneTSM):
    """MobileOne with the Temporal Shift Module, re-parameterisable.

    As in MMAction2, the input of every MobileOne block is shifted (stem block
    ``stage0`` included): a block's branches (k x k, 1 x 1 and BN-only) are
    fused into one conv by ``switch_to_deploy()``, which a shift inside the
    block would prevent. The shift stays where it is when the blocks are
    re-parameterised, so eval outputs do not change (to float rounding).

    Args:
        arch (str | dict): ``'s0'`` ... ``'s4'`` or a dict, as mmpretrain's
            ``MobileOne``.
        num_segments (int): frames per clip (T). Default 8.
        is_shift (bool): insert temporal shifts. Default True.
        shift_div (int): 1/shift_div of the channels move each way. Default 8.
        shift_mode (str): ``'bidirectional'`` (offline) or ``'unidirectional'``
            (online: from the past only). Default ``'bidirectional'``.
        pretrained2d (bool): ``init_cfg=dict(type='Pretrained', ...)`` holds 2D
            MobileOne weights, loaded strictly under the shifted names (as
            MMAction2). Without a ``Pretrained`` init_cfg the net is
            initialised by MobileOne's own init (MMAction2 crashes there).
        **kwargs: every other argument of mmpretrain's ``MobileOne``
            (``out_indices`` with one index, ``frozen_stages``, ``deploy``,
            ``norm_eval``, ``init_cfg``, ...).
    """

    def __init__(self, arch, num_segments=8, is_shift=True, shift_div=8,
                 shift_mode='bidirectional', pretrained2d=True, **kwargs):
        check_shift_args(num_segments, shift_div, shift_mode)
        check_mobileone_args(arch, **kwargs)
        # Read by make_temporal_shift, which MMAction2's __init__ calls.
        self.shift_mode = shift_mode
        super().__init__(arch, num_segments=num_segments, is_shift=is_shift,
                         shift_div=shift_div, pretrained2d=pretrained2d,
                         **kwargs)

    def make_temporal_shift(self):
        """Wrap every block (``stage0``, ``stageX.i``) with the child name
        ``net`` (keys ``stageX.i.net.*``, as MMAction2's), by the plugin's
        one placement mechanism."""
        targets = [f'stage{i}.{j}' for i in range(1, 5)
                   for j in range(len(getattr(self, f'stage{i}')))]
        if self.stage0.in_channels // self.shift_div == 0:
            self.stage0 = Unshifted(self.stage0)  # RGB: 3 channels
        else:
            targets.insert(0, 'stage0')
        insert_shifts(self, targets, self.num_segments, self.shift_div,
                      self.shift_mode)

    def placement_table(self):
        """Where each shift went, the channels in and the channels moved."""
        return placement_table(
            self, f'MobileOneTSM, shift_mode={self.shift_mode!r}, '
            f'shift_div={self.shift_div}')

    def init_weights(self):
        pretrained = isinstance(self.init_cfg, dict) and \
            self.init_cfg.get('type') == 'Pretrained'
        if self.pretrained2d and not pretrained:
            MobileOne.init_weights(self)  # nothing to inflate: its own init
        else:
            super().init_weights()

    def switch_to_deploy(self):
        """Fuse each block's branches into one conv (mmpretrain's
        re-parameterisation), shifts kept in front of the blocks; returns
        the module. Call it in eval mode: BN statistics are folded in."""
        super().switch_to_deploy()
        return self


def check_mobileone_args(arch, out_indices=(3, ), frozen_stages=-1, **_):
    """One clear ``ValueError`` for what MobileOne would assert on, or fail
    on later (MMAction2's forward wants a single output)."""
    if isinstance(arch, str) and arch not in MobileOne.arch_zoo:
        raise ValueError(f'arch must be one of {sorted(MobileOne.arch_zoo)} '
                         f'or a dict, got {arch!r}')
    indices = [out_indices] if isinstance(out_indices, int) else out_indices
    if len(indices) != 1 or indices[0] not in (-4, -3, -2, -1, 0, 1, 2, 3):
        raise ValueError(
            f'out_indices must name one stage (0..3, e.g. the default (3,)): '
            f'MobileOneTSM returns one feature map, got {out_indices!r}')
    if isinstance(frozen_stages, bool) or not isinstance(frozen_stages, int) \
            or not -1 <= frozen_stages <= 4:
        raise ValueError(
            f'frozen_stages must be an int in -1..4, got {frozen_stages!r}')
