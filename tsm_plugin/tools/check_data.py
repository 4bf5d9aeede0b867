"""Check every video of a config's datasets before training.

``python -m tsm_plugin.tools.check_data CONFIG [--split train val test]
[--workers N] [--min-frames N] [--out bad.tsv] [--cfg-options K=V ...]``

For each split's ``VideoDataset`` (``ann_file``, ``data_prefix`` and
``pipeline`` as the config builds them, ``--cfg-options`` applied), every line
of the annotation list is parsed and every video is opened by the split's own
pipeline steps (``DecordInit`` and ``DecordDecode``, or ``OpenCVInit``/
``PyAVInit`` and their decoders), in a pool of worker processes:

- the file exists and is not empty;
- it opens and reports at least as many frames as the split's sampler needs
  (``frames_needed``; ``--min-frames`` overrides);
- its first, middle and last frames decode to ``H x W x 3`` images.

Lines that are malformed, or whose label is outside ``0 ..
model.cls_head.num_classes - 1`` (or missing in a training list), are bad too.
It ends with one line per bad entry, ``ANN_FILE:LINE: [split] VIDEO:
REASON``, and exits with 1 when any is bad, 0 otherwise.
"""
import argparse
import multiprocessing
import os
import signal
import sys
import time
from typing import NamedTuple

import numpy as np

import tsm_plugin  # noqa: F401  (repairs the stack; plugin registries)
from tsm_plugin.datasets.annotations import (format_listing, is_local,
                                             local_file_exists,
                                             read_annotations, video_path)

SPLITS = ('train', 'val', 'test')


class BadEntry(NamedTuple):
    split: str  # or splits, 'val, test', for a line of a list they share
    ann_file: str
    line: int
    video: str  # the path, or the line's text when it is malformed
    reason: str

    def __str__(self):
        return (f'{self.ann_file}:{self.line}: [{self.split}] {self.video}: '
                f'{self.reason}')


class Probe(NamedTuple):
    """How a split's pipeline opens and decodes a video."""
    init: tuple  # the steps before the sampler (e.g. DecordInit)
    decode: object  # the first ``*Decode`` step after it, or None
    start_index: int
    modality: str


def frames_needed(sampler):
    """The fewest frames a video needs for ``sampler`` to take every clip
    from distinct start frames without looping past the end.

    ``SampleFrames(clip_len, frame_interval, num_clips)``: ``num_clips +
    (clip_len - 1) * frame_interval`` (TSM's 1x1x8: 8). ``DenseSampleFrames``:
    its clips lie ``sample_range // num_clips`` apart. ``UniformSample``:
    ``clip_len``. Anything else: 1. With fewer frames MMAction2's samplers
    still run, repeating frames.
    """
    from mmaction.datasets.transforms import (DenseSampleFrames,
                                              SampleFrames, UniformSample)
    if isinstance(sampler, UniformSample):
        return sampler.clip_len
    if not isinstance(sampler, SampleFrames):
        return 1
    clip_span = (sampler.clip_len - 1) * sampler.frame_interval
    if isinstance(sampler, DenseSampleFrames):
        gap = sampler.sample_range // sampler.num_clips
        return (sampler.num_clips - 1) * gap + clip_span + 1
    return sampler.num_clips + clip_span


def split_probe(dataset, split):
    """``(Probe, sampler)`` from the built pipeline of ``dataset``."""
    transforms = list(dataset.pipeline.transforms)
    names = [type(t).__name__ for t in transforms]
    samplers = [i for i, name in enumerate(names) if 'Sample' in name]
    if not samplers or samplers[0] == 0:
        raise ValueError(
            f'{split}: cannot tell how the pipeline opens a video: expected '
            f'open steps (e.g. DecordInit), then a frame sampler (e.g. '
            f'SampleFrames), then a decoder; got {names}')
    first = samplers[0]
    decoders = [t for t in transforms[first + 1:]
                if type(t).__name__.endswith('Decode')]
    probe = Probe(tuple(transforms[:first]),
                  decoders[0] if decoders else None, dataset.start_index,
                  dataset.modality)
    return probe, transforms[first]


