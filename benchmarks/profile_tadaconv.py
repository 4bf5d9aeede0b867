"""Where TAdaConv2d's time goes beyond its conv: the op taken apart.

On the inputs of TAda2D-R50's 16 TAdaConv2d (8 segments, one clip), in
inference (``no_grad``) or forward + backward (``--train``), times in
interleaved rounds (``bench_shift.interleaved``), as ratios to the plain conv
on ``x`` (what TSN runs), wall-clock and the process's CPU time:

- ``conv``, and ``conv, control`` (a second copy: the noise of every ratio);
- ``conv on a pre-made scaled input``: a freshly allocated input of the same
  layout, made outside the timing (does a new input cost the conv?);
- ``multiply + conv``: ``conv(x * a)`` with a fixed calibration ``a``;
- ``calibration + multiply + conv``: all of TAdaConv2d's work, no autograd
  Function;
- ``calibration alone``: the generator;
- ``TAdaConv2d``: the module.

``--profile`` also prints torch.profiler's table of the module's ops.

    python benchmarks/profile_tadaconv.py --size 112 --rounds 15
"""
import argparse
import os
import statistics
import time

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import tsm_plugin  # noqa: F401,E402
from bench_shift import (check_rounds, cpu_name, interleaved,  # noqa: E402
                         paired_ratio, threads_note, write_results)
from bench_tada import tada_inputs  # noqa: E402
from tsm_plugin.models.backbones.resnet_tada import ResNetTAda  # noqa: E402


def conv(tada, t):
    return F.conv2d(t, tada.weight, tada.bias, tada.stride, tada.padding,
                    tada.dilation, tada.groups)


def variants(pairs):
    with torch.no_grad():
        scaled = [t * tada.calibration(t)[:, :, None, None]
                  for tada, t in pairs]
        calibrations = [tada.calibration(t)[:, :, None, None]
                        for tada, t in pairs]
    return {
        'conv': lambda i, tada, t: conv(tada, t),
        'conv, control': lambda i, tada, t: conv(tada, t),
        'conv on a pre-made scaled input':
            lambda i, tada, t: conv(tada, scaled[i].requires_grad_(
                t.requires_grad)),
        'multiply + conv': lambda i, tada, t: conv(tada, t * calibrations[i]),
        'calibration + multiply + conv': lambda i, tada, t: conv(
            tada, t * tada.calibration(t)[:, :, None, None]),
        'calibration alone': lambda i, tada, t: tada.calibration(t),
        'TAdaConv2d': lambda i, tada, t: tada(t),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--train', action='store_true',
                        help='forward + backward (default: inference)')
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--out', help='also write profile_tadaconv.md here')
    args = parser.parse_args(argv)
    check_rounds(parser, args, ('rounds',))
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    start = time.time()
    torch.manual_seed(0)
    model = ResNetTAda(50, num_segments=8)
    pairs = [(tada.train(args.train), t.requires_grad_(args.train))
             for tada, t in tada_inputs(model,
                                        torch.randn(8, 3, args.size,
                                                    args.size))]
    fns = variants(pairs)

    def rounds_of(fn):
        def run():
            for i, (tada, t) in enumerate(pairs):
                out = fn(i, tada, t)
                if args.train:
                    out.sum().backward()
        return run

    with torch.set_grad_enabled(args.train):
        wall, cpu = interleaved({k: rounds_of(f) for k, f in fns.items()},
                                args.rounds)
    lines = [
        f'{len(pairs)} TAdaConv2d of TAda2D-R50 at {args.size} px, '
        f'{"forward + backward" if args.train else "inference"}, '
        f'{threads_note(args.threads)}, {args.rounds} rounds; {cpu_name()}; '
        f'load '
        f'average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the '
        f'end ({time.time() - start:.0f} s).', '',
        '| variant | wall (ms) | ratio | CPU (ms) | ratio |',
        '|---|---|---|---|---|']
    for name in fns:
        lines.append(
            f'| {name} | {statistics.median(wall[name]) * 1e3:.1f} | '
            f'{paired_ratio(wall, name, "conv"):.3f} | '
            f'{statistics.median(cpu[name]) * 1e3:.1f} | '
            f'{paired_ratio(cpu, name, "conv"):.3f} |')
    print('\n'.join(lines), flush=True)
    if args.out:
        write_results(args.out, 'profile_tadaconv', lines)
    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        with torch.set_grad_enabled(args.train), profile(
                activities=[ProfilerActivity.CPU]) as prof:
            rounds_of(fns['TAdaConv2d'])()
        print(prof.key_averages().table(sort_by='self_cpu_time_total',
                                        row_limit=15))


if __name__ == '__main__':
    main()
