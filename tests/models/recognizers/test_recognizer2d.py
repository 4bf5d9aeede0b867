import pytest
from mmengine.registry import DefaultScope
from mmaction.registry import MODELS

import tsm_plugin  # noqa: F401


def recognizer(backbone_segments, head_segments, temporal_pool=False):
    return dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(type='tsm_plugin.ResNetTSM', depth=18,
                      num_segments=backbone_segments, temporal_pool=temporal_pool),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=3, in_channels=512,
                      num_segments=head_segments),
        data_preprocessor=dict(type='ActionDataPreprocessor', format_shape='NCHW'))


def test_backbone_and_head_num_segments_must_agree():
    with DefaultScope.overwrite_default_scope('tsm_plugin'):
        MODELS.build(recognizer(8, 8))
        with pytest.raises(ValueError, match='backbone num_segments=8 but '
                           'cls_head num_segments=4'):
            MODELS.build(recognizer(8, 4))
        with pytest.raises(ValueError, match='temporal_pool'):
            MODELS.build(recognizer(8, 8, temporal_pool=True))
