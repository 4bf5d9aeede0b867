"""What TAda2D costs next to TSM: TSN vs TSM vs TAda2D, and the TAdaConv op
against the official explicit formulation.

Builds in one process ResNet-50 backbones (8 segments, one clip):
- ``TSN``: ``tsm_plugin.ResNetTSM(is_shift=False)``, and a second copy of it
  as a control (its ratio is the timing noise),
- ``TSM``: ``tsm_plugin.ResNetTSM`` (defaults: blockres, shift_div=8),
- ``TAda2D``: ``tsm_plugin.ResNetTAda`` (defaults),
and measures, as ratios to TSN: parameters; FLOPs (mmengine's
``FlopAnalyzer``, fvcore's counter: one multiply-add is one FLOP, convs
(the calibration's 1D convs included) and norms counted, element-wise ops
not); activation memory kept for backward (``saved_activation_bytes``:
exact); inference (``eval()``, ``no_grad``) and training step (forward +
backward in ``train()``).

Then the op alone, on the inputs of TAda2D's 16 TAdaConv2d (its conv2s),
with the same calibration generator: the plugin's ``TAdaConv2d`` (input
scaled by the calibration, one ordinary conv) vs the official formulation
(per-frame weights ``a_t * W``, one grouped conv with N*T groups), and the
plain 2D conv (what TSN runs) as the base, in inference and forward +
backward, with the activation memory each keeps.

Timings: the variants take turns in rounds (order rotating); a time is the
median over rounds, a ratio the median over rounds of the within-round ratio.

    python benchmarks/bench_tada.py --out benchmarks/results
    python benchmarks/bench_tada.py --quick --size 112

Writes ``bench_tada.md`` and ``bench_tada.csv`` under ``--out``.
"""
import argparse
import contextlib
import logging
import os
import statistics
import sys
import time

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.analysis import FlopAnalyzer  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402

import tsm_plugin  # noqa: F401,E402  (repairs the stack for mmaction.models)
from bench_shift import (check_rounds, cpu_name, inference,  # noqa: E402
                         interleaved, paired_ratio, spread, threads_note,
                         train_step, write_results)
from tsm_plugin.models.backbones.resnet_tada import ResNetTAda  # noqa: E402
from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM  # noqa: E402
from tsm_plugin.ops import TAdaConv2d, tadaconv  # noqa: E402
from tsm_plugin.tools.saved_memory import saved_activation_bytes  # noqa: E402

TSN, TSN_AGAIN, TSM, TADA = 'TSN', 'TSN, a second copy', 'TSM', 'TAda2D'
TADA_PLAIN = 'TAda2D, without the eager kernels'
CONV, FAST, OFFICIAL = ('2D conv (TSN)', 'TAdaConv2d (plugin)',
                        'official: per-frame weights, grouped conv')


@contextlib.contextmanager
def plain_ops():
    """Run TAda2D's temporal pool and aggregation with their plain ops
    (out-of-place sums; BN, pool, BN' and the sum as separate ops), all else
    unchanged: the gain of their eager kernels (``avg_pool_by_sums.py``,
    ``aggregation_by_affine.py``)."""
    wanted = tadaconv.eager_kernels_wanted
    tadaconv.eager_kernels_wanted = lambda: False
    try:
        yield
    finally:
        tadaconv.eager_kernels_wanted = wanted


def with_plain_ops(fn):
    def run(*args):
        with plain_ops():
            return fn(*args)
    return run


def build_models(num_segments):
    torch.manual_seed(0)
    return {
        TSN: ResNetTSM(50, num_segments=num_segments, is_shift=False),
        # A control: how far apart two identical nets time (the noise floor).
        TSN_AGAIN: ResNetTSM(50, num_segments=num_segments, is_shift=False),
        TSM: ResNetTSM(50, num_segments=num_segments),
        TADA: ResNetTAda(50, num_segments=num_segments),
    }


def official_tadaconv2d(x, calibration, conv):
    """TAdaConv's official formulation (groups=1): one weight per frame, one
    grouped conv with N*T groups."""
    nt, c_in, h, w = x.shape
    weights = calibration[:, None, :, None, None] * conv.weight
    out = F.conv2d(x.reshape(1, nt * c_in, h, w),
                   weights.reshape(-1, c_in, *conv.kernel_size), None,
                   conv.stride, conv.padding, conv.dilation, nt)
    return out.view(nt, conv.out_channels, *out.shape[2:])


