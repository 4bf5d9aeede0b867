"""``TSMBackbone``: the temporal shift in any 2D backbone."""
from ...ops.temporal_shift import check_shift_args
from ...registry import MODELS
from ..blocks import find_residual_blocks, match_modules
from ..shift_placement import (check_shift_place, insert_shifts,
                               placement_table, shift_targets)
from .clip_wrapper import Clip2DBackbone
from .resnet_args import check_bools


@MODELS.register_module()
class TSMBackbone(Clip2DBackbone):
    """Temporal shifts in any 2D backbone (TSM, ICCV 2019).

    Args:
        backbone (dict): the 2D network (see ``Clip2DBackbone``), e.g.
            ``dict(type='timm.mobilenetv3_large_100', pretrained=True)``.
        num_segments (int): frames per clip (T). Default 8.
        shift_div (int): 1/shift_div of the channels move each way. Default 8.
        shift_mode (str): ``'bidirectional'`` (offline) or
            ``'unidirectional'`` (online: from the past only).
        shift_place (str): ``'blockres'``: in front of the first conv of each
            residual branch (the identity path unshifted); ``'block'``: the
            whole block input. Blocks are found by
            ``tsm_plugin.models.blocks.find_residual_blocks``.
        shift_modules (str, optional): a regular expression over module
            names of the 2D network (``re.fullmatch``): shift in front of
            exactly those modules instead (``shift_place`` is then unused).
        is_shift (bool): ``False`` gives TSN on the same backbone.
        lean_shift (bool): in front of a plain ``nn.Conv2d``, keep no
            shifted copy for backward (see ``ops.TemporalShift``).

    ``placement_table()`` (or ``python -m tsm_plugin.tools.placement CONFIG``)
    shows where each shift went; a rule or pattern that finds nothing is a
    ``ValueError``.
    """

    def __init__(self, backbone, num_segments=8, shift_div=8,
                 shift_mode='bidirectional', shift_place='blockres',
                 shift_modules=None, is_shift=True, lean_shift=True):
        check_shift_args(num_segments, shift_div, shift_mode)
        check_shift_place(shift_place)
        check_bools(is_shift=is_shift, lean_shift=lean_shift)
        if shift_modules is not None and not isinstance(shift_modules, str):
            raise ValueError('shift_modules must be None or a regular '
                             f'expression string, got {shift_modules!r}')
        super().__init__(backbone, num_segments)
        self.shift_div = shift_div
        self.shift_mode = shift_mode
        self.shift_place = shift_place
        self.shift_modules = shift_modules
        self.is_shift = is_shift
        if is_shift:
            self.replaced = insert_shifts(
                self.backbone, self._targets(backbone), num_segments,
                shift_div, shift_mode, lean=lean_shift)

    def _targets(self, cfg):
        what = f"backbone {cfg.get('type')!r} ({type(self.backbone).__name__})"
        if self.shift_modules is not None:
            targets = match_modules(self.backbone, self.shift_modules)
            if not targets:
                raise ValueError(
                    f'shift_modules={self.shift_modules!r} matches no module '
                    f'of {what}; its module names: print(model.backbone)')
            return targets
        blocks = find_residual_blocks(self.backbone)
        if not blocks:
            raise ValueError(
                f'found no residual block in {what}, so there is nowhere to '
                'put a shift by the rule; name the modules to shift with '
                "shift_modules=r'...' (a regular expression over module names)")
        return shift_targets(blocks, self.shift_place)

    def placement_table(self):
        """Where each shift went, the channels in and the channels moved."""
        if not self.is_shift:
            return f'{type(self).__name__}: is_shift=False, no shift (TSN)'
        return placement_table(
            self, f'{type(self).__name__} over {type(self.backbone).__name__} '
            f'({self.source}), shift_mode={self.shift_mode!r}, '
            f'shift_div={self.shift_div}')
