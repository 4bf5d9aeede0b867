"""Behavioural checks of a shifted backbone over clips, for any 2D network.

Each check compares two runs whose difference is the property under test,
and shows that the property matters: the same comparison, on the input or
model that should differ, moves the output by far more than the tolerance.
"""
import torch
from torch import nn

T = 4


def calibrate_bn(backbone, frames):
    """BN statistics measured on ``frames`` (random statistics saturate a
    deep random net, e.g. ReLU6 in MobileNets); returns it in eval mode."""
    bns = [m for m in backbone.modules()
           if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batch
    backbone.train()
    with torch.no_grad():
        backbone(frames)
    return backbone.eval()


def features(backbone, x):
    with torch.no_grad():
        return backbone(x)


def scale(x):
    return x.abs().max().item()


def time_reversed(x, t=T):
    """Reverse the frames of each clip of ``(N*T, ...)``."""
    return x.view(-1, t, *x.shape[1:]).flip(1).reshape(x.shape)


def reversal_gap(backbone, clip):
    """How far ``f(reversed clip)`` reversed back is from ``f(clip)``,
    relative to the output's scale: 0 for a frame-by-frame network."""
    out = features(backbone, clip)
    back = time_reversed(features(backbone, time_reversed(clip)))
    return (out - back).abs().max().item() / scale(out)


def check_shift_active(tsm, tsn, clip, tolerance=1e-5):
    """TSN is frame by frame (reversal commutes to ``tolerance``), TSM is not
    (by far more than the tolerance)."""
    assert reversal_gap(tsn, clip) < tolerance
    assert reversal_gap(tsm, clip) > 1000 * tolerance


def check_clips_stay_apart(backbone, clip, other, tolerance=1e-5):
    """Clip A's features do not depend on the clip batched after it."""
    a1 = features(backbone, torch.cat([clip, other]))
    a2 = features(backbone, torch.cat([clip, other.flip(0) * 2]))
    torch.testing.assert_close(a1[:T], a2[:T], rtol=0,
                               atol=tolerance * scale(a1))
    # the other clip's own features did move
    assert (a1[T:] - a2[T:]).abs().max() > 1000 * tolerance * scale(a1)


def check_reads_only_the_past(uni, bi, clip, tolerance=1e-5):
    """Changing frames after t leaves a uni-directional net's frames <= t
    unchanged; a bi-directional one's frame t moves."""
    later = clip.clone()
    later[2:] = torch.randn_like(later[2:])
    for backbone, past_fixed in ((uni, True), (bi, False)):
        a, b = features(backbone, clip), features(backbone, later)
        gap = (a[:2] - b[:2]).abs().max().item() / scale(a)
        assert (gap < tolerance) if past_fixed else (gap > 1000 * tolerance)
