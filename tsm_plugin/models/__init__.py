from .backbones import ResNetTSM
from .heads import TSMHead
from .recognizers import Recognizer2D

__all__ = ['Recognizer2D', 'ResNetTSM', 'TSMHead']
from .backbones import ResNetTAda  # noqa: E402
__all__ += ['ResNetTAda']
