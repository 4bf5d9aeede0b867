"""The plugin's registries: children of MMAction2's, scope ``tsm_plugin``.

``mmaction.registry.MODELS.build(dict(type='tsm_plugin.ResNetTSM'))`` finds the
plugin's classes here; unscoped names in plugin configs fall back to the parent,
so MMAction2's own modules (and its own ``ResNetTSM``/``TSMHead``) stay reachable
and untouched.
"""
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.registry import TRANSFORMS as MMACTION_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMACTION_MODELS,
    scope='tsm_plugin',
    locations=['tsm_plugin.models'])

# The plugin's dataset registry: a child of MMAction2's, scope ``tsm_plugin``
# (``tsm_plugin.VideoDataset``: see ``tsm_plugin.datasets``).
from mmaction.registry import DATASETS as MMACTION_DATASETS  # noqa: E402

DATASETS = Registry(
    'dataset',
    parent=MMACTION_DATASETS,
    scope='tsm_plugin',
    locations=['tsm_plugin.datasets'])

# Data transforms (``tsm_plugin.PackActionInputs``).
TRANSFORMS = Registry(
    'transform',
    parent=MMACTION_TRANSFORMS,
    scope='tsm_plugin',
    locations=['tsm_plugin.datasets'])
