from .clip_wrapper import Clip2DBackbone
from .mobilenet_v2_tsm import MobileNetV2TSM
from .mobileone_tsm_registration import mobileone_tsm_class
from .resnet_tada import ResNetTAda
from .resnet_tsm import ResNetTSM
from .tada_backbone import TAdaBackbone
from .tadaconvnext_v2 import TAdaConvNeXtV2
from .tsm_backbone import TSMBackbone

# MobileOneTSM (needs mmpretrain): mobileone_tsm_class(), or tsm_plugin.MobileOneTSM
__all__ = ['Clip2DBackbone', 'MobileNetV2TSM', 'ResNetTAda', 'ResNetTSM',
           'TAdaBackbone', 'TAdaConvNeXtV2', 'TSMBackbone', 'mobileone_tsm_class']
