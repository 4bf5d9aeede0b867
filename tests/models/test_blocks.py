"""The block rule (tsm_plugin/models/blocks.py) keeps every shortcut the docs
name out of the residual branch, for every way a block says it adds a skip:
a shift at ``blockres`` never reaches the identity path and TAdaConv never
replaces a shortcut conv, also where the shortcut is built before the branch
(torchvision's RegNet builds ``proj`` before ``f``).

The blocks are synthetic, one per (family, shortcut name): the shortcut is a
3x3 conv + norm built first, so a rule that let it in would pick it both as
the branch's first conv and as its spatial conv.
"""
import pytest
import torch
from torch import nn

from tsm_plugin.models.blocks import find_residual_blocks
from tsm_plugin.models.shift_placement import insert_shifts, shift_targets
from tsm_plugin.ops import TemporalShift

T, C = 4, 16
# What blocks.py's docstring promises, written out here (not imported: a
# name dropped from the code must fail, not drop its test): how a block says
# it adds a skip, and the names of its shortcut subtree.
FAMILIES = ('flag use_res_connect', 'flag has_skip', 'flag has_residual',
            'flag with_res_shortcut', 'downsample beside conv1',
            'shortcut attribute', 'class ConvNeXtBlock', 'class CNBlock',
            'class ResBottleneckBlock')
SHORTCUT_NAMES = ('downsample', 'shortcut', 'proj', 'skip')


class SyntheticBlock(nn.Module):
    """``branch(x) + shortcut(x)``, the shortcut (a 3x3 conv + BN) built first
    under ``shortcut_name``; the family's marker set as the family has it."""

    def __init__(self, family, shortcut_name):
        super().__init__()
        self.shortcut_name = shortcut_name
        setattr(self, shortcut_name, nn.Sequential(
            nn.Conv2d(C, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)))
        if family.startswith('flag '):
            setattr(self, family.split()[1], True)
        if family == 'downsample beside conv1' \
                and shortcut_name != 'downsample':
            self.downsample = None  # ResNet's block without a projection
        if family == 'shortcut attribute' and shortcut_name != 'shortcut':
            self.shortcut = nn.Identity()
        self.conv1 = nn.Conv2d(C, C, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(C)

    def forward(self, x):
        branch = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(branch + getattr(self, self.shortcut_name)(x))


def network(family, shortcut_name):
    block = SyntheticBlock
    if family.startswith('class '):  # the rule knows these by class name
        block = type(family.split()[1], (SyntheticBlock, ), {})
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, C, 3, padding=1),
                         *[block(family, shortcut_name) for _ in range(2)])


@pytest.mark.parametrize('shortcut_name', SHORTCUT_NAMES)
@pytest.mark.parametrize('family', FAMILIES)
def test_branch_never_starts_in_the_shortcut(family, shortcut_name):
    net = network(family, shortcut_name)
    blocks = find_residual_blocks(net)
    assert [b.name for b in blocks] == ['1', '2']
    for b in blocks:
        assert b.branch_conv == f'{b.name}.conv1'
        assert b.spatial_conv == f'{b.name}.conv2'


@pytest.mark.parametrize('shortcut_name', SHORTCUT_NAMES)
@pytest.mark.parametrize('family', FAMILIES)
def test_blockres_shift_leaves_the_identity_path_unshifted(family,
                                                           shortcut_name):
    """What the user relies on, measured: each block's shortcut receives the
    block's own input, bit for bit; its branch receives a shifted one."""
    net = network(family, shortcut_name).eval()
    blocks = find_residual_blocks(net)
    insert_shifts(net, shift_targets(blocks, 'blockres'), T, 8,
                  'bidirectional')
    seen = {}

    def keep(name):
        return lambda module, args: seen.__setitem__(name, args[0].clone())
    for b in blocks:
        block = net.get_submodule(b.name)
        block.register_forward_pre_hook(keep(f'{b.name} in'))
        getattr(block, shortcut_name).register_forward_pre_hook(
            keep(f'{b.name} shortcut'))
        block.conv1.net.register_forward_pre_hook(keep(f'{b.name} branch'))
    with torch.no_grad():
        net(torch.randn(2 * T, 3, 8, 8))
    for b in blocks:
        assert not any(isinstance(m, TemporalShift) for m in
                       net.get_submodule(b.name).get_submodule(
                           shortcut_name).modules())
        block_in = seen[f'{b.name} in']
        assert torch.equal(seen[f'{b.name} shortcut'], block_in)
        # teeth: the branch's input is shifted, far from the block's input
        moved = (seen[f'{b.name} branch'] - block_in).abs().max()
        assert moved > 0.1 * block_in.abs().max()