# Filled in the parent before the workers fork (they inherit it).
_PROBES = {}


# Each pool's worker slots: the item a worker is checking, -1 when idle. A
# worker that dies (a decoder crashing on a file) leaves its item there.
_SLOTS = None
_SLOT = None


def _init_worker(slots, counter):
    global _SLOTS, _SLOT
    # decord and FFmpeg print to the C-level stderr, for a random-bytes file
    # the whole buffer; mmengine logs deprecation warnings to stdout. The
    # results come back through the pool's pipes.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with counter.get_lock():
        _SLOTS, _SLOT = slots, counter.value
        counter.value += 1


def check_video(path, probe, min_frames):
    """What is wrong with the video at ``path`` for ``probe``, or None."""
    if is_local(path):
        if not local_file_exists(path):
            return 'file not found'
        if os.path.getsize(path if os.path.isfile(path)
                           else path + '.mp4') == 0:
            return 'empty file (0 bytes)'
    results = dict(filename=path, label=-1, start_index=probe.start_index,
                   modality=probe.modality)
    try:
        for step in probe.init:
            results = step(results)
    except Exception as error:
        return f'cannot open: {type(error).__name__}: {error}'
    total = results.get('total_frames')
    if not total:
        return f'no frames (frame count {total})'
    if total < min_frames:
        return f'only {total} frames, at least {min_frames} needed'
    if probe.decode is None:
        return None
    indices = sorted({0, total // 2, total - 1})
    results['frame_inds'] = np.array(indices) + probe.start_index
    try:
        imgs = probe.decode(results)['imgs']
    except Exception as error:
        return (f'frames {indices} of {total} do not decode: '
                f'{type(error).__name__}: {error}')
    shapes = [np.shape(img) for img in imgs]
    if len(imgs) != len(indices) or any(
            len(s) != 3 or (probe.modality == 'RGB' and s[-1] != 3)
            for s in shapes):
        return (f'frames {indices} of {total} decode to {len(imgs)} images '
                f'of shapes {shapes}, expected {len(indices)} of H x W x 3')
    return None


def _check_item(item):
    path, probe_key, min_frames = item
    try:
        return check_video(path, _PROBES[probe_key], min_frames)
    except Exception as error:  # whatever a backend raises: name the file
        return f'{type(error).__name__}: {error}'


def _check_chunk(chunk):
    """``[(index, reason)]`` for a chunk of ``(index, item)``, in a worker."""
    results = []
    for index, item in chunk:
        _SLOTS[_SLOT] = index
        results.append((index, _check_item(item)))
    _SLOTS[_SLOT] = -1
    return results


def _report_alone(item, connection):
    _init_worker(multiprocessing.Array('l', 1),
                 multiprocessing.Value('i', 0))
    connection.send(_check_item(item))


def check_alone(item):
    """Check one item in a process of its own; a crash is its reason."""
    context = multiprocessing.get_context('fork')
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=_report_alone, args=(item, writer))
    process.start()
    writer.close()
    try:
        reason = reader.recv()
    except EOFError:  # the process died before it could answer
        reason = None
    process.join()
    if process.exitcode:
        code = process.exitcode
        how = (f'signal {signal.Signals(-code).name}' if code < 0
               else f'exit status {code}')
        return f'checking it killed the process ({how})'
    return reason


def _check_in_pool(items, pending, workers, on_result):
    """Check ``items[i]`` for ``i`` in ``pending``, calling ``on_result(i,
    reason)``. When a worker dies, the items the pool's workers were checking
    are checked again one process each (naming the one that kills its
    process); returns the indices left unchecked, for a new pool."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    context = multiprocessing.get_context('fork')
    slots = context.Array('l', [-1] * workers)
    size = max(1, min(16, len(pending) // (workers * 8)))
    done = set()
    with ProcessPoolExecutor(workers, context, _init_worker,
                             (slots, context.Value('i', 0))) as pool:
        futures = [pool.submit(_check_chunk,
                               [(i, items[i]) for i in pending[k:k + size]])
                   for k in range(0, len(pending), size)]
        for future in as_completed(futures):
            try:
                results = future.result()
            except BrokenProcessPool:
                continue
            for index, reason in results:
                done.add(index)
                on_result(index, reason)
    if len(done) == len(pending):
        return []
    in_flight = {i for i in slots[:] if i >= 0} - done
    if not in_flight:
        raise RuntimeError('a check_data worker process died outside any '
                           'video')
    for index in sorted(in_flight):
        done.add(index)
        on_result(index, check_alone(items[index]))
    return [i for i in pending if i not in done]


def dataset_configs(cfg, split):
    """The dataset configs of ``{split}_dataloader``, looking through
    wrappers (``dataset=`` of RepeatDataset, ``datasets=`` of ConcatDataset)."""
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        return []
    pending, found = [loader['dataset']], []
    while pending:
        dataset = pending.pop(0)
        if 'datasets' in dataset:
            pending.extend(dataset['datasets'])
        elif 'dataset' in dataset:
            pending.append(dataset['dataset'])
        else:
            found.append(dataset)
    return found


def label_problem(label, num_classes, test_mode):
    labels = label if isinstance(label, list) else [label]
    if labels == [-1] and not test_mode:
        return 'no label (a training list needs "path label")'
    if num_classes is None or labels == [-1]:
        return None
    outside = [lb for lb in labels if not 0 <= lb < num_classes]
    if outside:
        return (f'label {outside[0]} outside 0..{num_classes - 1} '
                f'(model.cls_head.num_classes={num_classes})')
    return None


def collect(cfg, splits, min_frames=None):
    """Parse the splits' lists. Returns ``(bad, tasks, occurrences,
    summary)``: bad lines (``BadEntry``), the videos to check as ``{(path,
    probe_key): min_frames}``, where each video is listed, and a line per
    split. Fills ``_PROBES``."""
    from mmaction.datasets import VideoDataset
    from mmaction.registry import DATASETS
    num_classes = cfg.get('model', {}).get('cls_head', {}).get('num_classes')
    if not isinstance(num_classes, int):
        num_classes = None
    bad, tasks, occurrences, summary = [], {}, {}, []
    for split in splits:
        configs = dataset_configs(cfg, split)
        if not configs:
            summary.append(f'{split}: no {split}_dataloader.dataset, skipped')
        for dataset_cfg in configs:
            dataset = DATASETS.build({**dataset_cfg, 'lazy_init': True})
            if not isinstance(dataset, VideoDataset):
                raise ValueError(
                    f'{split}: check_data checks VideoDataset lists, this '
                    f'split uses {type(dataset).__name__}')
            probe, sampler = split_probe(dataset, split)
            key = repr(probe)
            _PROBES[key] = probe
            needed = frames_needed(sampler) if min_frames is None \
                else min_frames
            ann_file = dataset.ann_file
            if is_local(ann_file) and not os.path.isfile(ann_file):
                raise FileNotFoundError(
                    f'{split}: the annotation list {ann_file} does not exist '
                    f'(set {split}_dataloader.dataset.ann_file or data_root '
                    'with --cfg-options)')
            entries, bad_lines = read_annotations(
                ann_file, dataset.delimiter, dataset.multi_class)
            bad += [BadEntry(split, ann_file, b.line, repr(b.text),
                             f'malformed line: {b.reason}')
                    for b in bad_lines]
            for entry in entries:
                path = video_path(dataset.data_prefix, entry.filename)
                problem = label_problem(entry.label, num_classes,
                                        dataset.test_mode)
                if problem:
                    bad.append(BadEntry(split, ann_file, entry.line, path,
                                        problem))
                tasks[path, key] = max(tasks.get((path, key), 0), needed)
                occurrences.setdefault((path, key), []).append(
                    (split, ann_file, entry.line))
            summary.append(
                f'{split}: {ann_file}: {len(entries) + len(bad_lines)} lines; '
                f'{type(sampler).__name__} needs >= '
                f'{frames_needed(sampler)} frames, checking >= {needed}; '
                f'opened with {", ".join(type(t).__name__ for t in probe.init)}'
                f'{", " + type(probe.decode).__name__ if probe.decode else ""}')
    return bad, tasks, occurrences, summary


def check_videos(tasks, workers, progress=True):
    """``{(path, probe_key): reason}`` of the bad videos among ``tasks``."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    items = [(path, key, needed) for (path, key), needed in tasks.items()]
    sys.stdout.flush()
    sys.stderr.flush()
    bad = {}
    columns = (TextColumn('checking videos'), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn('eta'), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True),
                  disable=not progress) as bar:
        job = bar.add_task('check', total=len(items))

        def on_result(index, reason):
            bar.advance(job)
            if reason:
                path, key, _ = items[index]
                bad[path, key] = reason

        pending = list(range(len(items)))
        while pending:
            pending = _check_in_pool(items, pending, workers, on_result)
    return bad