def tada_inputs(model, x):
    """Every TAdaConv2d of ``model`` with the input it gets."""
    pairs = []
    hooks = [m.register_forward_pre_hook(
        lambda module, args: pairs.append((module, args[0].detach())))
        for m in model.modules() if isinstance(m, TAdaConv2d)]
    inference(model.eval(), x)
    for hook in hooks:
        hook.remove()
    return pairs


def op_variants():
    """The ways to run the convs: ``{name: fn(conv, x) -> y}``."""
    return {
        CONV: lambda conv, t: F.conv2d(t, conv.weight, None, conv.stride,
                                       conv.padding, conv.dilation),
        FAST: lambda conv, t: conv(t),
        OFFICIAL: lambda conv, t: official_tadaconv2d(
            t, conv.calibration(t), conv),
    }


def op_costs(pairs, reps):
    """Median seconds and ratio to the 2D conv, inference and fwd + bwd, and
    the activation memory each formulation keeps."""
    variants = op_variants()
    inputs = [(conv.train(), t.requires_grad_()) for conv, t in pairs]

    def forward(fn):
        with torch.no_grad():
            for conv, t in inputs:
                fn(conv, t)

    def forward_backward(fn):
        for conv, t in inputs:
            fn(conv, t).sum().backward()

    results = {}
    for metric, step in (('inference', forward), ('train', forward_backward)):
        times, cpu = interleaved({name: (lambda f=fn: step(f))
                                  for name, fn in variants.items()}, reps)
        for name in variants:
            results.setdefault(name, {})[metric] = (
                statistics.median(times[name]), paired_ratio(times, name, CONV))
            results[name][f'{metric} CPU'] = (
                statistics.median(cpu[name]), paired_ratio(cpu, name, CONV))

    class Wrapped(torch.nn.Module):  # saved_activation_bytes takes a module
        def __init__(self, fn):
            super().__init__()
            self.fn = fn
            self.convs = torch.nn.ModuleList(c for c, _ in inputs)

        def forward(self, _):
            return sum(self.fn(c, t).sum() for c, t in inputs)

    base = None
    for name, fn in variants.items():
        mem = saved_activation_bytes(Wrapped(fn), None)
        base = base or mem
        results[name]['memory_mb'] = (mem / 2**20, mem / base)
    return results


