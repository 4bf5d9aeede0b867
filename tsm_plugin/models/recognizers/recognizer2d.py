"""``Recognizer2D``: MMAction2's, checking that backbone, head and data agree."""
from mmaction.models.recognizers import Recognizer2D as MMActionRecognizer2D

from ...registry import MODELS
from ..clip_layout import check_clip_layout


@MODELS.register_module()
class Recognizer2D(MMActionRecognizer2D):
    """MMAction2's ``Recognizer2D`` (same keys, same behaviour).

    At build time it refuses a backbone and a head whose ``num_segments`` (or
    ``temporal_pool``) differ: such a pair would silently regroup frames. In
    ``loss`` and ``predict`` (``train_step``/``val_step``/``test_step``) it
    refuses, before running the backbone, samples whose pipeline sampled
    ``num_clips x clip_len`` frames per view other than ``num_segments`` (see
    ``tsm_plugin.models.clip_layout``; needs ``'num_clips'`` and ``'clip_len'``
    in ``PackActionInputs``' ``meta_keys``, as in the plugin's configs).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        head = getattr(self, 'cls_head', None)
        for attr in ('num_segments', 'temporal_pool'):
            ours, theirs = (getattr(self.backbone, attr, None),
                            getattr(head, attr, None))
            if ours is not None and theirs is not None and ours != theirs:
                raise ValueError(
                    f'backbone {attr}={ours!r} but cls_head {attr}={theirs!r}: '
                    f'set the same {attr} in both')

    @property
    def num_segments(self):
        """Frames per clip the model expects (backbone's, else head's), or None."""
        for module in (self.backbone, getattr(self, 'cls_head', None)):
            num_segments = getattr(module, 'num_segments', None)
            if num_segments is not None:
                return num_segments
        return None

    def loss(self, inputs, data_samples, **kwargs):
        check_clip_layout(data_samples, self.num_segments, 'model')
        return super().loss(inputs, data_samples, **kwargs)

    def predict(self, inputs, data_samples, **kwargs):
        check_clip_layout(data_samples, self.num_segments, 'model')
        return super().predict(inputs, data_samples, **kwargs)
