"""TSMHead: MMAction2's behaviour, with clear errors."""
import pytest
import torch
from mmaction.models.heads import TSMHead as MMActionTSMHead
from mmaction.registry import MODELS

import tsm_plugin  # noqa: F401


def build(**kwargs):
    cfg = dict(type='tsm_plugin.TSMHead', num_classes=5, in_channels=16,
               num_segments=4, **kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('kwargs', [dict(), dict(temporal_pool=True),
                                    dict(spatial_type=None, dropout_ratio=0)])
def test_same_outputs_as_mmaction(kwargs):
    ours = build(**kwargs).eval()
    theirs = MMActionTSMHead(num_classes=5, in_channels=16, num_segments=4,
                             **kwargs).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    frames = 4 if kwargs.get('temporal_pool') else 8
    size = 3 if kwargs.get('spatial_type', 'avg') else 1
    x = torch.randn(frames, 16, size, size)
    torch.testing.assert_close(ours(x, num_segs=8), theirs(x, num_segs=8))


def test_consensus_averages_each_clip():
    head = build(dropout_ratio=0).eval()
    x = torch.randn(8, 16, 1, 1)
    per_frame = head.fc_cls(x.flatten(1))
    expected = per_frame.view(2, 4, 5).mean(1)
    torch.testing.assert_close(head(x, num_segs=4), expected)


def test_average_clips_prob_over_views():
    head = build(average_clips='prob')
    scores = torch.randn(6, 5)  # 2 samples x 3 views
    out = head.average_clip(scores, num_segs=3)
    torch.testing.assert_close(out, scores.softmax(-1).view(2, 3, 5).mean(1))


def test_unsupported_consensus_is_refused_at_build():
    with pytest.raises(ValueError, match='consensus'):
        build(consensus=dict(type='MaxConsensus'))


@pytest.mark.parametrize('kwargs,match', [
    (dict(num_segments=0), 'num_segments'),
    (dict(num_segments=3, temporal_pool=True), 'even num_segments'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='tsm_plugin.TSMHead', num_classes=5,
                          in_channels=16, **kwargs))


def test_frames_not_whole_clips_are_refused():
    head = build()
    with pytest.raises(ValueError, match='6 frame features.*4 frames per clip'):
        head(torch.randn(6, 16, 1, 1))
    with pytest.raises(ValueError, match='12 frames.*num_segments=8'):
        MODELS.build(dict(type='tsm_plugin.TSMHead', num_classes=5,
                          in_channels=16, num_segments=8))(
                              torch.randn(24, 16, 1, 1), num_segs=12)
