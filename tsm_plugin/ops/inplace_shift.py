"""Inference fast path: the conv reads ``x`` shifted in place, then ``x`` is
moved back, instead of a new shifted copy.

Only the 1/4 (unidirectional: 1/8) of the channels that move are written,
there and back, through a saved copy of them; no full-size tensor is made.
The hazard of any in-place trick is that something reads ``x`` while it is
shifted: ``TemporalShift`` takes this path only without autograd and only in
front of a plain conv (``can_fuse``), which reads ``x`` once and keeps no view
of it; ``x`` is restored bit for bit, also when the conv raises. The writes go
through ``x.data``: values come back exact, so a graph that saved ``x`` (its
version counter) must not see a change.

Measured: <FIGURE>
"""
from contextlib import contextmanager


def can_shift_in_place(x):
    """A contiguous CPU tensor: every element has memory of its own and
    the moves are cheap next to the copy they replace."""
    return x.device.type == 'cpu' and x.is_contiguous()


@contextmanager
def shifted_in_place(x, num_segments, shift_div, mode):
    """``with shifted_in_place(x, ...) as xs:`` ``xs`` is ``x`` shifted."""
    _, c, h, w = x.shape
    fold = c // shift_div
    offsets = (1, -1) if mode == 'bidirectional' else (-1,)
    clips = x.data.view(-1, num_segments, c, h, w)
    saved = clips[:, :, :len(offsets) * fold].clone()
    try:
        for i, offset in enumerate(offsets):
            dst = clips[:, :, i * fold:(i + 1) * fold]
            src = saved[:, :, i * fold:(i + 1) * fold]
            if offset > 0:  # frame t reads t+1; the last frame reads zeros
                dst[:, :-1].copy_(src[:, 1:])
                dst[:, -1:].zero_()
            else:  # frame t reads t-1; the first frame reads zeros
                dst[:, 1:].copy_(src[:, :-1])
                dst[:, :1].zero_()
        yield x
    finally:
        clips[:, :, :len(offsets) * fold].copy_(saved)
