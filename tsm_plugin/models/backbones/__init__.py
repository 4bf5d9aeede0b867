from .mobilenet_v2_tsm import MobileNetV2TSM
from .mobileone_tsm_lazy import mobileone_tsm_class
from .resnet_tada import ResNetTAda
from .resnet_tsm import ResNetTSM

# MobileOneTSM (needs mmpretrain): mobileone_tsm_class(), or tsm_plugin.MobileOneTSM
__all__ = ['MobileNetV2TSM', 'ResNetTAda', 'ResNetTSM', 'mobileone_tsm_class']

