"""StreamingRecognizer: exact against the offline model over the whole stream."""
import pytest
import torch

from tsm_plugin.online import StreamingRecognizer
from tsm_plugin.ops import TemporalShift

from online_helpers import build_recognizer, recognizer_cfg

T = 2  # num_segments the model is built (trained) with


def offline_frame_scores(state_dict, backbone, clips, **kwargs):
    """Per-frame scores of the offline model run over each whole stream as
    one clip (num_segments = L), computed here: mean pool, then fc."""
    b, length = clips.shape[:2]
    model = build_recognizer(backbone, num_segments=length,
                             state_dict=state_dict, **kwargs)
    fc = model.cls_head.fc_cls
    with torch.no_grad():
        feats = model.backbone(clips.flatten(0, 1)).mean((2, 3))
        scores = feats @ fc.weight.T + fc.bias
    return scores.view(b, length, -1)


def stream(streamer, clips):
    """(B, L, num_classes): streamer.step over the L frames of B streams."""
    streamer.reset()
    return torch.stack([streamer.step(clips[:, t])
                        for t in range(clips.shape[1])], 1)


@pytest.mark.parametrize('backbone,place,batch,length', [
    ('r18', 'blockres', 1, T),
    ('r18', 'block', 2, 3 * T),
    ('r50', 'blockres', 2, 3 * T),
    ('r50', 'block', 1, 3 * T),
    ('mbv2', None, 1, T),
    ('mbv2', None, 2, 3 * T),
])
def test_step_equals_offline_model_over_whole_stream(backbone, place, batch,
                                                     length):
    kwargs = {} if place is None else dict(shift_place=place)
    model = build_recognizer(backbone, num_segments=T, **kwargs)
    clips = torch.randn(batch, length, 3, 32, 32)
    expected = offline_frame_scores(model.state_dict(), backbone, clips,
                                    **kwargs)
    streamer = StreamingRecognizer(model)
    got = stream(streamer, clips)
    tol = 1e-4 * expected.abs().max().item()
    torch.testing.assert_close(got, expected, rtol=0, atol=tol)

    # The buffers carry history: a change to frame t0 alone moves the scores
    # of the later frames (whose own input is unchanged) far beyond the
    # tolerance, and leaves earlier frames exactly as they were.
    t0 = length - 2
    changed = clips.clone()
    changed[:, t0] = torch.randn_like(changed[:, t0])
    moved = stream(streamer, changed)
    assert torch.equal(moved[:, :t0], got[:, :t0])
    assert (moved[:, t0 + 1] - got[:, t0 + 1]).abs().max() > 100 * tol


def test_shares_weights_and_leaves_recognizer_usable_offline():
    model = build_recognizer('r18', num_segments=T)
    clip = torch.randn(T, 3, 64, 64)
    with torch.no_grad():
        before = model.backbone(clip)
    streamer = StreamingRecognizer(model)
    first = streamer.step(clip[:1])
    # the recognizer still runs offline, with its own shift layers
    assert all(isinstance(m, TemporalShift) for m in model.backbone.modules()
               if type(m).__name__.endswith('Shift'))
    with torch.no_grad():
        assert torch.equal(model.backbone(clip), before)
    # no copy: new weights reach the streamer
    assert {p.data_ptr() for p in streamer.parameters()} <= \
        {p.data_ptr() for p in model.parameters()}
    with torch.no_grad():
        model.cls_head.fc_cls.bias.add_(1.0)
    streamer.reset()
    torch.testing.assert_close(streamer.step(clip[:1]), first + 1.0)


def test_buffers_hold_only_the_moving_channels():
    model = build_recognizer('r18', num_segments=T, shift_div=8)
    streamer = StreamingRecognizer(model)
    frames = torch.randn(3, 3, 64, 64)
    buffers = streamer.zero_buffers(frames)
    shifts = [m for m in model.backbone.modules()
              if isinstance(m, TemporalShift)]
    assert len(buffers) == len(shifts) == 8
    # R18 blockres: conv1 inputs 64, 64, 128, 128, 256, ...; maps 16 -> 2 px
    assert [tuple(b.shape) for b in buffers] == [
        (3, c // 8, s, s) for c, s in [(64, 16), (64, 16), (64, 16),
                                       (128, 8), (128, 8), (256, 4),
                                       (256, 4), (512, 2)]]
    assert all(not b.any() for b in buffers)


