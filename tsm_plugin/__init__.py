"""Temporal Shift Module (TSM) for MMAction2, as a plugin.

Importing the package filters the stack's known-harmless warnings (see
``quiet``), repairs the stack (see ``stack_fixes``), makes mmengine's runner
check a checkpoint's temporal shift (see ``models.checkpoint_meta``) and registers
the plugin's models in the ``tsm_plugin`` registry scope.
"""
from . import quiet

quiet.filter_harmless_warnings()  # before mmcv prints one on import

from . import stack_fixes  # noqa: E402

stack_fixes.apply_all()

from .models import checkpoint_meta  # noqa: E402

# the stock tools (tools/test.py, train.py load_from/--resume) refuse a
# checkpoint trained with another shift, as the plugin's commands do
checkpoint_meta.check_runner_checkpoints()

from .ops import TAdaConv2d, TemporalShift, temporal_shift  # noqa: E402
from .models import (MobileNetV2TSM, Recognizer2D, ResNetTAda,  # noqa: E402
                     ResNetTSM, TAdaBackbone, TSMBackbone,
                     TSMHead)
from .registry import MODELS  # noqa: E402
# VideoDataset naming bad videos by file and line, PackActionInputs keeping
# num_clips/clip_len (both also MMAction2's registry entries)
from . import datasets  # noqa: E402,F401
from .datasets import PackActionInputs  # noqa: E402


def __getattr__(name):
    # tsm_plugin.MobileOneTSM needs mmpretrain (the zoo extra): imported on
    # first access only, so that `import tsm_plugin` does not need it.
    if name == 'MobileOneTSM':
        from .models.backbones import mobileone_tsm_class
        return mobileone_tsm_class()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


__version__ = '0.1.0'
__all__ = ['MODELS', 'MobileNetV2TSM', 'PackActionInputs', 'Recognizer2D',
           'ResNetTAda', 'ResNetTSM', 'TAdaBackbone', 'TAdaConv2d',
           'TSMBackbone', 'TSMHead', 'TemporalShift', 'temporal_shift']
