"""Temporal Shift Module (TSM) for MMAction2, as a plugin.

Importing the package repairs the stack (see ``stack_fixes``) and registers the
plugin's models in the ``tsm_plugin`` registry scope.
"""
from . import stack_fixes

stack_fixes.apply_all()

from .ops import TemporalShift, temporal_shift  # noqa: E402
from .models import Recognizer2D, ResNetTSM, TSMHead  # noqa: E402
from .registry import MODELS  # noqa: E402

__version__ = '0.1.0'
__all__ = ['MODELS', 'Recognizer2D', 'ResNetTSM', 'TSMHead', 'TemporalShift', 'temporal_shift']

from .models import MobileNetV2TSM  # noqa: E402
__all__ += ['MobileNetV2TSM']
