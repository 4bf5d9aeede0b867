from .backbones import (Clip2DBackbone, MobileNetV2TSM, ResNetTAda,
                        ResNetTSM, TAdaBackbone, TSMBackbone)
from .heads import TSMHead
from .recognizers import Recognizer2D

__all__ = ['Clip2DBackbone', 'MobileNetV2TSM', 'Recognizer2D', 'ResNetTAda',
           'ResNetTSM', 'TAdaBackbone', 'TSMBackbone', 'TSMHead']
