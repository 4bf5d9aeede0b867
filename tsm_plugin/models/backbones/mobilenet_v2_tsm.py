"""``MobileNetV2TSM``: MMAction2's MobileNetV2 TSM with the plugin's shift.

The paper's online/edge backbone. Same arguments, module names and state-dict
keys as ``mmaction.models.MobileNetV2TSM`` (its checkpoints load strictly), plus
``shift_mode`` and the plugin's checks.
"""
from mmaction.models.backbones.mobilenet_v2 import MobileNetV2
from mmaction.models.backbones.mobilenet_v2_tsm import \
    MobileNetV2TSM as MMActionMobileNetV2TSM

from ...ops.temporal_shift import check_shift_args
from ...registry import MODELS
from ..blocks import find_residual_blocks
from ..shift_placement import insert_shifts, placement_table
from .clip_mixin import ClipBackboneMixin
from .resnet_args import check_pretrained2d


@MODELS.register_module()
class MobileNetV2TSM(ClipBackboneMixin, MMActionMobileNetV2TSM):
    """MobileNetV2 with the Temporal Shift Module.

    The input of the first conv of each inverted residual block with an
    identity shortcut is shifted (as in MMAction2 and the original TSM).

    Args:
        num_segments (int): frames per clip (T). Default 8.
        is_shift (bool): insert temporal shifts. Default True.
        shift_div (int): 1/shift_div of the channels move each way. Default 8.
        shift_mode (str): ``'bidirectional'`` (offline) or ``'unidirectional'``
            (online: from the past only). Default ``'bidirectional'``.
        pretrained2d (bool): ``pretrained`` holds 2D MobileNetV2 weights
            (e.g. ``'mmcls://mobilenet_v2'``). With ``pretrained=None`` the
            net is initialised at random (MMAction2 crashes there).
        **kwargs: every argument of MMAction2's ``MobileNetV2``
            (``pretrained``, ``widen_factor``, ``norm_eval``, ...).
    """

    def __init__(self, num_segments=8, is_shift=True, shift_div=8,
                 shift_mode='bidirectional', pretrained2d=True, **kwargs):
        check_shift_args(num_segments, shift_div, shift_mode)
        pretrained2d = check_pretrained2d(pretrained2d)
        # Read by make_temporal_shift, which MMAction2's __init__ calls.
        self.shift_mode = shift_mode
        super().__init__(num_segments=num_segments, is_shift=is_shift,
                         shift_div=shift_div, pretrained2d=pretrained2d,
                         **kwargs)

    def make_temporal_shift(self):
        """Wrap conv[0] (the first ConvModule) of each residual block, keeping
        the child name ``net`` (keys ``layerX.i.conv.0.net.conv.weight``, as
        MMAction2's), by the plugin's one placement mechanism."""
        targets = [b.branch_conv.rpartition('.')[0]
                   for b in find_residual_blocks(self)]
        insert_shifts(self, targets, self.num_segments, self.shift_div,
                      self.shift_mode)

    def placement_table(self):
        """Where each shift went, the channels in and the channels moved."""
        return placement_table(
            self, f'MobileNetV2TSM, shift_mode={self.shift_mode!r}')

    def init_weights(self):
        if self.pretrained2d and self.pretrained is None:
            MobileNetV2.init_weights(self)  # nothing to inflate: random init
        else:
            super().init_weights()
