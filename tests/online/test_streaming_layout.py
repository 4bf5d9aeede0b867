"""A ``channels_last`` model streams ``channels_last`` frames: every shifted
layer's input and every buffer stay ``channels_last``, the scores equal
the contiguous run's."""
import torch
from online_helpers import build_recognizer

from tsm_plugin.online import StreamingRecognizer

CL = torch.channels_last


def channels_last(t):
    # a 1x1 map (R18's last stage at 32 px) is both layouts at once
    return t.is_contiguous(memory_format=CL) and (
        not t.is_contiguous() or t.shape[2] * t.shape[3] == 1)


def close(got, want):
    # other conv kernels: float32 rounding, as test_streaming.py allows
    torch.testing.assert_close(got, want, rtol=0,
                               atol=1e-4 * want.abs().max().item())


def test_streaming_keeps_channels_last():
    model = build_recognizer('r18', num_segments=2)
    streamer = StreamingRecognizer(model)
    clip = [torch.randn(2, 3, 32, 32) for _ in range(3)]
    want = [streamer.step(frame) for frame in clip]

    model.to(memory_format=CL)
    layouts = []  # of the input of each conv2 (behind the shifted conv1)
    for block in model.backbone.modules():
        if hasattr(block, 'conv2'):
            block.conv2.register_forward_pre_hook(
                lambda m, args: layouts.append(channels_last(args[0])))
    streamer.reset()  # stateful steps (in-place swap of the moving channels)
    got = [streamer.step(frame.to(memory_format=CL)) for frame in clip]
    assert all(channels_last(buffer) for buffer in streamer.buffers)
    for g, w in zip(got, want):
        close(g, w)
    assert (want[2] - want[0]).abs().max() > 0.1  # frames differ
    # pure steps (concatenation), from zero_buffers in the frames' layout
    buffers = streamer.zero_buffers(clip[0].to(memory_format=CL))
    assert all(channels_last(buffer) for buffer in buffers)
    with torch.no_grad():
        for frame, w in zip(clip, want):
            scores, *buffers = streamer(frame.to(memory_format=CL), *buffers)
            close(scores, w)
    assert len(layouts) == 8 * 7 and all(layouts)  # R18 blocks x 7 frames
