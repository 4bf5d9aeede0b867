"""What a streamed frame costs: online TSM vs a 2D frame vs re-running the clip.

For ResNet-50 and MobileNetV2 (uni-directional TSM, 8 segments, 224x224) and
for 1 and 4 streams, measures per new frame (inference, ``torch.no_grad``):

- ``2D frame``: the same backbone without shift (TSN) on the new frame of each
  stream, then pool + fc: the baseline, and a second copy of it as a control
  (its ratio is the timing noise);
- ``streaming step``: ``StreamingRecognizer.step`` (one 2D frame plus the
  buffers of the shifted channels, the running average included);
- ``streaming step, concatenated shift``: the same step with each shift
  concatenating history and input (as traces record it), not swapping the
  moving channels in place (``StreamingShift``): the swap's gain;
- ``re-run clip``: the offline model on the last 8 frames of each stream, as
  MMAction2's webcam demo does for each new frame; and the 2D net (TSN) on
  the same clip, which tells the cost of 8 frames from that of the shift.

Ratios to the 2D frame: the variants take turns in rounds (order rotating),
medians of per-round ratios (``bench_shift.interleaved`` / ``paired_ratio``).

    python benchmarks/bench_online.py --rounds 9 --out benchmarks/results
"""
import argparse
import os
import statistics
import time

import torch  # noqa: E402
from bench_shift import (check_rounds, cpu_name, interleaved,  # noqa: E402
                         paired_ratio, threads_note, write_results)
from mmaction.models.backbones.mobilenet_v2 import MobileNetV2  # noqa: E402
from mmaction.models.backbones.resnet import ResNet  # noqa: E402
from mmaction.registry import MODELS  # noqa: E402

import tsm_plugin  # noqa: F401,E402
from tsm_plugin.online import StreamingRecognizer  # noqa: E402
from tsm_plugin.online.streaming import StreamingShift  # noqa: E402

BACKBONES = {
    'ResNet-50': (dict(type='tsm_plugin.ResNetTSM', depth=50), 2048,
                  ResNet.forward),
    'MobileNetV2': (dict(type='tsm_plugin.MobileNetV2TSM', pretrained2d=False),
                    1280, MobileNetV2.forward),
}
T = 8
FRAME, CONTROL, STEP, STEP_CAT, CLIP, CLIP_2D = (
    '2D frame', '2D frame, a second copy (noise)', 'streaming step',
    'streaming step, concatenated shift (what traces record)',
    're-run clip (T=8)', '2D over the clip (TSN, T=8)')
RATIOS = (CONTROL, STEP, STEP_CAT, CLIP, CLIP_2D)


def concatenated_step(streamer, frame):
    """``streamer.step`` with every shift as a concatenation (no swap in
    place): the swap's gain."""
    swap = StreamingShift.__dict__['reads_input_once']  # the staticmethod
    StreamingShift.reads_input_once = staticmethod(lambda net: False)
    try:
        return streamer.step(frame)
    finally:
        StreamingShift.reads_input_once = swap


def build(backbone_cfg, channels, **kwargs):
    model = MODELS.build(dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(backbone_cfg, num_segments=T,
                      shift_mode='unidirectional', **kwargs),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=400,
                      in_channels=channels, num_segments=T),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor')))
    return model.eval()


def measure(name, streams, size, rounds):
    backbone_cfg, channels, frame_forward = BACKBONES[name]
    online = build(backbone_cfg, channels)
    tsn, tsn_again = (build(backbone_cfg, channels, is_shift=False)
                      for _ in range(2))
    streamer = StreamingRecognizer(online, average_last=T)
    frame = torch.randn(streams, 3, size, size)
    clip = torch.randn(streams * T, 3, size, size)

    def frame_2d(model):
        # the backbone's 2D forward (no clip check) on one frame, pool + fc
        feats = frame_forward(model.backbone, frame)
        return model.cls_head.fc_cls(feats.mean((2, 3)))

    streamer.reset()
    for t in range(T):  # a stream in progress: buffers filled
        streamer.step(clip[t::T])
    fns = {FRAME: lambda: frame_2d(tsn),
           CONTROL: lambda: frame_2d(tsn_again),
           STEP: lambda: streamer.step(frame),
           STEP_CAT: lambda: concatenated_step(streamer, frame),
           CLIP: lambda: online.cls_head(online.backbone(clip), num_segs=T),
           CLIP_2D: lambda: tsn.cls_head(tsn.backbone(clip), num_segs=T)}
    with torch.no_grad():
        wall, _ = interleaved(fns, rounds)
    control = [c / b for c, b in zip(wall[CONTROL], wall[FRAME])]
    return dict(
        ms=1e3 * statistics.median(wall[FRAME]),
        step_ms=1e3 * statistics.median(wall[STEP]),
        ratios={k: paired_ratio(wall, k, FRAME) for k in RATIOS},
        control_range=(min(control), max(control)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--streams', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--backbones', nargs='+', default=list(BACKBONES),
                        choices=list(BACKBONES))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', help='also write bench_online.md here')
    args = parser.parse_args(argv)
    check_rounds(parser, args, ('rounds',))
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    start = time.time()
    lines = [
        f'Per new frame, {args.size}x{args.size}, T={T}, '
        f'{threads_note(args.threads)}, {args.rounds} interleaved rounds; {cpu_name()}; load '
        f'average {load:.1f} at the start.', '',
        f'| backbone | streams | 2D frame (ms) | {" | ".join(RATIOS)} '
        '| control min-max |', '|---|---|---|' + '---|' * len(RATIOS) + '---|']
    for name in args.backbones:
        for streams in args.streams:
            r = measure(name, streams, args.size, args.rounds)
            lo, hi = r['control_range']
            lines.append(
                f'| {name} | {streams} | {r["ms"]:.1f} | '
                + ' | '.join(f'{r["ratios"][k]:.3f}'
                             for k in RATIOS)
                + f' | {lo:.2f}-{hi:.2f} |')
            print(lines[-1], flush=True)
    lines.append(f'\n({time.time() - start:.0f} s; load average '
                 f'{os.getloadavg()[0]:.1f} at the end)')
    print('\n'.join(lines))
    if args.out:
        write_results(args.out, 'bench_online', lines)


if __name__ == '__main__':
    main()
