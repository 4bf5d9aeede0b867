from .resnet_tsm import ResNetTSM

__all__ = ['ResNetTSM']
from .resnet_tada import ResNetTAda  # noqa: E402
__all__ += ['ResNetTAda']
