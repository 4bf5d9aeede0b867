"""Checks of the arguments ``ResNetTSM`` passes on to MMAction2's ``ResNet``.

MMAction2 lets bad values through to places where they fail late or without
a message: ``KeyError: 'invalid depth 42 for resnet'``, a bare
``AssertionError`` (``out_indices=(5,)``, ``num_stages=5``, ``style='x'``,
``with_cp=True`` on ResNet-18/34, strides of the wrong length),
``AttributeError: ... no attribute 'layer5'`` at ``train()``
(``frozen_stages=9``), or nothing at all (``out_indices=(-1,)`` returns no
feature). Here each gives one ``ValueError`` at build, naming the argument
and its value.
"""
import inspect
from collections.abc import Sequence

from mmaction.models.backbones.resnet import ResNet

STYLES = ('pytorch', 'caffe')


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(name, value, low, high=None):
    """``low <= value <= high`` (``high=None``: no upper bound)."""
    if not is_int(value) or value < low or (high is not None and value > high):
        bounds = f'in [{low}, {high}]' if high is not None else f'>= {low}'
        raise ValueError(f'{name} must be an int {bounds}, got {value!r}')


def check_ints(name, values, length, low, high=None):
    """A sequence of ``length`` ints (any length if None) within bounds."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) \
            or (length is not None and len(values) != length) or not values \
            or not all(is_int(v) and v >= low and (high is None or v <= high)
                       for v in values):
        size = f'{length} ' if length is not None else 'one or more '
        bounds = f'in [{low}, {high}]' if high is not None else f'>= {low}'
        raise ValueError(
            f'{name} must be a sequence of {size}ints {bounds}, got {values!r}')


def check_bools(**flags):
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f'{name} must be True or False, got {value!r}')


def check_pretrained2d(value):
    """``pretrained2d`` as MMAction2 reads it (by truth value): ``None``,
    which MMAction2's own tests pass with ``pretrained=None``, means
    ``False`` (no 2D weights to inflate). Returns the bool; anything but a
    bool or None is refused."""
    if value is None:
        return False
    check_bools(pretrained2d=value)
    return value


def check_resnet_args(depth, **kwargs):
    """Raise one ``ValueError`` for a bad argument of MMAction2's ``ResNet``.

    ``kwargs`` are the keyword arguments given to ``ResNet``; missing ones
    take ``ResNet``'s defaults. Unknown names are left to ``ResNet`` (its
    ``TypeError`` names them).
    """
    depths = tuple(ResNet.arch_settings)
    if depth not in depths:
        raise ValueError(f'depth must be one of {depths}, got {depth!r}')
    defaults = {name: p.default for name, p in
                inspect.signature(ResNet.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty}
    args = {**defaults, **kwargs}
    num_stages = args['num_stages']
    check_int('num_stages', num_stages, 1, 4)
    check_ints('out_indices', args['out_indices'], None, 0, num_stages - 1)
    check_ints('strides', args['strides'], num_stages, 1)
    check_ints('dilations', args['dilations'], num_stages, 1)
    check_int('frozen_stages', args['frozen_stages'], -1, num_stages)
    check_int('in_channels', args['in_channels'], 1)
    if args['style'] not in STYLES:
        raise ValueError(f'style must be one of {STYLES}, got {args["style"]!r}')
    check_bools(**{k: args[k] for k in ('norm_eval', 'partial_bn', 'with_cp',
                                        'torchvision_pretrain')})
    if args['with_cp'] and ResNet.arch_settings[depth][0].expansion == 1:
        raise ValueError(
            f'with_cp=True needs depth >= 50: MMAction2\'s BasicBlock '
            f'(depth={depth}) has no activation checkpointing')
