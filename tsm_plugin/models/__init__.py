from .backbones import ResNetTSM
from .heads import TSMHead
from .recognizers import Recognizer2D

__all__ = ['Recognizer2D', 'ResNetTSM', 'TSMHead']

from .backbones import MobileNetV2TSM  # noqa: E402
__all__ += ['MobileNetV2TSM']
