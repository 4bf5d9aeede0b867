"""``tsm_plugin.MobileOneTSM`` in the registry without importing mmpretrain.

MobileOne is mmpretrain's, an optional dependency (the ``zoo`` extra), and
``import tsm_plugin`` must work without it. So the registry holds a factory
that imports the class (``mobileone_tsm.py``) when a config builds it. For
``isinstance`` checks, ``tsm_plugin.MobileOneTSM`` (or
``mobileone_tsm_class()``) is the class itself, imported on first access.
"""
from ...registry import MODELS
from ..zoo import ZOO_HINT


def mobileone_tsm_class():
    """The ``MobileOneTSM`` class; an ImportError naming the extra when
    mmpretrain (or what it needs) is missing."""
    try:
        from .mobileone_tsm import MobileOneTSM
    except ImportError as err:
        raise ImportError(
            f'tsm_plugin.MobileOneTSM needs mmpretrain (MobileOne is '
            f'mmpretrain\'s), which could not be imported ({err}); install '
            f'the zoo extra: {ZOO_HINT}') from err
    return MobileOneTSM


@MODELS.register_module(name='MobileOneTSM')
def build_mobileone_tsm(*args, **kwargs):
    """Registry entry: ``mobileone_tsm_class()(*args, **kwargs)``."""
    return mobileone_tsm_class()(*args, **kwargs)