def test_pure_forward_equals_step_and_keeps_no_state():
    model = build_recognizer('mbv2', num_segments=T)
    streamer = StreamingRecognizer(model)
    frames = torch.randn(3, 2, 3, 32, 32)
    buffers = streamer.zero_buffers(frames[0])
    streamer.reset()
    for t in range(3):
        passed, copies = buffers, [b.clone() for b in buffers]
        with torch.no_grad():
            scores, *buffers = streamer(frames[t], *passed)
        # inputs untouched: nothing is updated in place
        assert all(torch.equal(a, b) for a, b in zip(passed, copies))
        torch.testing.assert_close(scores, streamer.step(frames[t]),
                                   rtol=0, atol=0)
    with pytest.raises(ValueError, match='expected 10 buffers'):
        streamer(frames[0], *buffers[:-1])


def test_running_average_over_the_clip_equals_offline_clip_score():
    model = build_recognizer('r18', num_segments=T)
    clip = torch.randn(T, 3, 64, 64)
    with torch.no_grad():
        offline = model.cls_head(model.backbone(clip), num_segs=T)  # (1, K)
    streamer = StreamingRecognizer(model, average_last=T)
    for t in range(T):
        streamer.step(clip[t:t + 1])
    torch.testing.assert_close(streamer.smoothed_scores, offline, rtol=0,
                               atol=1e-4 * offline.abs().max().item())
    streamer.step(clip[:1])  # a window of the last T frames only
    assert len(streamer.recent_scores) == T


@pytest.mark.parametrize('kwargs,why', [
    (dict(shift_mode='bidirectional'), 'bi-directional shift reads the next'),
    (dict(temporal_pool=True), 'temporal_pool'),
    (dict(non_local=((0, 0), (1, 0), 0, 0),
          non_local_cfg=dict(sub_sample=True)), 'non-local'),
])
def test_refuses_what_cannot_stream_exactly(kwargs, why):
    from mmaction.registry import MODELS

    model = MODELS.build(recognizer_cfg('r18', num_segments=4, **kwargs))
    with pytest.raises(ValueError, match=why):
        StreamingRecognizer(model)


def test_refuses_mmaction_backbone_and_bad_arguments():
    from mmaction.registry import MODELS

    cfg = recognizer_cfg('r18', num_segments=T, shift_mode='unidirectional')
    cfg['backbone'] = dict(type='mmaction.ResNetTSM', depth=18, num_segments=T,
                           pretrained2d=False)
    with pytest.raises(ValueError, match='mmaction.*ResNetTSM'):
        StreamingRecognizer(MODELS.build(cfg))
    model = build_recognizer('r18', num_segments=T)
    with pytest.raises(ValueError, match='average_last must be an int >= 1'):
        StreamingRecognizer(model, average_last=0)
    streamer = StreamingRecognizer(model)
    with pytest.raises(ValueError, match=r'frames must be \(B, 3, H, W\)'):
        streamer.step(torch.randn(3, 64, 64))
    streamer.step(torch.randn(2, 3, 64, 64))
    with pytest.raises(ValueError, match='call reset'):
        streamer.step(torch.randn(1, 3, 64, 64))


def test_non_square_frames_stream_as_offline():
    """Frames 24 high and 40 wide: buffers take each layer's (h, w)."""
    model = build_recognizer('r18', num_segments=T)
    clips = torch.randn(2, 3 * T, 3, 24, 40)
    expected = offline_frame_scores(model.state_dict(), 'r18', clips)
    streamer = StreamingRecognizer(model)
    got = stream(streamer, clips)
    tol = 1e-4 * expected.abs().max().item()
    torch.testing.assert_close(got, expected, rtol=0, atol=tol)
    assert [tuple(b.shape[2:]) for b in streamer.buffers][1::2] == [
        (6, 10), (3, 5), (2, 3), (1, 2)]  # each stage's second block
