"""What the temporal shift costs: TSN vs MMAction2's ResNetTSM vs this plugin.

Builds in one process, with the same weights, ResNet-50 (blockres,
shift_div=8, bidirectional, 8 segments, one clip) as
- ``TSN``: the plugin's ``ResNetTSM(is_shift=False)`` (the same net, no shift),
  and ``TSN, control``: a second copy of it, timed like any variant: how far
  its ratio strays from 1 is the noise of every ratio in the run;
- ``MMAction2``: MMAction2 1.2.0's built-in ``mmaction.models.ResNetTSM``;
- ``plugin``: ``tsm_plugin.ResNetTSM`` as configured by default (in
  training the lean Function, ``ops/lean_shift_conv.py``; in inference a
  shifted copy, then the conv);
- ``plugin lean_shift=False``: a shifted copy, then the conv, also in training
  (in inference the same code as ``plugin``: a second control);
and measures, as ratios to TSN, at each ``--sizes`` (pixels):
- activation memory kept for backward: bytes of the unique storages autograd
  saves in one training forward (``saved_tensors_hooks``, parameters skipped);
  exact and deterministic;
- inference: ``eval()`` + ``torch.no_grad()`` forward;
- train step: forward + backward in ``train()`` mode;
- the shift op alone, on the inputs of the net's shifted convs, as a ratio to
  ``x.clone()`` of the same tensors.
Timings: in one process, on ``--threads`` threads, the variants take turns in
rounds (the order rotating); a ratio is the median over rounds of the ratio to
TSN within the round (the load of other processes drifts between rounds).
Wall-clock, and the process's CPU time (the work done, without the waits for a
core).

    python benchmarks/bench_shift.py --out benchmarks/results   # make bench
    python benchmarks/bench_shift.py --quick --out /tmp/bench   # a few minutes

Writes ``bench_shift.md`` and ``bench_shift.csv`` under ``--out``. OpenMP
waits as the environment says (``threads_note``): unset, as users run,
threads spin a while before they sleep. On a shared, loaded machine
``OMP_WAIT_POLICY=PASSIVE`` keeps spinning threads from fighting the other
processes for the cores, but each wake-up then costs some 50 us, which
weighs on small ops (TAdaConv's calibration took 2.7x as long).
"""
import argparse
import csv
import logging
import os
import os.path as osp
import platform
import statistics
import sys
import time

import torch  # noqa: E402

import tsm_plugin  # noqa: F401,E402  (repairs the stack for mmaction.models)
from mmaction.models import ResNetTSM as MMAction2ResNetTSM  # noqa: E402
from mmaction.models.backbones.resnet_tsm import \
    TemporalShift as MMAction2Shift  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from tsm_plugin.models.backbones.resnet_tsm import (  # noqa: E402
    ResNetTSM, unwrapped_name)
from tsm_plugin.ops import temporal_shift  # noqa: E402
from tsm_plugin.ops.temporal_shift import _shift as plain_shift  # noqa: E402
from tsm_plugin.tools.saved_memory import saved_activation_bytes  # noqa: E402

SEGMENTS = 8
TSN, CONTROL, MMA, PLUGIN, PLAIN = (
    'TSN', 'TSN, control', 'MMAction2', 'plugin', 'plugin lean_shift=False')
VARIANTS = [TSN, CONTROL, MMA, PLUGIN, PLAIN]


def build_models():
    """The variants, all with the TSN's (random) weights."""
    makers = {
        TSN: lambda: ResNetTSM(50, num_segments=SEGMENTS, is_shift=False),
        CONTROL: lambda: ResNetTSM(50, num_segments=SEGMENTS, is_shift=False),
        # pretrained2d=False: its init_weights crashes on pretrained=None.
        MMA: lambda: MMAction2ResNetTSM(
            50, num_segments=SEGMENTS, pretrained2d=False),
        PLUGIN: lambda: ResNetTSM(50, num_segments=SEGMENTS),
        PLAIN: lambda: ResNetTSM(50, num_segments=SEGMENTS, lean_shift=False),
    }
    torch.manual_seed(0)
    models = {name: make() for name, make in makers.items()}
    weights = models[TSN].state_dict()
    for model in models.values():
        # Same keys up to the wrappers' '.net' (MMAction2 uses the same names).
        model.load_state_dict(
            {k: weights[unwrapped_name(k)] for k in model.state_dict()})
    return models


def inference(model, x):
    with torch.no_grad():
        model(x)


