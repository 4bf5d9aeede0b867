"""Streaming accuracy next to offline accuracy on a config's test videos.

``python -m tsm_plugin.online.evaluate CONFIG CHECKPOINT [--frame-step N]``

For each video of the config's test set (``test_dataloader.dataset``):

- offline: the config's test pipeline (``num_segments`` sampled frames) and
  the model's clip score, as ``tools/test.py`` computes it;
- streamed: every ``--frame-step``-th frame fed to ``StreamingRecognizer``, one
  at a time from the first; the label is the running average's top class at
  the last frame (what a live demo shows when the video ends);
- streamed, sampled frames: only the frames the test pipeline samples; its
  running average over them equals the offline clip score.
"""
import argparse
import os.path as osp
import sys
import time

import torch
from mmengine.dataset import Compose, pseudo_collate

from .frames import FramePreprocessor, VideoFile, config_test_pipeline
from .streaming import StreamingRecognizer

SAMPLING_STEPS = ('DecordInit', 'SampleFrames', 'DenseSampleFrames')


def read_annotations(dataset_cfg, data_root=None):
    """``[(video path, label)]`` of an MMAction2 ``VideoDataset`` config."""
    root = data_root or dataset_cfg.get('data_root') or ''
    ann_file = osp.join(root, dataset_cfg['ann_file'])
    prefix = osp.join(root, dataset_cfg.get('data_prefix', {}).get('video', ''))
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    with open(ann_file) as f:
        rows = [line.split() for line in f if line.strip()]
    return [(osp.join(prefix, path), int(label)) for path, label in rows]


def stream_label(streamer, preprocess, video, indices):
    """Top class of the running average after streaming ``indices``; also
    the per-frame step times."""
    streamer.reset()
    times = []
    for _, rgb in video.frames(indices):
        frames = preprocess(rgb)
        start = time.perf_counter()
        streamer.step(frames)
        times.append(time.perf_counter() - start)
    return int(streamer.smoothed_scores[0].argmax()), times


def evaluate(streamer, cfg, videos, frame_step=1, log=print):
    """Counts of correct labels: offline, streamed, streamed sampled."""
    model = streamer.recognizer
    pipeline = Compose(config_test_pipeline(cfg))
    sampler = Compose([s for s in config_test_pipeline(cfg)
                       if s['type'].split('.')[-1] in SAMPLING_STEPS])
    preprocess = FramePreprocessor(model, cfg)
    correct = dict(offline=0, streamed=0, sampled=0)
    times = []
    for i, (path, label) in enumerate(videos):
        info = dict(filename=path, start_index=0, modality='RGB', label=label)
        with torch.no_grad():
            data = pseudo_collate([pipeline(dict(info))])
            offline = int(model.test_step(data)[0].pred_score.argmax())
        video = VideoFile(path)
        streamed, step_times = stream_label(
            streamer, preprocess, video, range(0, len(video), frame_step))
        sampled, _ = stream_label(streamer, preprocess, video,
                                  sampler(dict(info))['frame_inds'])
        times += step_times
        for key, pred in (('offline', offline), ('streamed', streamed),
                          ('sampled', sampled)):
            correct[key] += pred == label
        if (i + 1) % 20 == 0 or i + 1 == len(videos):
            log(f'[{i + 1}/{len(videos)}] correct so far: {correct}')
    return correct, times


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.online.evaluate', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help='override the test data_root')
    parser.add_argument('--frame-step', type=int, default=1,
                        help='stream every N-th frame (default 1)')
    parser.add_argument('--average-last', type=int, default=None,
                        help="running average window (default num_segments)")
    parser.add_argument('--max-videos', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    streamer = StreamingRecognizer.from_config(args.config, args.checkpoint,
                                               device=args.device)
    cfg = streamer.recognizer.cfg
    streamer.average_last = args.average_last or \
        streamer.recognizer.backbone.num_segments
    videos = read_annotations(cfg.test_dataloader.dataset, args.data_root)
    videos = videos[:args.max_videos]
    correct, times = evaluate(streamer, cfg, videos, args.frame_step)
    n = len(videos)
    print(f'\n{n} test videos, running average over the last '
          f'{streamer.average_last} per-frame scores:')
    print('| model | top-1 |\n|---|---|')
    num_segments = streamer.recognizer.backbone.num_segments
    print(f'| offline ({num_segments} sampled frames, as tools/test.py) | '
          f'{100 * correct["offline"] / n:.1f}% |')
    print(f'| streamed (--frame-step {args.frame_step}), label at the last '
          f'frame | {100 * correct["streamed"] / n:.1f}% |')
    print('| streamed over the sampled frames (= offline) | '
          f'{100 * correct["sampled"] / n:.1f}% |')
    print(f'mean step {1e3 * sum(times) / len(times):.1f} ms '
          f'({len(times)} frames)')


if __name__ == '__main__':
    try:
        main()
    except (FileNotFoundError, ValueError) as error:  # one line, no traceback
        sys.exit(f'error: {error}')
