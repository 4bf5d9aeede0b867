from .mobilenet_v2_tsm import MobileNetV2TSM
from .resnet_tada import ResNetTAda
from .resnet_tsm import ResNetTSM

__all__ = ['MobileNetV2TSM', 'ResNetTAda', 'ResNetTSM']
