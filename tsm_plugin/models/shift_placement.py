"""Put temporal shifts into a 2D network: the one mechanism behind
``TSMBackbone``, ``ResNetTSM`` and ``MobileNetV2TSM``.

Each target module is replaced, under its own name, by a ``TemporalShift``
whose child ``net`` is the module (state-dict keys gain ``.net``, as in
MMAction2's and the original TSM's checkpoints). The targets come from the
residual-block rule (``blocks.find_residual_blocks``: the branch's first conv
for ``'blockres'``, the whole block for ``'block'``) or from explicit names.
"""
from ..ops import TemporalShift
from ..ops.temporal_shift import check_shift_channels
from .blocks import get_module, in_channels, set_module, text_table

SHIFT_PLACES = ('block', 'blockres')


def check_shift_place(place):
    if place not in SHIFT_PLACES:
        raise ValueError(
            f'shift_place must be one of {SHIFT_PLACES}, got {place!r}')


def shift_targets(blocks, place):
    """Names of the modules to shift for residual ``blocks`` at ``place``."""
    check_shift_place(place)
    return [b.name if place == 'block' else b.branch_conv for b in blocks]


def insert_shifts(network, targets, num_segments, shift_div, mode,
                  lean=True, wrapper=TemporalShift):
    """Put each module named in ``targets`` behind a shift, in place.

    Args:
        network (nn.Module): modified in place.
        targets (list[str]): dotted module names.
        num_segments (int | callable): frames per clip, or ``name -> int``
            (a stage after a temporal pool sees fewer).
        shift_div, mode, lean: as ``ops.TemporalShift``.
        wrapper (type): a ``TemporalShift`` (sub)class.

    Returns:
        list[tuple[str, TemporalShift]]: ``(name, wrapper)`` per target.
    """
    wrapped = []
    for name in targets:
        module = get_module(network, name)
        channels = in_channels(module)
        if channels is None:
            raise ValueError(
                f'cannot shift in front of {name!r} '
                f'({type(module).__name__}): it holds no Conv2d, so the '
                'channels that move are unknown')
        try:
            check_shift_channels(channels, shift_div)
        except ValueError as error:
            raise ValueError(f'shift in front of {name!r}: {error}') from None
        frames = num_segments(name) if callable(num_segments) else num_segments
        shift = wrapper(module, frames, shift_div, mode, lean=lean)
        set_module(network, name, shift)
        wrapped.append((name, shift))
    return wrapped


def placement_table(network, title=None):
    """A text table of every shift in ``network``: where, what it wraps, the
    channels in and the channels that move (each way, for bi-directional)."""
    rows = []
    for name, module in network.named_modules():
        if isinstance(module, TemporalShift):
            channels = in_channels(module.net)
            fold = channels // module.shift_div
            moved = (f'{fold} back + {fold} forward'
                     if module.mode == 'bidirectional' else f'{fold} from t-1')
            rows.append((name, type(module.net).__name__, str(channels),
                         moved, str(module.num_segments)))
    return text_table(title, ('module', 'wraps', 'channels', 'channels moved',
                              'T'), rows, f'{len(rows)} shifted modules')
