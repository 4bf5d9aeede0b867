"""What the temporal shift costs: TSN vs MMAction2's ResNetTSM vs this plugin.

Builds in one process, with the same weights, ResNet-50 as
- ``TSN``: the plugin's ``ResNetTSM(is_shift=False)`` (the same net, no shift),
  and a second copy of it as a control (its ratio is the timing noise),
- ``MMAction2``: MMAction2 1.2.0's built-in ``mmaction.models.ResNetTSM``,
- ``plugin``: ``tsm_plugin.ResNetTSM`` (defaults: blockres, shift_div=8),
- ``plugin lean_shift=False``: the plugin's plain path (shift copy, then conv),
and measures, as ratios to TSN:
- activation memory kept for backward: bytes of the unique storages autograd
  saves in one training forward (``saved_tensors_hooks``, parameters skipped);
  exact and deterministic;
- inference: ``eval()`` + ``torch.no_grad()`` forward of one clip;
- training step: forward + backward of one clip in ``train()`` mode;
- the shift op alone, on the inputs of every shifted conv of the net, as a
  ratio to ``x.clone()`` of the same tensors;
- the shifted convs alone in inference, as a ratio to the same convs unshifted.
Timings: all in one process, on ``--threads`` threads, the variants take turns
in rounds (order rotating); a time is the median over rounds, a ratio the
median over rounds of the ratio within the round (the load of other workers
drifts between rounds). Wall-clock, and the process's CPU time over all its
threads (the work done, without the time spent waiting for a core). Then the
same ratios for 8/16/32 segments at 112 and 224 pixels.

    python benchmarks/bench_shift.py --out benchmarks/results   # make bench, ~6 min
    python benchmarks/bench_shift.py --quick                    # ~1 min

Writes ``bench_shift.md`` and ``bench_shift.csv`` under ``--out``.

OpenMP threads wait passively (``OMP_WAIT_POLICY=PASSIVE`` unless set): on a
machine shared with other busy workers, spinning threads fight them for the
cores and the same forward swung from 0.2 to 2.7 s between rounds.
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

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # before torch starts OpenMP
import torch  # noqa: E402

import tsm_plugin  # noqa: F401,E402  (repairs the stack for mmaction.models)
from mmaction.models import ResNetTSM as MMAction2ResNetTSM  # noqa: E402
from mmaction.models.backbones.resnet_tsm import \
    TemporalShift as MMAction2Shift  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from tsm_plugin.models.backbones.resnet_tsm import (  # noqa: E402
    ResNetTSM, unwrapped_name)
from tsm_plugin.ops import TemporalShift, temporal_shift  # noqa: E402
from tsm_plugin.ops.shifted_pointwise_conv import (  # noqa: E402
    MIN_PIXELS, can_run_pointwise, shifted_pointwise_conv2d)
from tsm_plugin.ops.temporal_shift import shifted_inplace  # noqa: E402
from tsm_plugin.saved_memory import saved_activation_bytes  # noqa: E402

TSN, TSN_AGAIN, MMA, PLUGIN, PLAIN = (
    'TSN', 'TSN, a second copy', 'MMAction2', 'plugin',
    'plugin lean_shift=False')
CLONE, OP_MMA, OP_COPY, OP_INPLACE = (
    'x.clone()', 'MMAction2 TemporalShift.shift', 'plugin temporal_shift',
    'plugin in place + restore (inside TemporalShift)')


def build_models(num_segments, variants):
    """The variants, all with the TSN's (random) weights."""
    makers = {
        TSN: lambda: ResNetTSM(50, num_segments=num_segments, is_shift=False),
        # A control: how far apart two identical nets time (the noise floor).
        TSN_AGAIN: lambda: ResNetTSM(50, num_segments=num_segments,
                                     is_shift=False),
        # pretrained2d=False: its init_weights crashes on pretrained=None.
        MMA: lambda: MMAction2ResNetTSM(
            50, num_segments=num_segments, pretrained2d=False),
        PLUGIN: lambda: ResNetTSM(50, num_segments=num_segments),
        PLAIN: lambda: ResNetTSM(50, num_segments=num_segments,
                                 lean_shift=False),
    }
    torch.manual_seed(0)
    models = {name: makers[name]() for name in variants}
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


