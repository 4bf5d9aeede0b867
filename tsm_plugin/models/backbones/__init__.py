from .resnet_tsm import ResNetTSM

__all__ = ['ResNetTSM']

from .mobilenet_v2_tsm import MobileNetV2TSM  # noqa: E402
__all__ += ['MobileNetV2TSM']
