"""Find the residual blocks of any 2D CNN, and module surgery by name.

TSM puts its shift in front of the first conv of each residual branch
(``blockres``), TAdaConv replaces the branch's spatial conv: both need, for
every block that adds a skip, where its branch starts. One rule serves
MMAction2's, mmpretrain's, timm's and torchvision's networks:

- a block is a module that says it adds a skip: a skip flag
  (``use_res_connect``: torchvision's and MMAction2's inverted residuals,
  torchvision's MBConv; ``has_skip``/``has_residual``: timm's inverted
  residuals and depthwise-separable blocks; ``with_res_shortcut``:
  mmpretrain's inverted residuals) that is true; or a ``downsample``
  attribute beside a ``conv1`` child (every ResNet-style basic block and
  bottleneck, ResNeXt's, timm's RegNet's); or a ``shortcut`` attribute that
  is not None (timm's ByobNet blocks); or one of the block classes that
  always add it (ConvNeXt's ``ConvNeXtBlock``/``CNBlock``, torchvision's
  RegNet ``ResBottleneckBlock``);
- its branch is the block minus its shortcut subtree (children named
  ``downsample``, ``shortcut``, ``proj``, ``skip``); its first ``nn.Conv2d``
  in module order is where a ``blockres`` shift goes; its first conv with a
  kernel larger than 1 is the spatial conv.

Module order is construction order, which is forward order in all the
families above; a network the rule misses takes explicit module names
(``match_modules``).
"""
import re
from dataclasses import dataclass
from typing import Optional

from torch import nn

SKIP_FLAGS = ('use_res_connect', 'has_skip', 'has_residual',
              'with_res_shortcut')
ALWAYS_RESIDUAL = {'ConvNeXtBlock': 'convnext', 'CNBlock': 'convnext',
                   'ResBottleneckBlock': 'regnet'}
SHORTCUT_NAMES = ('downsample', 'shortcut', 'proj', 'skip')


@dataclass
class ResidualBlock:
    """A block that adds a skip. Names are dotted paths from the network root;
    ``branch_conv`` and ``spatial_conv`` point at ``nn.Conv2d`` modules."""
    name: str
    family: str
    branch_conv: str
    spatial_conv: Optional[str]


def block_family(module):
    """The rule's name for a module that adds a skip, else None."""
    for flag in SKIP_FLAGS:
        if hasattr(module, flag):
            return 'inverted_residual' if getattr(module, flag) else None
    name = type(module).__name__
    if name in ALWAYS_RESIDUAL:
        return ALWAYS_RESIDUAL[name]
    if hasattr(module, 'downsample') and isinstance(
            getattr(module, 'conv1', None), nn.Module):
        return 'resnet'
    if isinstance(getattr(module, 'shortcut', None), nn.Module):
        return 'resnet'
    return None


def branch_convs(block):
    """``(relative name, conv)`` of the block's residual branch, in order."""
    for name, module in block.named_modules():
        if isinstance(module, nn.Conv2d) and not any(
                part in SHORTCUT_NAMES for part in name.split('.')):
            yield name, module


def find_residual_blocks(network):
    """Every block of ``network`` that adds a skip, in module order (a block
    inside a block, e.g. in a squeeze-excite, is not looked for)."""
    found = []

    def visit(module, prefix):
        for child_name, child in module.named_children():
            name = f'{prefix}{child_name}'
            family = block_family(child)
            convs = list(branch_convs(child)) if family else []
            if not convs:
                visit(child, f'{name}.')
                continue
            spatial = next((n for n, conv in convs
                            if max(conv.kernel_size) > 1), None)
            found.append(ResidualBlock(
                name, family, f'{name}.{convs[0][0]}',
                None if spatial is None else f'{name}.{spatial}'))

    visit(network, '')
    return found


def match_modules(network, pattern):
    """Names of the modules of ``network`` that ``re.fullmatch(pattern)``."""
    try:
        regex = re.compile(pattern)
    except (re.error, TypeError) as error:
        raise ValueError(f'module pattern {pattern!r} is not a regular '
                         f'expression: {error}') from error
    return [name for name, _ in network.named_modules()
            if name and regex.fullmatch(name)]


def get_module(root, name):
    return root.get_submodule(name)


def set_module(root, name, module):
    """Put ``module`` at dotted ``name`` of ``root`` (same child name)."""
    parent, _, child = name.rpartition('.')
    setattr(root.get_submodule(parent) if parent else root, child, module)


def in_channels(module):
    """Input channels of a conv, or of the first conv inside a module that is
    not in a squeeze-excite (``se``: it sees the block's output; mmpretrain's
    MobileOne block builds it first)."""
    if isinstance(module, nn.Conv2d):
        return module.in_channels
    convs = [(name, m) for name, m in module.named_modules()
             if isinstance(m, nn.Conv2d)]
    conv = next((m for name, m in convs if 'se' not in name.split('.')),
                convs[0][1] if convs else None)
    return None if conv is None else conv.in_channels


def text_table(title, header, rows, footer):
    """Rows of strings as aligned columns under ``title``, then ``footer``:
    the placement tables of the shifted and TAda backbones."""
    widths = [max(len(row[i]) for row in [header, *rows])
              for i in range(len(header))]
    lines = [title] if title else []
    for row in [header, ['-' * w for w in widths], *rows]:
        lines.append('  '.join(c.ljust(w) for c, w in zip(row, widths))
                     .rstrip())
    lines.append(footer)
    return '\n'.join(lines)