def interleaved(fns, reps):
    """Seconds of each fn per round, wall-clock and process CPU; in a
    round each fn runs once, the order rotating between rounds (each fn
    takes each place in turn)."""
    wall, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for fn in fns.values():  # warm-up
        fn()
    for rep in range(reps):
        order = list(fns.items())
        shift = rep % len(order)
        for name, fn in order[shift:] + order[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def paired_ratio(times, name, base):
    """Median over rounds of time / base time in the same round.

    The load of the other workers on a shared machine comes and goes (here,
    the same forward takes from 0.2 to 2.7 s); within one round the variants
    mostly see the same load, so per-round ratios are far steadier than a
    ratio of medians.
    """
    return statistics.median(t / b for t, b in zip(times[name], times[base]))


def shifted_convs(tsn, x):
    """Every conv the plugin shifts (blockres: each conv1), with its input."""
    convs, inputs = [], []
    for layer in (tsn.layer1, tsn.layer2, tsn.layer3, tsn.layer4):
        for block in layer:
            convs.append(block.conv1.conv)
    hooks = [conv.register_forward_pre_hook(
        lambda module, args: inputs.append(args[0])) for conv in convs]
    inference(tsn.eval(), x)
    for hook in hooks:
        hook.remove()
    return convs, inputs


def op_costs(inputs, num_segments, reps):
    """Shift ops on the shifted convs' inputs, against ``clone()``: median
    seconds and paired ratio to clone()."""

    def inplace_and_back():
        for t in inputs:
            with shifted_inplace(t, num_segments, 8, 'bidirectional'):
                pass

    fns = {
        CLONE: lambda: [t.clone() for t in inputs],
        OP_MMA: lambda: [
            MMAction2Shift.shift(t, num_segments, 8) for t in inputs],
        OP_COPY: lambda: [temporal_shift(t, num_segments, 8) for t in inputs],
        OP_INPLACE: inplace_and_back,
    }
    with torch.no_grad():
        times, _ = interleaved(fns, reps)
    mb = sum(t.numel() * t.element_size() for t in inputs) / 2**20
    return {name: (statistics.median(times[name]),
                   paired_ratio(times, name, CLONE)) for name in fns}, \
        len(inputs), mb


def shifted_conv_costs(convs, inputs, num_segments, reps):
    """The shifted convs in inference, against the same convs unshifted (what
    TSN runs): median seconds and paired ratio to TSN's convs."""
    pairs = list(zip(convs, inputs))
    wrapped = [(TemporalShift(conv, num_segments, 8), t) for conv, t in pairs]

    def unshifted_products():
        # shift_div > channels: no channel moves, the same products run.
        for conv, t in pairs:
            if can_run_pointwise(conv, t):
                shifted_pointwise_conv2d(t, conv.weight, conv.bias,
                                         num_segments, t.shape[1] + 1,
                                         'bidirectional')
            else:
                conv(t)

    fns = {
        'TSN: conv(x)': lambda: [conv(t) for conv, t in pairs],
        'MMAction2: conv(TemporalShift.shift(x))': lambda: [
            conv(MMAction2Shift.shift(t, num_segments, 8)) for conv, t in pairs],
        'plugin: TemporalShift(conv)(x)': lambda: [
            module(t) for module, t in wrapped],
        'plugin\'s path without the shift': unshifted_products,
    }
    with torch.no_grad():
        times, _ = interleaved(fns, reps)
    return {name: (statistics.median(times[name]),
                   paired_ratio(times, name, 'TSN: conv(x)')) for name in fns}


def measure(num_segments, size, variants, reps, train_reps):
    """``{variant: {metric: (value, ratio to TSN)}}``, the TSN's timing noise
    and the times of every round."""
    models = build_models(num_segments, variants)
    x = torch.randn(num_segments, 3, size, size)
    rows = {name: {} for name in variants}
    memory = {name: saved_activation_bytes(model, x)
              for name, model in models.items()}
    for name in variants:
        rows[name]['memory_mb'] = (memory[name] / 2**20,
                                   memory[name] / memory[TSN])
    noise, rounds = {}, []
    for metric, step, n, train in (('inference', inference, reps, False),
                                   ('train', train_step, train_reps, True)):
        for model in models.values():
            model.train(train)
        wall, cpu = interleaved({name: (lambda m=m: step(m, x))
                                 for name, m in models.items()}, n)
        for key, times in ((f'{metric}_s', wall), (f'{metric}_cpu_s', cpu)):
            for name in variants:
                rows[name][key] = (statistics.median(times[name]),
                                   paired_ratio(times, name, TSN))
                rounds += [(name, key, i, t) for i, t in enumerate(times[name])]
        noise[metric] = _spread(wall[TSN])
    return rows, models[TSN], x, noise, rounds


def _spread(times):
    """Half the interquartile range over the median: how noisy a timing is."""
    q1, median, q3 = statistics.quantiles(times, n=4)
    return (q3 - q1) / 2 / median


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def fmt(value, digits=3):
    return f'{value:.{digits}f}'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='benchmarks/results')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, default=224,
                        help='resolution of the main table')
    parser.add_argument('--reps', type=int, default=11,
                        help='inference rounds (main table)')
    parser.add_argument('--train-reps', type=int, default=7)
    parser.add_argument('--op-reps', type=int, default=15)
    parser.add_argument('--scaling-reps', type=int, default=5)
    parser.add_argument('--quick', action='store_true',
                        help='fewer repetitions, smaller scaling grid')
    parser.add_argument('--no-scaling', action='store_true')
    args = parser.parse_args(argv)
    if args.quick:
        args.reps, args.train_reps, args.op_reps = 3, 2, 5
        args.scaling_reps = 2
    for name in ('reps', 'train_reps', 'op_reps', 'scaling_reps'):
        if getattr(args, name) < 2:  # the noise figure needs quartiles
            parser.error(f'--{name.replace("_", "-")} must be >= 2, got '
                         f'{getattr(args, name)}')
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmengine').setLevel(logging.ERROR)
    started = time.time()
    load_before = os.getloadavg()
    lines = []

    def emit(line=''):
        print(line, flush=True)
        lines.append(line)

    csv_rows = []
    variants = [TSN, TSN_AGAIN, MMA, PLUGIN, PLAIN]
    emit('# Temporal shift cost: TSN vs MMAction2 ResNetTSM vs tsm_plugin')
    emit()
    emit(f'ResNet-50 backbone, blockres, shift_div=8, bidirectional; one clip '
         f'(batch 1), float32; torch {torch.__version__}, {cpu_name()}, '
         f'{args.threads} threads (OMP_WAIT_POLICY='
         f'{os.environ["OMP_WAIT_POLICY"]}), {os.cpu_count()} CPUs, load '
         f'average {load_before[0]:.1f} at start.')
    emit('Ratios are to TSN (the same net, no shift), in the same process. '
         'Timings: the variants take turns in rounds; time = median over '
         'rounds, ratio = median over rounds of the ratio within the round.')
    emit()

    # Main table.
    t, size = 8, args.size
    rows, tsn, x, noise, rounds = measure(t, size, variants, args.reps,
                                          args.train_reps)
    emit(f'## {t} segments, {size}x{size}: ratios to TSN')
    emit()
    emit(f'{args.reps} inference / {args.train_reps} train rounds; TSN '
         f'wall-clock noise (half-IQR/median): inference '
         f'{noise["inference"]:.0%}, train {noise["train"]:.0%}. "CPU" is the '
         'process\'s CPU time (all threads): the same rounds, without the '
         'time the process waited for a core.')
    emit()
    columns = [('memory_mb', 'activation memory (MB)', 1),
               ('inference_s', 'inference (s)', 3),
               ('inference_cpu_s', 'inference CPU (s)', 3),
               ('train_s', 'train step (s)', 3),
               ('train_cpu_s', 'train step CPU (s)', 3)]
    emit('| variant | ' + ' | '.join(f'{title} | ratio'
                                     for _, title, _ in columns) + ' |')
    emit('|---|' + '---|---|' * len(columns))
    for name in variants:
        cells = [f'{rows[name][key][0]:.{digits}f} | {rows[name][key][1]:.3f}'
                 for key, _, digits in columns]
        emit(f'| {name} | ' + ' | '.join(cells) + ' |')
        for key, (value, ratio) in rows[name].items():
            csv_rows.append(dict(section='main', segments=t, size=size,
                                 variant=name, metric=key, value=value,
                                 ratio=ratio))
    for name, key, i, seconds in rounds:
        csv_rows.append(dict(section=f'round {i}', segments=t, size=size,
                             variant=name, metric=key, value=seconds,
                             ratio=None))
    emit()

    def costs_table(section, base, costs):
        """``costs``: ``{name: (seconds, ratio to base)}``."""
        emit(f'| {section} | time (ms) | ratio to {base} | share of TSN '
             'inference |')
        emit('|---|---|---|---|')
        for name, (seconds, ratio) in costs.items():
            share = seconds / rows[TSN]['inference_s'][0]
            emit(f'| {name} | {seconds * 1e3:.1f} | {ratio:.3f} | '
                 f'{share:.1%} |')
            csv_rows.append(dict(section=section, segments=t, size=size,
                                 variant=name, metric='time_s', value=seconds,
                                 ratio=ratio))
        emit()

    # The op alone.
    shifted, inputs = shifted_convs(tsn, x)
    ops, count, mb = op_costs(inputs, t, args.op_reps)
    emit(f'## The shift op alone ({count} tensors: the inputs of the shifted '
         f'convs above, {mb:.0f} MB; {args.op_reps} rounds)')
    emit()
    costs_table('op', 'clone()', ops)

    convs = shifted_conv_costs(shifted, inputs, t, args.op_reps)
    emit(f'## The shifted convs in inference ({count} conv1s, {args.op_reps} '
         'rounds)')
    emit()
    emit(f'The plugin runs a shifted 1x1 conv on maps of >= {MIN_PIXELS} '
         'pixels as matrix products that read the shifted frames where they '
         'lie (no data moved), other convs on the input shifted in place and '
         'moved back. The last row is the same path with no channel shifted: '
         'the gap to it is what the shift itself costs; the gap from it to TSN '
         'is the products vs oneDNN\'s conv.')
    emit()
    costs_table('shifted convs', 'TSN', convs)
    del tsn, x, shifted, inputs

    # Scaling.
    if not args.no_scaling:
        grid = [(8, 112), (16, 112), (32, 112), (16, 224), (32, 224)]
        if args.quick:
            grid = [(16, 112), (32, 112)]
        emit(f'## Scaling: ratios to TSN ({args.scaling_reps} rounds each; '
             f'the shift ops: {2 * args.scaling_reps} rounds, ratios to '
             'clone())')
        emit()
        emit('Timing cells: wall-clock / process CPU.')
        emit()
        emit('| segments | size | memory MMAction2 | memory plugin | '
             'inference MMAction2 | inference plugin | train MMAction2 | '
             'train plugin | op MMAction2 | op plugin in place | '
             'op plugin temporal_shift |')
        emit('|---|---|---|---|---|---|---|---|---|---|---|')
        for t, size in grid:
            scaling, tsn, x, _, _ = measure(
                t, size, [TSN, MMA, PLUGIN], args.scaling_reps,
                args.scaling_reps)
            ops, _, _ = op_costs(shifted_convs(tsn, x)[1], t,
                                 2 * args.scaling_reps)
            del tsn, x
            cells = [fmt(scaling[name]['memory_mb'][1]) for name in (MMA, PLUGIN)]
            cells += [f'{fmt(scaling[name][key][1])} / '
                      f'{fmt(scaling[name][key[:-2] + "_cpu_s"][1])}'
                      for key in ('inference_s', 'train_s')
                      for name in (MMA, PLUGIN)]
            cells += [fmt(ops[name][1]) for name in (OP_MMA, OP_INPLACE, OP_COPY)]
            emit(f'| {t} | {size} | ' + ' | '.join(cells) + ' |')
            for name in (TSN, MMA, PLUGIN):
                for key, (value, ratio) in scaling[name].items():
                    csv_rows.append(dict(
                        section='scaling', segments=t, size=size,
                        variant=name, metric=key, value=value, ratio=ratio))
            for name, (value, ratio) in ops.items():
                csv_rows.append(dict(section='scaling op', segments=t,
                                     size=size, variant=name, metric='time_s',
                                     value=value, ratio=ratio))
        emit()

    emit(f'Total {time.time() - started:.0f} s; load average '
         f'{os.getloadavg()[0]:.1f} at the end. Command: '
         f'`python {" ".join(sys.argv)}`')
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'bench_shift.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(args.out, 'bench_shift.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
        writer.writeheader()
        writer.writerows(csv_rows)


if __name__ == '__main__':
    main()
