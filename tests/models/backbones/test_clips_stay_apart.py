"""Non-local blocks and temporal pool see the frames of one clip at a time.

References are computed here, independently of the plugin's wrappers: mmcv's
``NonLocal3d`` run on each clip by hand, a max over neighbouring frames written
out, and the model run on each clip alone. Weights are woken
(``live_weights.wake``) so that every block passes the signal on; float64, so
that "unchanged" can be tight.
"""
import pytest
import torch
from live_weights import spread, wake
from mmaction.registry import MODELS
from torch import nn

import tsm_plugin  # noqa: F401
from tsm_plugin.models.backbones.resnet_tsm import TemporalPool

NUM_SEGMENTS = 8
TOL = 1e-9  # of the output's scale


def build(**kwargs):
    model = MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=18,
                              num_segments=NUM_SEGMENTS, **kwargs))
    return model.double()


def frames(clips, channels=3, size=32):
    return torch.randn(clips * NUM_SEGMENTS, channels, size, size,
                       dtype=torch.float64)


def per_clip(x, frames_per_clip, fn):
    """``fn`` on each clip's ``(C, T, H, W)`` volume, frames put back in order."""
    clips = x.view(-1, frames_per_clip, *x.shape[1:]).transpose(1, 2)
    out = torch.stack([fn(clip[None])[0] for clip in clips])
    return out.transpose(1, 2).reshape(x.shape)


@pytest.mark.parametrize('temporal_pool', [False, True])
@pytest.mark.parametrize('mode', ['embedded_gaussian', 'dot_product'])
def test_non_local_block_attends_within_each_clip(mode, temporal_pool):
    model = build(temporal_pool=temporal_pool,
                  non_local=((0, 0), (1, 0), (0, 0), (0, 0)),
                  non_local_cfg=dict(mode=mode, sub_sample=True,
                                     norm_cfg=dict(type='BN3d')))
    wrapper = model.layer2.net[0] if temporal_pool else model.layer2[0]
    t = NUM_SEGMENTS // 2 if temporal_pool else NUM_SEGMENTS
    # three clips of layer2's input (64 channels, 8x8) at layer2's frame rate
    x = torch.randn(3 * t, 64, 8, 8, dtype=torch.float64)
    wake(wrapper, torch.randn_like(x))
    with torch.no_grad():
        got = wrapper(x)
        y = wrapper.block(x)
        expected = per_clip(y, t, wrapper.non_local_block)
        as_one_clip = per_clip(y, 3 * t, wrapper.non_local_block)
    scale = expected.abs().max().item()
    assert spread(got, expected) <= TOL * scale
    # the grouping matters: attending across clips gives another output
    assert spread(as_one_clip, expected) > 1e-2 * scale
    assert spread(expected, y) > 1e-2 * scale  # the block is not an identity


def test_temporal_pool_is_max_over_neighbouring_frames_of_each_clip():
    t = 4
    pool = TemporalPool(nn.Identity(), num_segments=t)
    x = torch.randn(3 * t, 16, 2, 2)  # 3 clips
    clips = x.view(3, t, 16, 2, 2)
    expected = torch.stack([
        torch.stack([clip[max(2 * i - 1, 0):2 * i + 2].amax(0)
                     for i in range(t // 2)]) for clip in clips]).flatten(0, 1)
    assert torch.equal(pool(x), expected)
    # pooling the batch as one sequence would differ at the clip borders
    one_sequence = torch.stack([x[max(2 * i - 1, 0):2 * i + 2].amax(0)
                                for i in range(3 * t // 2)])
    assert not torch.equal(one_sequence, expected)


@pytest.mark.parametrize('kwargs', [
    dict(temporal_pool=True),
    dict(non_local=((0, 0), (1, 0), (1, 0), (0, 1)),
         non_local_cfg=dict(mode='embedded_gaussian')),
    dict(temporal_pool=True, non_local=((0, 0), (1, 0), (1, 0), (0, 1)),
         non_local_cfg=dict(mode='embedded_gaussian')),
], ids=['temporal_pool', 'non_local', 'temporal_pool+non_local'])
def test_each_clip_gives_what_it_gives_alone(kwargs):
    """Changing clip 2 leaves clip 1's features unchanged, and each clip's
    features equal those of the model run on that clip alone."""
    model = build(**kwargs)
    wake(model, frames(2))
    x = frames(2)
    changed = x.clone()
    changed[NUM_SEGMENTS:] = frames(1)
    with torch.no_grad():
        out, out_changed = model(x), model(changed)
        alone = torch.cat([model(clip) for clip in x.split(NUM_SEGMENTS)])
    first = slice(0, len(out) // 2)  # clip 1's output frames
    second = slice(len(out) // 2, None)
    scale = out.abs().max().item()
    assert spread(out, alone) <= TOL * scale
    assert spread(out_changed[first], out[first]) <= TOL * scale
    assert spread(out_changed[second], out[second]) > 1e-2 * scale
