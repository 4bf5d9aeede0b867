"""The temporal shift written out frame by frame: the tests' reference, on
purpose nothing like the package's slices, pads and concatenations."""
import torch


def reference_shift(x, num_segments, shift_div, mode):
    """out[t] takes x[t + offset] for each channel group; zeros off the clip."""
    nt, c, h, w = x.shape
    fold = c // shift_div
    offsets = [1] * fold + [-1] * fold if mode == 'bidirectional' else \
        [-1] * fold
    offsets += [0] * (c - len(offsets))
    frames = []
    for i in range(nt):
        clip_start, t = i - i % num_segments, i % num_segments
        channels = []
        for ch, offset in enumerate(offsets):
            src = t + offset
            channels.append(x[clip_start + src, ch] if 0 <= src < num_segments
                            else torch.zeros_like(x[i, ch]))
        frames.append(torch.stack(channels))
    return torch.stack(frames)
