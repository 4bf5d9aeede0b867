"""``Recognizer2D``: MMAction2's, checking that backbone, head and data agree."""
from mmaction.models.backbones import MobileNetV2, ResNet
from mmaction.models.recognizers import Recognizer2D as MMActionRecognizer2D

from ...registry import MODELS
from ..backbones import Clip2DBackbone
from ..clip_layout import check_clip_layout


@MODELS.register_module()
class Recognizer2D(MMActionRecognizer2D):
    """MMAction2's ``Recognizer2D`` (same keys, same behaviour).

    At build time it refuses a backbone and a head whose ``num_segments`` (or
    ``temporal_pool``) differ: such a pair would silently regroup frames; a
    head whose ``in_channels`` differ from the backbone's output channels
    (MMAction2's ResNet and MobileNetV2 families), which would fail at the
    first forward inside torch; and, without a neck, a backbone with several
    ``out_indices`` (a tuple of features, which no head takes). In
    ``loss`` and ``predict`` (``train_step``/``val_step``/``test_step``) it
    refuses, before running the backbone, samples whose pipeline sampled
    ``num_clips x clip_len`` frames per view other than ``num_segments`` (see
    ``tsm_plugin.models.clip_layout``; the samples must record ``num_clips``
    and ``clip_len``, as ``tsm_plugin.PackActionInputs`` does; without them it
    logs once that it cannot check).
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
        out_indices = getattr(self.backbone, 'out_indices', None)
        if head is not None and not self.with_neck \
                and out_indices is not None and len(out_indices) != 1:
            raise ValueError(
                f'backbone out_indices={tuple(out_indices)!r} makes it return '
                f'{len(out_indices)} feature maps, but cls_head takes one: '
                'give one index (e.g. the default (3,)) or add a neck')
        channels = backbone_out_channels(self.backbone)
        in_channels = getattr(head, 'in_channels', None)
        if None not in (channels, in_channels) and channels != in_channels:
            raise ValueError(
                f'cls_head in_channels={in_channels} but the backbone '
                f'({describe(self.backbone)}) outputs {channels} channels: set '
                f'cls_head in_channels={channels}')

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


def backbone_out_channels(backbone):
    """Channels of the backbone's single output: ``out_channels`` of the
    plugin's any-backbone wrappers, MMAction2's ResNet and MobileNetV2
    families (plugin subclasses included); None when unknown."""
    if isinstance(backbone, Clip2DBackbone):
        return backbone.out_channels
    out_indices = getattr(backbone, 'out_indices', ())
    if len(out_indices) != 1:
        return None
    index = out_indices[0]
    if isinstance(backbone, ResNet):
        return 64 * 2**index * backbone.block.expansion
    if isinstance(backbone, MobileNetV2) and index == len(backbone.layers) - 1:
        return backbone.out_channel  # the last layer: its 1x1 conv
    return None


def describe(backbone):
    """``ResNetTSM, depth=18`` for the messages."""
    depth = getattr(backbone, 'depth', None)
    name = type(backbone).__name__
    return name if depth is None else f'{name}, depth={depth}'
