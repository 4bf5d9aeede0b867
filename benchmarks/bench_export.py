"""ONNX Runtime vs PyTorch latency of the exported TSM graphs (CPU).

For ResNet-50 TSM and MobileNetV2 TSM (the plugin's, 400 classes, random
weights), in one process:
- offline: one clip of ``--segments`` frames, bi-directional shift
  (``OfflineGraph``: backbone + head + the average over the clip);
- streaming: one step of one stream (a frame + the shift buffers),
  uni-directional shift (``StreamingRecognizer``'s pure step).
Each is timed in PyTorch (eager, ``eval()``, ``no_grad``), in a second PyTorch
copy of the same model (a control: its ratio is the timing noise) and in ONNX
Runtime (CPU provider, graph exported by ``tsm_plugin.deploy.export``). The
variants of a case take turns in rounds (order rotating); a ratio is the median
over rounds of the ratio to PyTorch within the round, its spread half the
interquartile range of those ratios. Before timing, every graph is checked
against PyTorch (``tsm_plugin.deploy.export.verify_*``).

Both runtimes get ``--threads`` threads; idle threads wait passively
(``OMP_WAIT_POLICY=PASSIVE``, ONNX Runtime ``allow_spinning=0``), so that on a
shared machine neither keeps cores busy while the other runs.

    python benchmarks/bench_export.py --out benchmarks/results   # ~5 min here
    python benchmarks/bench_export.py --quick                    # ~1 min

Writes ``bench_export.md`` and ``bench_export.csv`` under ``--out``.
"""
import argparse
import copy
import logging
import os
import os.path as osp
import statistics
import sys
import tempfile

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch starts OpenMP
import torch  # noqa: E402

import tsm_plugin  # noqa: F401,E402  (repairs the stack for mmaction.models)
from bench_shift import (check_rounds, cpu_name, interleaved,  # noqa: E402
                         paired_ratio, spread, write_results)
from mmengine.logging import MMLogger  # noqa: E402
from tsm_plugin.deploy.export import (  # noqa: E402
    OfflineGraph, export_module, io_names, offline_inputs, onnx_session,
    streaming_inputs, verify_offline, verify_streaming)
from tsm_plugin.online import StreamingRecognizer  # noqa: E402
from tsm_plugin.registry import MODELS  # noqa: E402

PYTORCH, CONTROL, ORT = ('PyTorch', 'PyTorch, a second copy',
                         'ONNX Runtime')
BACKBONES = {
    'ResNet-50': (dict(type='tsm_plugin.ResNetTSM', depth=50,
                       pretrained=None), 2048),
    'MobileNetV2': (dict(type='tsm_plugin.MobileNetV2TSM'), 1280),
}


def build_recognizer(name, num_segments, shift_mode):
    backbone, in_channels = BACKBONES[name]
    model = MODELS.build(dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(backbone, num_segments=num_segments,
                      shift_mode=shift_mode),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=400,
                      in_channels=in_channels, num_segments=num_segments),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    model.init_weights()
    return model.eval()


def case(name, online, size, segments, threads, inner, folder):
    """``{variant: fn}`` for one model and graph, after checking the graph;
    each fn runs it ``inner`` times."""
    recognizer = build_recognizer(
        name, segments, 'unidirectional' if online else 'bidirectional')
    generator = torch.Generator().manual_seed(0)
    path = osp.join(folder, f"{name}-{'online' if online else 'offline'}.onnx")
    if online:
        graph = StreamingRecognizer(recognizer).eval()
        inputs = streaming_inputs(graph, size, size, 1, generator)
        export_module(graph, inputs, path, *io_names(graph.num_buffers))
        verify_streaming(graph, path, size, size)
    else:
        graph = OfflineGraph(recognizer).eval()
        inputs = (offline_inputs(graph, size, size, 1, generator), )
        export_module(graph, inputs, path, ['frames'], ['scores'])
        verify_offline(graph, path, size, size)
    control = copy.deepcopy(graph)
    session = onnx_session(path, threads)
    feed = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}

    def pytorch(model):
        def run():
            with torch.no_grad():
                for _ in range(inner):
                    model(*inputs)
        return run

    def onnxruntime():
        for _ in range(inner):
            session.run(None, feed)

    return {PYTORCH: pytorch(graph), CONTROL: pytorch(control),
            ORT: onnxruntime}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench_export.py',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='benchmarks/results')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--segments', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=11)
    parser.add_argument('--inner', type=int, default=1,
                        help='runs per timing (streaming steps: x8)')
    parser.add_argument('--models', nargs='+', default=list(BACKBONES),
                        choices=list(BACKBONES))
    parser.add_argument('--quick', action='store_true',
                        help='112 px, 5 rounds')
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.rounds = 112, 5
    check_rounds(parser, args, ('rounds',), minimum=3)
    torch.set_num_threads(args.threads)
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            for online in (False, True):
                what = ('streaming step, 1 frame' if online else
                        f'offline clip, {args.segments} frames')
                print(f'{name}, {what} ...', file=sys.stderr, flush=True)
                inner = args.inner * (8 if online else 1)
                fns = case(name, online, args.size, args.segments,
                           args.threads, inner, folder)
                wall, cpu = interleaved(fns, args.rounds)
                for variant in fns:
                    row = dict(model=name, graph=what, variant=variant)
                    for clock, times in (('wall', wall), ('cpu', cpu)):
                        ratios = [t / b for t, b in
                                  zip(times[variant], times[PYTORCH])]
                        row.update({
                            f'{clock}_ms':
                            1000 * statistics.median(times[variant]) / inner,
                            f'{clock}_ratio':
                            paired_ratio(times, variant, PYTORCH),
                            f'{clock}_spread': spread(ratios)})
                    rows.append(row)
    write(rows, args)


def write(rows, args):
    load = os.getloadavg()[0]
    lines = [
        '# ONNX Runtime vs PyTorch latency (`benchmarks/bench_export.py`)', '',
        f'`python benchmarks/bench_export.py --size {args.size} --rounds '
        f'{args.rounds} --threads {args.threads}`; {cpu_name()}, '
        f'{args.threads} threads, torch {torch.__version__}, onnxruntime '
        f'{onnx_version()}; load average {load:.1f} at the end. Ratio: median '
        'over rounds of the time / PyTorch\'s time in the same round '
        '(± half the interquartile range); ms: median per run. Wall-clock, '
        'and CPU time of the process over all its threads (the work done, '
        'without the time spent waiting for a core).', '',
        '| model | graph | variant | wall ms | wall ratio | CPU ms | '
        'CPU ratio |', '|---|---|---|---|---|---|---|']
    for row in rows:
        cells = []
        for clock in ('wall', 'cpu'):
            noise = (f" ± {row[f'{clock}_spread']:.3f}"
                     if row['variant'] != PYTORCH else '')
            cells += [f"{row[f'{clock}_ms']:.1f}",
                      f"{row[f'{clock}_ratio']:.3f}{noise}"]
        lines.append(f"| {row['model']} | {row['graph']} | {row['variant']} | "
                     + ' | '.join(cells) + ' |')
    write_results(args.out, 'bench_export', lines, rows)
    print('\n'.join(lines))


def onnx_version():
    import onnxruntime
    return onnxruntime.__version__


if __name__ == '__main__':
    main()
