from .lean_shift_conv import lean_shift_conv2d
from .shift_module import TemporalShift
from .temporal_shift import SHIFT_MODES, temporal_shift

__all__ = ['SHIFT_MODES', 'TemporalShift', 'lean_shift_conv2d', 'temporal_shift']
from .tadaconv import CalibrationGenerator, TAdaConv2d, temporal_avg_pool  # noqa: E402
__all__ += ['CalibrationGenerator', 'TAdaConv2d', 'temporal_avg_pool']
