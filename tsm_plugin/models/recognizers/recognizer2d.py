"""``Recognizer2D``: MMAction2's, plus a check that backbone and head agree."""
from mmaction.models.recognizers import Recognizer2D as MMActionRecognizer2D

from ...registry import MODELS


@MODELS.register_module()
class Recognizer2D(MMActionRecognizer2D):
    """MMAction2's ``Recognizer2D`` (same keys, same behaviour).

    At build time it refuses a backbone and a head whose ``num_segments`` (or
    ``temporal_pool``) differ: such a pair would silently regroup frames.
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
