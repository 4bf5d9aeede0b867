from .transforms import PackActionInputs

__all__ = ['PackActionInputs']