def train_step(model, x):
    model.zero_grad(set_to_none=True)
    model(x).sum().backward()


def interleaved(fns, rounds):
    """Seconds of each fn per round, wall-clock and process CPU; in a round
    each fn runs once, the order rotating so each takes each place in turn."""
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        fn()
    order = list(fns.items())
    for i in range(rounds):
        turn = i % len(order)
        for name, fn in order[turn:] + order[:turn]:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def ratios(times, base):
    """``{name: (median seconds, median over rounds of time / base time in
    the same round, half the interquartile range of those ratios)}``."""
    out = {}
    for name, seconds in times.items():
        per_round = [t / b for t, b in zip(seconds, times[base])]
        q1, median, q3 = statistics.quantiles(per_round, n=4)
        out[name] = (statistics.median(seconds),
                     statistics.median(per_round), (q3 - q1) / 2)
    return out


def paired_ratio(times, name, base):
    """Median over rounds of ``name``'s time / ``base``'s in the same round
    (used by the other benchmarks, which share this timing loop)."""
    return statistics.median(t / b for t, b in zip(times[name], times[base]))


def spread(values):
    """Half the interquartile range over the median: how noisy values are."""
    q1, median, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / 2 / median


def check_rounds(parser, args, names, minimum=2):
    """One argparse error for the first round count in ``names`` below
    ``minimum`` (the spread needs quartiles)."""
    for name in names:
        if getattr(args, name) < minimum:
            parser.error(f'--{name.replace("_", "-")} must be >= {minimum}, '
                         f'got {getattr(args, name)}')


