from .clip_2d import Clip2DBackbone
from .mobilenet_v2_tsm import MobileNetV2TSM
from .resnet_tada import ResNetTAda
from .resnet_tsm import ResNetTSM
from .tsm_backbone import TSMBackbone

__all__ = ['Clip2DBackbone', 'MobileNetV2TSM', 'ResNetTAda', 'ResNetTSM',
           'TSMBackbone']
