from .tsm_head import TSMHead

__all__ = ['TSMHead']
