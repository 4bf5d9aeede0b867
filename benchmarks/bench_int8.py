"""INT8 vs float32 graphs of trained checkpoints: test top-1 and ONNX Runtime
latency (CPU), in one run.

For each ``CONFIG CHECKPOINT`` pair (uni-directional models, e.g. the online
demo's ResNet-18 and MobileNetV2):

1. ``tsm_plugin.deploy.export`` writes the offline and the streaming graph,
   int8, calibrated on the first ``--calibration-videos`` val videos and
   checked on the next ``--check-videos`` (the float graph is kept beside it);
2. top-1 on the test split, float and int8, through the runner
   (``tsm_plugin/deploy/runner.py``, as on a device): offline (the test
   pipeline's sampled frames, ``inference_recognizer``'s scores) and streamed
   (every ``frame_step``-th frame, the running-average label at the last
   frame, as ``python -m tsm_plugin.online`` shows it);
3. latency per clip (offline, one clip of the test pipeline) and per
   streaming step (one frame + buffers), in ONNX Runtime: float, a second
   float session (control: its ratio is the noise), int8. The variants take
   turns in ``--rounds`` rounds (order rotating); ratio = median over rounds
   of the time / float's time in the same round (± half the interquartile
   range). Wall-clock and the process's CPU time.

    python benchmarks/bench_int8.py CONFIG1 CKPT1 [CONFIG2 CKPT2 ...] \\
        --data-root DATA --out benchmarks/results

Writes ``bench_int8.md`` / ``.csv`` under ``--out``.
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

import numpy as np

import tsm_plugin  # noqa: F401  (repairs the stack for mmaction.models)
from bench_shift import cpu_name, interleaved, paired_ratio, spread, \
    write_results
from tsm_plugin.deploy.runner import TSMRunner
from tsm_plugin.deploy.export import export, onnx_session
from tsm_plugin.deploy.quantize import split_videos

FLOAT, CONTROL, INT8 = 'float32', 'float32, a second session (noise)', 'int8'


def int8_instructions():
    """The CPU's 8-bit dot-product instructions, from /proc/cpuinfo."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = next(line for line in f if line.startswith('flags')).split()
    except (OSError, StopIteration):
        return 'unknown'
    wanted = ('avx512_vnni', 'avx_vnni', 'amx_int8', 'avx512bw', 'avx2')
    return ', '.join(f for f in wanted if f in flags) or 'none of ' + \
        ', '.join(wanted)


def accuracy(paths, videos, online):
    """Top-1 (%) of each graph in ``paths`` on ``videos`` via the runner."""
    out = {}
    for name, path in paths.items():
        runner = TSMRunner(path, threads=2)
        correct = 0
        for video, label in videos:
            if online:
                *_, (_, probs) = runner.stream(video)
            else:
                probs = runner.predict_video(video)
            correct += int(np.argmax(probs)) == label
        out[name] = 100 * correct / len(videos)
    return out


def latency_inputs(path, video, online):
    """A real input of the graph: the first test video's clip, or its 4th
    streamed frame with the buffers the 3 before left."""
    from tsm_plugin.deploy.runner import VideoFile
    runner = TSMRunner(path)
    reader = VideoFile(video)
    if not online:
        indices = runner.sample(len(reader))
        rows = runner.prepare([rgb for _, rgb in reader.frames(indices)])
        return {runner.inputs[0].name: rows.reshape(
            (-1, runner.num_segments) + rows.shape[1:])}
    frames = [rgb for _, rgb in reader.frames(
        range(0, len(reader), runner.frame_step))][:4]
    for rgb in frames[:3]:
        runner.step(rgb)
    return dict(zip([i.name for i in runner.inputs],
                    [runner.prepare(frames[3:], views=False)]
                    + runner.buffers))


