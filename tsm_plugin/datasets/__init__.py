"""The plugin's datasets (registry scope ``tsm_plugin``).

Importing this package also makes MMAction2's dataset registry build the
plugin's ``VideoDataset`` for ``type='VideoDataset'`` (and
``'mmaction.VideoDataset'``): a subclass with the same arguments and samples
that names a bad video by file, label and annotation line. Stock configs get
it through ``custom_imports = dict(imports=['tsm_plugin'])``, without change.
``mmaction.datasets.VideoDataset`` itself is not modified.

Likewise ``type='PackActionInputs'`` builds the plugin's ``PackActionInputs``
(``transforms``): MMAction2's, whose samples always keep ``num_clips`` and
``clip_len``, which the plugin's models check against ``num_segments``.
"""
from mmaction.registry import DATASETS as MMACTION_DATASETS

from .transforms import PackActionInputs, use_plugin_pack_action_inputs
from .video_dataset import BadVideoError, VideoDataset


def use_plugin_video_dataset():
    """Point MMAction2's ``VideoDataset`` registry entry at the plugin's.

    ``mmaction.datasets`` (which registers the original) is imported by
    ``video_dataset`` first, so its registration cannot undo this one.
    """
    MMACTION_DATASETS.register_module(
        name='VideoDataset', module=VideoDataset, force=True)


use_plugin_video_dataset()
use_plugin_pack_action_inputs()

__all__ = ['BadVideoError', 'PackActionInputs', 'VideoDataset',
           'use_plugin_pack_action_inputs', 'use_plugin_video_dataset']
