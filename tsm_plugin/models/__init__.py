from .backbones import MobileNetV2TSM, ResNetTAda, ResNetTSM
from .heads import TSMHead
from .recognizers import Recognizer2D

__all__ = ['MobileNetV2TSM', 'Recognizer2D', 'ResNetTAda', 'ResNetTSM', 'TSMHead']
