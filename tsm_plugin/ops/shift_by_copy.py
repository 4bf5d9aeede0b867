"""The eager kernel of the temporal shift: slice copies into one new tensor.

``temporal_shift.py``'s ``_shift`` (pads, then ``torch.cat``) is what traces
and exports record: out-of-place data flow. Eagerly it reads the moving
channels twice (a padded copy, then the concatenation). Here each channel
group is copied once, frame range to frame range, into ``torch.empty``, and
the frames that read nothing are zeroed: the tensor is read and written once,
like ``x.clone()``. The same values move: results are bit-identical.

Measured per tensor (2 threads, each result freed at once, CPU time):
1.01-1.14 of ``x.clone()`` on ResNet-50's large shifted inputs (256 x 56 x 56,
512 x 28 x 28; the plain ops 1.39-1.55); the small ones (2048 x 7 x 7) pay a
fixed cost of five ops (about 2x the clone, the plain ops 2.5x).

Never trace or export this (slice copies into an empty tensor export to ONNX
as constants, FIELD_NOTES): ``temporal_shift`` and ``TemporalShift`` call it
only in eager mode. Benchmark tables: ``docs/performance.md``.
"""
import torch


def shift_by_copy(x, num_segments, groups):
    """Shifted copy of ``x`` ``(N*T, C, H, W)`` in its memory format;
    ``groups``: the ``(first, last, offset)`` of
    ``temporal_shift.shift_groups``."""
    # (N, T, C, H, W) views: any strides, so a channels_last x gives a
    # channels_last out (empty_like keeps a dense tensor's layout).
    clips = x.unflatten(0, (-1, num_segments))
    out = torch.empty_like(clips)
    for first, last, offset in groups:
        source, target = clips[:, :, first:last], out[:, :, first:last]
        if offset > 0:  # frame t reads t + 1, the last frame zeros
            target[:, :-1].copy_(source[:, 1:])
            target[:, -1].zero_()
        elif offset < 0:  # frame t reads t - 1, the first frame zeros
            target[:, 1:].copy_(source[:, :-1])
            target[:, 0].zero_()
        else:
            target.copy_(source)
    return out.flatten(0, 1)
