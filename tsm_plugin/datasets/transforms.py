"""``PackActionInputs``: MMAction2's, always keeping the clip layout.

The plugin's ``Recognizer2D`` and ``TSMHead`` compare each sample's
``num_clips x clip_len`` (recorded by ``SampleFrames`` and its variants) with
the model's ``num_segments`` (see ``tsm_plugin.models.clip_layout``). MMAction2's
``PackActionInputs`` drops both unless its ``meta_keys`` name them; this one
adds them to whatever ``meta_keys`` it is given, so the check cannot be lost by
leaving a key out. Once the plugin is imported (``custom_imports``),
``type='PackActionInputs'`` in any config builds this one, as does
``type='tsm_plugin.PackActionInputs'``; MMAction2's class is not modified.
"""
from mmaction.datasets.transforms import \
    PackActionInputs as MMActionPackActionInputs
from mmaction.registry import TRANSFORMS as MMACTION_TRANSFORMS

from ..registry import TRANSFORMS

CLIP_LAYOUT_KEYS = ('num_clips', 'clip_len')


@TRANSFORMS.register_module()
class PackActionInputs(MMActionPackActionInputs):
    """MMAction2's ``PackActionInputs`` (same arguments, same outputs), whose
    data samples always carry ``num_clips`` and ``clip_len`` in their metainfo
    when the pipeline recorded them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meta_keys = tuple(self.meta_keys) + tuple(
            k for k in CLIP_LAYOUT_KEYS if k not in self.meta_keys)


def use_plugin_pack_action_inputs():
    """Point MMAction2's ``PackActionInputs`` registry entry at the plugin's.

    ``mmaction.datasets.transforms`` (which registers the original) is
    imported above, so its registration cannot undo this one.
    """
    MMACTION_TRANSFORMS.register_module(
        name='PackActionInputs', module=PackActionInputs, force=True)