def measure(models, x, reps, train_reps):
    rows = {name: {} for name in models}
    params = {n: sum(p.numel() for p in m.parameters())
              for n, m in models.items()}
    flops = {n: FlopAnalyzer(m.eval(), (x, )).unsupported_ops_warnings(False)
             .uncalled_modules_warnings(False).total()
             for n, m in models.items()}
    memory = {n: saved_activation_bytes(m, x) for n, m in models.items()}
    for name in models:
        rows[name]['params_m'] = (params[name] / 1e6,
                                  params[name] / params[TSN])
        rows[name]['gflops'] = (flops[name] / 1e9, flops[name] / flops[TSN])
        rows[name]['memory_mb'] = (memory[name] / 2**20,
                                   memory[name] / memory[TSN])
    with plain_ops():
        plain_memory = saved_activation_bytes(models[TADA], x)
    rows[TADA_PLAIN] = dict(rows[TADA], memory_mb=(
        plain_memory / 2**20, plain_memory / memory[TSN]))
    noise = {}
    for metric, step, n, train in (('inference', inference, reps, False),
                                   ('train', train_step, train_reps, True)):
        for model in models.values():
            model.train(train)
        fns = {name: (lambda m=m: step(m, x)) for name, m in models.items()}
        # the same TAda2D (same weights) with the plain ops
        fns[TADA_PLAIN] = with_plain_ops(fns[TADA])
        wall, cpu = interleaved(fns, n)
        for name in fns:
            rows[name][f'{metric}_s'] = (statistics.median(wall[name]),
                                         paired_ratio(wall, name, TSN))
            rows[name][f'{metric}_cpu'] = (statistics.median(cpu[name]),
                                           paired_ratio(cpu, name, TSN))
        noise[metric] = (spread(wall[TSN]),
                         paired_ratio(wall, TSN_AGAIN, TSN))
        noise[f'{metric} CPU'] = (spread(cpu[TSN]),
                                  paired_ratio(cpu, TSN_AGAIN, TSN))
    return rows, noise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='benchmarks/results')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--segments', type=int, default=8)
    parser.add_argument('--reps', type=int, default=9,
                        help='inference rounds')
    parser.add_argument('--train-reps', type=int, default=7)
    parser.add_argument('--op-reps', type=int, default=9)
    parser.add_argument('--quick', action='store_true',
                        help='3 rounds of everything')
    args = parser.parse_args(argv)
    if args.quick:
        args.reps = args.train_reps = args.op_reps = 3
    check_rounds(parser, args, ('reps', 'train_reps', 'op_reps'))
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmengine').setLevel(logging.ERROR)
    started, load_before = time.time(), os.getloadavg()
    lines, csv_rows = [], []

    def emit(line=''):
        print(line, flush=True)
        lines.append(line)

    t, size = args.segments, args.size
    models = build_models(t)
    x = torch.randn(t, 3, size, size)
    rows, noise = measure(models, x, args.reps, args.train_reps)
    emit('# TAda2D cost: TSN vs TSM vs TAda2D (tsm_plugin)')
    emit()
    emit(f'ResNet-50 backbones, {t} segments, one clip at {size}x{size}, '
         f'float32; torch {torch.__version__}, {cpu_name()}, '
         f'{threads_note(args.threads)}, {os.cpu_count()} CPUs, load average {load_before[0]:.1f} '
         'at start. Ratios to TSN, in one process; timings: the variants take '
         'turns in rounds, time = median over rounds, ratio = median of the '
         'within-round ratios. FLOPs: mmengine FlopAnalyzer (multiply-adds; '
         'element-wise ops not counted).')
    emit()
    emit(f'{args.reps} inference / {args.train_reps} train rounds. Control '
         f'(TSN, a second copy): inference {noise["inference"][1]:.3f}, train '
         f'{noise["train"][1]:.3f}; TSN half-IQR/median: inference '
         f'{noise["inference"][0]:.0%}, train {noise["train"][0]:.0%}. '
         f'CPU time (the process\'s, without the waits for a core): control '
         f'inference {noise["inference CPU"][1]:.3f}, train '
         f'{noise["train CPU"][1]:.3f}; TSN half-IQR/median: inference '
         f'{noise["inference CPU"][0]:.0%}, train {noise["train CPU"][0]:.0%}.')
    emit()
    columns = [('params_m', 'params (M)', 2), ('gflops', 'GFLOPs', 1),
               ('memory_mb', 'activation memory (MB)', 1),
               ('inference_s', 'inference (s)', 3),
               ('train_s', 'train step (s)', 3),
               ('inference_cpu', 'inference CPU (s)', 3),
               ('train_cpu', 'train step CPU (s)', 3)]
    emit('| variant | ' + ' | '.join(f'{title} | ratio'
                                     for _, title, _ in columns) + ' |')
    emit('|---|' + '---|---|' * len(columns))
    for name in rows:
        emit(f'| {name} | ' + ' | '.join(
            f'{rows[name][k][0]:.{d}f} | {rows[name][k][1]:.3f}'
            for k, _, d in columns) + ' |')
        for key, (value, ratio) in rows[name].items():
            csv_rows.append(dict(section='main', variant=name, metric=key,
                                 value=value, ratio=ratio))
    emit()

    pairs = tada_inputs(models[TADA], x)
    del models
    ops = op_costs(pairs, args.op_reps)
    emit(f'## The op alone ({len(pairs)} TAdaConv2d of TAda2D on their '
         f'inputs, calibration included; {args.op_reps} rounds)')
    emit()
    emit('| formulation | inference (ms) | ratio | forward + backward (ms) '
         '| ratio | inference CPU (ms) | ratio | forward + backward CPU (ms) '
         '| ratio | activation memory (MB) | ratio |')
    emit('|---|---|---|---|---|---|---|---|---|---|---|')
    for name, r in ops.items():
        emit(f'| {name} | ' + ' | '.join(
            f'{r[k][0] * 1e3:.1f} | {r[k][1]:.3f}' for k in (
                'inference', 'train', 'inference CPU', 'train CPU'))
            + f' | {r["memory_mb"][0]:.1f} | {r["memory_mb"][1]:.3f} |')
        for key, (value, ratio) in r.items():
            csv_rows.append(dict(section='op', variant=name, metric=key,
                                 value=value, ratio=ratio))
    emit()
    emit(f'Total {time.time() - started:.0f} s; load average '
         f'{os.getloadavg()[0]:.1f} at the end. Command: '
         f'`python {" ".join(sys.argv)}`')
    write_results(args.out, 'bench_tada', lines, csv_rows)


if __name__ == '__main__':
    main()
