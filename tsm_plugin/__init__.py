"""Temporal Shift Module (TSM) for MMAction2, as a plugin.

Importing the package filters the stack's known-harmless warnings (see
``quiet``), repairs the stack (see ``stack_fixes``) and registers the plugin's
models in the ``tsm_plugin`` registry scope.
"""
from . import quiet

quiet.filter_harmless_warnings()  # before mmcv prints one on import

from . import stack_fixes  # noqa: E402

stack_fixes.apply_all()

from .ops import TAdaConv2d, TemporalShift, temporal_shift  # noqa: E402
from .models import (MobileNetV2TSM, Recognizer2D, ResNetTAda,  # noqa: E402
                     ResNetTSM, TSMBackbone, TSMHead)
from .registry import MODELS  # noqa: E402
# VideoDataset naming bad videos by file and line, PackActionInputs keeping
# num_clips/clip_len (both also MMAction2's registry entries)
from . import datasets  # noqa: E402,F401
from .datasets import PackActionInputs  # noqa: E402

__version__ = '0.1.0'
__all__ = ['MODELS', 'MobileNetV2TSM', 'PackActionInputs', 'Recognizer2D',
           'ResNetTAda', 'ResNetTSM', 'TAdaConv2d', 'TSMBackbone', 'TSMHead',
           'TemporalShift',
           'temporal_shift']
