"""Live online TSM: ``python -m tsm_plugin.online CONFIG CHECKPOINT SOURCE``.

SOURCE is a video file (decoded frame by frame with decord) or a camera index
(OpenCV). Each frame goes through the config's test-time preprocessing, then
one streaming step of the model; the label shown is the top class of the mean
of the last ``--average-last`` per-frame scores. ``--out OUT.mp4`` writes the
video with the label drawn on each frame.
"""
import argparse
import os.path as osp
import sys
import time

import cv2
import torch

from .frames import FramePreprocessor, draw_label, open_source, read_label_map
from .streaming import StreamingRecognizer


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.online',
        description='Recognise a video file or a camera stream frame by frame '
        "with a uni-directional TSM model (shift_mode='unidirectional').")
    parser.add_argument('config', help='the model config (as for tools/test.py)')
    parser.add_argument('checkpoint', help='its checkpoint (.pth)')
    parser.add_argument('source', help='a video file, or a camera index (0)')
    parser.add_argument('--label-map', help='class names, one per line '
                        '(default: class indices)')
    parser.add_argument('--out', help='write the annotated video here (.mp4)')
    parser.add_argument('--frame-step', type=int, default=1,
                        help='feed every N-th frame, to match the frame '
                        'spacing the model was trained with (default 1)')
    parser.add_argument('--average-last', type=int, default=None,
                        help='label = top class of the mean of the last K '
                        "per-frame scores (default: the model's num_segments)")
    parser.add_argument('--print-every', type=int, default=1,
                        help='print a line every N fed frames (default 1)')
    parser.add_argument('--max-frames', type=int, default=None,
                        help='stop after this many fed frames')
    parser.add_argument('--device', default='cpu', help="e.g. 'cpu', 'cuda:0'")
    args = parser.parse_args(argv)
    for name in ('frame_step', 'print_every', 'average_last', 'max_frames'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got {value}')
    return args


def progress_bar(done, total, width=20):
    filled = width * done // total
    return f'[{"#" * filled}{"." * (width - filled)}] {done}/{total}'


def main(argv=None):
    args = parse_args(argv)
    try:  # bad inputs: one clear line, before the model is built
        for kind, path in (('config', args.config),
                           ('checkpoint', args.checkpoint)):
            if not osp.isfile(path):
                raise FileNotFoundError(f'{kind} file not found: {path}')
        source = open_source(args.source)
        names = read_label_map(args.label_map) if args.label_map else None
        streamer = StreamingRecognizer.from_config(
            args.config, args.checkpoint, device=args.device)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f'error: {error}')
    cfg = streamer.recognizer.cfg
    streamer.average_last = args.average_last or \
        streamer.recognizer.backbone.num_segments
    streamer.reset()
    preprocess = FramePreprocessor(streamer.recognizer, cfg)

    total = len(source)
    indices = range(0, total, args.frame_step) if total else None
    num_fed = len(indices) if total else 0
    if args.max_frames and total:
        num_fed = min(num_fed, args.max_frames)
    writer = None
    latencies = []
    label = None
    for fed, (index, rgb) in enumerate(source.frames(indices)):
        if not total and index % args.frame_step:
            continue
        if args.max_frames and fed >= args.max_frames:
            break
        frames = preprocess(rgb)
        start = time.perf_counter()
        streamer.step(frames)
        latencies.append(time.perf_counter() - start)
        probs = streamer.smoothed_scores[0].softmax(0)
        score, top = probs.max(0)
        label = names[top] if names and top < len(names) else str(int(top))
        text = f'{label} {score:.2f}'
        if fed % args.print_every == 0 or fed + 1 == num_fed:
            where = progress_bar(fed + 1, num_fed) if num_fed else \
                f'frame {index}'
            print(f'{where}  frame {index}: {text}  '
                  f'step {latencies[-1] * 1e3:.1f} ms', flush=True)
        if args.out:
            if writer is None:
                writer = open_writer(args.out, source.fps / args.frame_step,
                                     rgb.shape)
            writer.write(draw_label(rgb, text))
    if writer is not None:
        writer.release()
    if not latencies:
        sys.exit(f'error: no frame read from {source.path}')
    print(f'{len(latencies)} frames from {source.path}: last label {label}; '
          f'{step_times(latencies)}'
          + (f'; wrote {args.out}' if args.out else ''))


def step_times(latencies):
    """The steady-state step time apart from the first step, which pays
    for one-off work (allocations, kernel selection) a stream does not."""
    first_ms = 1e3 * latencies[0]
    if len(latencies) == 1:
        return f'one step {first_ms:.1f} ms (warm-up included)'
    rest = sorted(latencies[1:])
    median_ms = 1e3 * rest[len(rest) // 2]
    mean_ms = 1e3 * sum(rest) / len(rest)
    return (f'step {median_ms:.1f} ms median, {mean_ms:.1f} ms mean over the '
            f'{len(rest)} steps after the first (warm-up: {first_ms:.1f} ms)')


def open_writer(path, fps, shape):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (shape[1], shape[0]))
    if not writer.isOpened():
        sys.exit(f'error: cannot write the video {path}')
    return writer


if __name__ == '__main__':
    with torch.no_grad():
        main()