def write_results(out, name, lines, csv_rows=None):
    """``OUT/NAME.md`` (the lines) and, given rows, ``OUT/NAME.csv``."""
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, f'{name}.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    if csv_rows:
        with open(osp.join(out, f'{name}.csv'), 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
            writer.writeheader()
            writer.writerows(csv_rows)


def shift_inputs(tsn, x):
    """The inputs of every conv the plugin shifts (blockres: each conv1)."""
    convs = [block.conv1.conv for layer in
             (tsn.layer1, tsn.layer2, tsn.layer3, tsn.layer4) for block in layer]
    inputs = []
    hooks = [conv.register_forward_pre_hook(
        lambda module, args: inputs.append(args[0])) for conv in convs]
    inference(tsn.eval(), x)
    for hook in hooks:
        hook.remove()
    return inputs


def each(op, inputs):
    """``op`` on each input in turn, each result dropped at once (as in the
    net, where the conv consumes it): the allocator reuses the memory. Kept
    in a list, the 16 results (176 MB at 224 px) make the allocator map
    fresh pages, and the page faults, not the op, set the time."""
    def run():
        for t in inputs:
            op(t)
    return run


def op_costs(inputs, rounds):
    """The shift ops alone, against ``clone()`` of the same tensors."""
    fns = {
        'x.clone()': each(torch.clone, inputs),
        'x.clone(), control': each(torch.clone, inputs),
        'MMAction2 TemporalShift.shift': each(
            lambda t: MMAction2Shift.shift(t, SEGMENTS, 8), inputs),
        'plugin temporal_shift': each(
            lambda t: temporal_shift(t, SEGMENTS, 8), inputs),
        'plugin, the plain ops (what traces record)': each(
            lambda t: plain_shift(t, SEGMENTS, 8, 'bidirectional'), inputs),
    }
    with torch.no_grad():
        wall, cpu = interleaved(fns, rounds)
    return {'shift op': ratios(wall, 'x.clone()'),
            'shift op CPU': ratios(cpu, 'x.clone()')}


def threads_note(threads):
    """How many threads, and how OpenMP's idle threads wait."""
    policy = os.environ.get('OMP_WAIT_POLICY', 'unset: spin, then sleep')
    return f'{threads} threads (OMP_WAIT_POLICY {policy})'


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def noise_note(results, metric):
    """What the control row says about the noise of ``metric``."""
    notes = []
    for key, clock in ((metric, 'wall-clock'), (f'{metric} CPU', 'CPU')):
        _, ratio, spread = results[key][CONTROL]
        off = abs(ratio - 1)
        verdict = 'within 1%' if off <= 0.01 else f'NOISY: off by {off:.1%}'
        notes.append(f'{clock} {ratio:.3f} ± {spread:.3f} ({verdict})')
    return f'{metric} control ' + ', '.join(notes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='benchmarks/results')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--sizes', type=int, nargs='+', default=[112, 224],
                        help='input resolutions (pixels)')
    parser.add_argument('--rounds', type=int, default=31,
                        help='inference rounds per size')
    parser.add_argument('--train-rounds', type=int, default=15)
    parser.add_argument('--op-rounds', type=int, default=21)
    parser.add_argument('--quick', action='store_true',
                        help='5 / 3 / 5 rounds: a smoke run, noisy')
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.train_rounds, args.op_rounds = 5, 3, 5
    check_rounds(parser, args, ('rounds', 'train_rounds', 'op_rounds'))
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmengine').setLevel(logging.ERROR)
    started, load = time.time(), os.getloadavg()[0]
    lines, csv_rows = [], []

    def emit(line=''):
        print(line, flush=True)
        lines.append(line)

    def table(section, size, first, results, extra=None):
        """``results``: ``{metric: {name: (seconds, ratio, spread)}}``."""
        names = list(next(iter(results.values())))
        metrics = list(results)
        emit(f'| {first} | ' + ' | '.join(
            f'{m} (s) | ratio ± spread' for m in metrics)
            + (f' | {extra[0]} | ratio' if extra else '') + ' |')
        emit('|---|' + '---|---|' * (len(metrics) + bool(extra)))
        for name in names:
            cells = [f'{results[m][name][0]:.4f} | '
                     f'{results[m][name][1]:.3f} ± {results[m][name][2]:.3f}'
                     for m in metrics]
            if extra:
                cells.append(f'{extra[1][name][0]:.1f} | '
                             f'{extra[1][name][1]:.3f}')
            emit(f'| {name} | ' + ' | '.join(cells) + ' |')
            for m in metrics:
                csv_rows.append(dict(zip(
                    ('section', 'size', 'variant', 'metric', 'value', 'ratio',
                     'spread'), (section, size, name, m, *results[m][name]))))
        emit()

    emit('# Temporal shift cost: TSN vs MMAction2 ResNetTSM vs tsm_plugin')
    emit()
    emit(f'ResNet-50 backbone, blockres, shift_div=8, bidirectional, '
         f'{SEGMENTS} segments, one clip, float32, CPU; torch '
         f'{torch.__version__}, {cpu_name()}, {threads_note(args.threads)}, '
         f'{os.cpu_count()} CPUs, load average {load:.1f} at the start. '
         f'{args.rounds} inference / {args.train_rounds} train / '
         f'{args.op_rounds} op rounds per size. Ratios to TSN (the same net, '
         'no shift): the median over rounds of the ratio within the round; '
         '"spread": half the interquartile range of the per-round ratios. '
         '"TSN, control" is a second copy of TSN: its distance from 1.000 is '
         'the noise of the run. CPU: the process\'s CPU time.')
    emit()
    for size in args.sizes:
        models = build_models()
        x = torch.randn(SEGMENTS, 3, size, size)
        memory = {name: saved_activation_bytes(model, x)
                  for name, model in models.items()}
        results = {}
        for metric, step, rounds, train in (
                ('inference', inference, args.rounds, False),
                ('train step', train_step, args.train_rounds, True)):
            for model in models.values():
                model.train(train)
            wall, cpu = interleaved({name: (lambda m=models[name]: step(m, x))
                                     for name in VARIANTS}, rounds)
            results[metric] = ratios(wall, TSN)
            results[f'{metric} CPU'] = ratios(cpu, TSN)
        emit(f'## {size}x{size}')
        emit()
        emit(noise_note(results, 'inference') + '; '
             + noise_note(results, 'train step') + '.')
        emit()
        mb = {name: (memory[name] / 2**20, memory[name] / memory[TSN])
              for name in VARIANTS}
        table('main', size, 'variant', results,
              ('activation memory (MB)', mb))
        for name, (value, ratio) in mb.items():
            csv_rows.append(dict(section='main', size=size, variant=name,
                                 metric='memory MB', value=value, ratio=ratio,
                                 spread=0))
        inputs = shift_inputs(models[TSN], x)
        del models
        emit(f'The shift op alone, on the inputs of the {len(inputs)} shifted '
             'convs (ratios to `x.clone()` of the same tensors):')
        emit()
        table('ops', size, 'op', op_costs(inputs, args.op_rounds))
    emit(f'Total {time.time() - started:.0f} s; load average '
         f'{os.getloadavg()[0]:.1f} at the end. Command: '
         f'`python {" ".join(sys.argv)}`')
    write_results(args.out, 'bench_shift', lines, csv_rows)


if __name__ == '__main__':
    main()
