"""What building a plugin backbone over a 2D network must not do, and what a
fresh TAda backbone must compute, for every norm it aggregates after.

The 2D network here is "pretrained" at construction, as timm's
``pretrained=True`` is: every norm's weight, bias and running statistics away
from their defaults. So building must leave those statistics as they were (a
probe frame run in training mode would move them), and a fresh
``TAdaBackbone`` must compute that network exactly (its zero-initialised
second norm must not keep a bias it copied).
"""
import pytest
import torch
from torch import nn

from tsm_plugin.models import TAdaBackbone, TSMBackbone
from tsm_plugin.models.backbones.tada_backbone import (TemporalAggregation,
                                                       is_norm_act)
from tsm_plugin.models.zoo import build_2d_backbone
from tsm_plugin.registry import MODELS

T, C = 4, 16


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d as the rule sees it: BN, then drop and act."""

    def __init__(self, channels):
        super().__init__(channels)
        self.drop, self.act = nn.Identity(), nn.ReLU()

    def forward(self, x):
        return self.act(self.drop(super().forward(x)))


class ChannelsLastLayerNorm(nn.LayerNorm):
    """ConvNeXt's LayerNorm: the layout change happens in the block."""


NORMS = {
    'BatchNorm2d': nn.BatchNorm2d,
    'BatchNormAct2d': BatchNormAct2d,
    'GroupNorm': lambda c: nn.GroupNorm(4, c),
    'LayerNorm': ChannelsLastLayerNorm,
}


class Block(nn.Module):
    def __init__(self, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(C, C, 1, bias=False)
        self.norm1 = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1, bias=False)
        self.norm2 = NORMS[norm](C)
        self.downsample = None
        self.channels_last = norm == 'LayerNorm'

    def forward(self, x):
        y = self.conv2(torch.relu(self.norm1(self.conv1(x))))
        if self.channels_last:
            y = self.norm2(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        else:
            y = self.norm2(y)
        return torch.relu(y + x)


@MODELS.register_module(force=True)
class PretrainedTinyNet(nn.Sequential):
    """Two residual blocks whose norms come "pretrained" (random affine
    parameters and BN statistics, drawn at construction)."""

    def __init__(self, norm='BatchNorm2d'):
        super().__init__(nn.Conv2d(3, C, 3, padding=1), nn.BatchNorm2d(C),
                         Block(norm), Block(norm))
        self[1].eval()  # a stem frozen at construction, as libraries do
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.modules.batchnorm._NormBase,
                                  nn.GroupNorm, nn.LayerNorm)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.5)
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.running_mean.normal_(0, 0.2)
                    m.running_var.uniform_(0.5, 2)
                    m.num_batches_tracked.fill_(1000)


def network_cfg(norm):
    return dict(type='tsm_plugin.PretrainedTinyNet', norm=norm)


def build(cls, norm, **kwargs):
    torch.manual_seed(0)
    return cls(network_cfg(norm), num_segments=T, **kwargs)


def two_d(norm):
    torch.manual_seed(0)
    network, _ = build_2d_backbone(network_cfg(norm))
    return network


def unwrapped(name):
    """The 2D network's name of a buffer of the plugin's network: shifts
    and aggregations keep the original under ``.net``."""
    return name.replace('.net.', '.')


@pytest.mark.parametrize('norm', sorted(NORMS))
@pytest.mark.parametrize('cls', [TSMBackbone, TAdaBackbone])
def test_building_leaves_the_2d_network_as_it_was(cls, norm):
    """Every buffer of the 2D network (BN running statistics, batch
    counters) and its training flag, unchanged by the build."""
    plugin, network = build(cls, norm), two_d(norm)
    want = dict(network.named_buffers())
    with plugin.original_modules():
        got = {unwrapped(n): b for n, b in plugin.backbone.named_buffers()}
    missing = [n for n in want if n not in got]
    assert not missing, missing
    moved = [n for n in want if not torch.equal(got[n], want[n])]
    assert not moved, moved
    modes = {unwrapped(n): m.training
             for n, m in plugin.backbone.named_modules()}
    assert not network[1].training
    assert all(modes[n] == m.training for n, m in network.named_modules())


@pytest.mark.parametrize('norm', sorted(NORMS))
def test_fresh_tada_backbone_is_its_2d_network(norm):
    """Eval mode (the norms' pretrained statistics in use): the same
    features, and the second norm really is in the sum (a bias on it moves
    them by far more than the tolerance)."""
    tada, network = build(TAdaBackbone, norm).eval(), two_d(norm).eval()
    aggregations = [m for m in tada.modules()
                    if isinstance(m, TemporalAggregation)]
    assert len(aggregations) == 2
    assert all(is_norm_act(a.net) == (norm == 'BatchNormAct2d')
               for a in aggregations)
    clip = torch.randn(2 * T, 3, 8, 8)
    with torch.no_grad():
        want = network(clip)
        got = tada(clip)
        tolerance = 1e-5 * want.abs().max().item()
        torch.testing.assert_close(got, want, rtol=0, atol=tolerance)
        for a in aggregations:
            a.pool_norm.bias.fill_(0.1)
        moved = (tada(clip) - want).abs().max().item()
    assert moved > 1000 * tolerance