def merge_splits(bad):
    """One entry per bad line of a list that several splits share, naming
    them all; ordered by split, list and line."""
    splits = {}
    for b in bad:
        splits.setdefault(b._replace(split=''), []).append(b.split)
    merged = [b._replace(split=', '.join(sorted(set(names), key=SPLITS.index)))
              for b, names in splits.items()]
    return sorted(merged, key=lambda b: (SPLITS.index(b.split.split(',')[0]),
                                         b.ann_file, b.line))


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.tools.check_data',
        description='Open every video of a config\'s datasets the way its '
        'pipeline does and list the bad ones (exit 1 if any).')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', nargs='+', choices=SPLITS,
                        default=list(SPLITS),
                        help='dataloaders to check (default: all three)')
    parser.add_argument('--workers', type=int,
                        default=len(os.sched_getaffinity(0)),
                        help='worker processes (default: the usable CPUs)')
    parser.add_argument('--min-frames', type=int, default=None,
                        help='frames every video must have (default: what '
                        'each split\'s sampler needs; see frames_needed)')
    parser.add_argument('--out', help='also write the bad entries to this '
                        'tab-separated file (split, ann_file, line, video, '
                        'reason)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.min_frames is not None and args.min_frames < 1:
        parser.error(f'--min-frames must be >= 1, got {args.min_frames}')
    return args


def main(argv=None):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    try:
        bad, tasks, occurrences, summary = collect(cfg, args.split,
                                                   args.min_frames)
    except (FileNotFoundError, ValueError) as error:
        print(f'check_data: {error}', file=sys.stderr)
        return 2
    print('\n'.join(summary))
    start = time.perf_counter()
    bad_videos = check_videos(tasks, args.workers, not args.no_progress)
    seconds = time.perf_counter() - start
    print(f'checked {len(tasks)} videos with {args.workers} workers in '
          f'{seconds:.1f} s ({len(tasks) / max(seconds, 1e-9):.1f} videos/s)')
    for task, reason in bad_videos.items():
        bad += [BadEntry(split, ann_file, line, task[0], reason)
                for split, ann_file, line in occurrences[task]]
    bad = merge_splits(bad)
    if args.out:
        with open(args.out, 'w') as f:
            f.writelines('\t'.join(map(str, b)) + '\n' for b in bad)
    if not bad:
        print('all videos and annotation lines are good')
        return 0
    title = '1 bad entry:' if len(bad) == 1 else f'{len(bad)} bad entries:'
    print(format_listing(title, [str(b) for b in bad],
                         limit=len(bad)))
    return 1


if __name__ == '__main__':
    sys.exit(main())