def latency(paths, feed, threads, rounds, inner):
    sessions = {FLOAT: onnx_session(paths[FLOAT], threads),
                CONTROL: onnx_session(paths[FLOAT], threads),
                INT8: onnx_session(paths[INT8], threads)}

    def timed(session):
        def run():
            for _ in range(inner):
                session.run(None, feed)
        return run
    fns = {name: timed(s) for name, s in sessions.items()}
    for fn in fns.values():  # warm-up
        fn()
    return interleaved(fns, rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench_int8.py',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('pairs', nargs='+', metavar='CONFIG CHECKPOINT')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--out', default='benchmarks/results')
    parser.add_argument('--calibration-videos', type=int, default=32)
    parser.add_argument('--check-videos', type=int, default=16)
    parser.add_argument('--max-test', type=int, default=None)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--inner', type=int, default=20,
                        help='runs per timing (streaming steps: x4)')
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error('give CONFIG CHECKPOINT pairs')
    pairs = list(zip(args.pairs[::2], args.pairs[1::2]))
    rows, figures = [], []
    with tempfile.TemporaryDirectory() as folder:
        for config, checkpoint in pairs:
            name = osp.splitext(osp.basename(config))[0]
            for online in (False, True):
                graph = 'streaming step' if online else 'offline clip'
                stem = osp.join(folder, f"{name}-{'on' if online else 'off'}")
                start = time.perf_counter()
                result = export(config, checkpoint, stem + '-int8.onnx',
                                online=online, int8=True,
                                calibration_videos=args.calibration_videos,
                                check_videos=args.check_videos,
                                data_root=args.data_root,
                                float_out=stem + '-float.onnx')
                took = time.perf_counter() - start
                paths = {FLOAT: stem + '-float.onnx',
                         INT8: stem + '-int8.onnx'}
                from mmengine import Config
                test = split_videos(Config.fromfile(config), 'test',
                                    args.data_root)[:args.max_test]
                top1 = accuracy(paths, test, online)
                figures.append(dict(model=name, graph=graph,
                                    export_s=took, test_videos=len(test),
                                    check=result['int8'], **top1))
                print(figures[-1], file=sys.stderr, flush=True)
                feed = latency_inputs(paths[FLOAT], test[0][0], online)
                inner = args.inner * (4 if online else 1)
                wall, cpu = latency(paths, feed, args.threads, args.rounds,
                                    inner)
                for variant in (FLOAT, CONTROL, INT8):
                    row = dict(model=name, graph=graph, variant=variant)
                    for clock, times in (('wall', wall), ('cpu', cpu)):
                        ratios = [t / b for t, b in
                                  zip(times[variant], times[FLOAT])]
                        row.update({
                            f'{clock}_ms':
                            1000 * statistics.median(times[variant]) / inner,
                            f'{clock}_ratio':
                            paired_ratio(times, variant, FLOAT),
                            f'{clock}_spread': spread(ratios)})
                    rows.append(row)
    write(rows, figures, args)


def write(rows, figures, args):
    import onnxruntime
    lines = [
        '# INT8 vs float32 (`benchmarks/bench_int8.py`)', '',
        f'`python benchmarks/bench_int8.py {" ".join(args.pairs)} '
        f'--data-root {args.data_root} --rounds {args.rounds} --threads '
        f'{args.threads}`; {cpu_name()} (int8 instructions: '
        f'{int8_instructions()}), onnxruntime {onnxruntime.__version__}, '
        f'load average {os.getloadavg()[0]:.1f} at the end.', '',
        '## Test top-1 (through tsm_plugin/deploy/runner.py)', '',
        '| model | graph | test videos | float32 | int8 | int8 check on '
        'held-out val (agreement, max prob. diff.) | export + calibration |',
        '|---|---|---|---|---|---|---|']
    for f in figures:
        c = f['check']
        lines.append(
            f"| {f['model']} | {'streamed' if 'step' in f['graph'] else 'offline'} "
            f"| {f['test_videos']} | {f[FLOAT]:.1f}% | {f[INT8]:.1f}% | "
            f"{100 * c['top1_agreement']:.1f}% of {c['num_checked']} "
            f"{c['units']}, {c['max_score_difference']:.3f} | "
            f"{f['export_s']:.0f} s |")
    lines += ['', '## Latency (ONNX Runtime, CPU)', '',
              '| model | graph | variant | wall ms | wall ratio | CPU ms | '
              'CPU ratio |', '|---|---|---|---|---|---|---|']
    for row in rows:
        cells = []
        for clock in ('wall', 'cpu'):
            noise = (f" ± {row[f'{clock}_spread']:.3f}"
                     if row['variant'] != FLOAT else '')
            cells += [f"{row[f'{clock}_ms']:.2f}",
                      f"{row[f'{clock}_ratio']:.3f}{noise}"]
        lines.append(f"| {row['model']} | {row['graph']} | {row['variant']} "
                     '| ' + ' | '.join(cells) + ' |')
    write_results(args.out, 'bench_int8', lines, rows)
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
