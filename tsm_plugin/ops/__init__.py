"""The temporal shift, to be read in this order:

1. ``temporal_shift.py``: the op, a pure function, and its adjoint (backward).
2. ``lean_shift_conv.py``: shift, then a conv, as one autograd Function that
   keeps only the unshifted input and recomputes the shift in backward.
3. ``shift_module.py``: ``TemporalShift``, whose ``path`` picks one of them.
4. ``shift_conv_op.py``: (2) as a custom op, what ``torch.compile`` records.
"""
from .lean_shift_conv import lean_shift_conv2d
from .shift_module import TemporalShift
from .temporal_shift import SHIFT_MODES, temporal_shift

__all__ = ['SHIFT_MODES', 'TemporalShift', 'lean_shift_conv2d', 'temporal_shift']
from .tadaconv import CalibrationGenerator, TAdaConv2d, temporal_avg_pool  # noqa: E402
__all__ += ['CalibrationGenerator', 'TAdaConv2d', 'temporal_avg_pool']
from .tadaconv_v2 import TAdaConv2dV2, TransformerCalibrationGenerator  # noqa: E402
__all__ += ['TAdaConv2dV2', 'TransformerCalibrationGenerator']
