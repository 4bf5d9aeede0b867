"""TAda2D's aggregation in inference: its eager kernel against its plain ops.

On the outputs of TAda2D-R50's 16 TAdaConv2d (8 segments, one clip, BN'
active), in ``no_grad``, times in interleaved rounds
(``bench_shift.interleaved``) as ratios to what TSN runs there, BN + ReLU:

- ``BN + ReLU (TSN)``, and a second copy of it (the noise of every ratio);
- ``aggregation, eager``: ``relu(BN(y) + BN'(AvgPool_t(y)))`` with
  ``ops/aggregation_by_affine.py`` (three affine passes);
- ``aggregation, plain ops``: BN, the pool, BN' and the sum as separate ops.

Wall-clock only: each variant takes a few ms, under the resolution at which
the process's CPU time is worth reading.

    python benchmarks/profile_aggregation.py --size 224 --rounds 31
"""
import argparse
import os
import time

import torch

import tsm_plugin  # noqa: F401
from bench_shift import (check_rounds, cpu_name, interleaved, ratios,
                         threads_note, write_results)
from bench_tada import plain_ops
from tsm_plugin.models.backbones.resnet_tada import ResNetTAda, TAdaConvModule
from tsm_plugin.ops.tadaconv import tada_aggregation

TSN = 'BN + ReLU (TSN)'


def aggregation_inputs(size):
    """Each TAdaConvModule of a TAda2D-R50 (BN' at 1) with its conv output."""
    torch.manual_seed(0)
    model = ResNetTAda(50, num_segments=8).eval()
    modules = [m for m in model.modules() if isinstance(m, TAdaConvModule)]
    outputs = []
    hooks = [m.conv.register_forward_hook(
        lambda module, args, out: outputs.append(out)) for m in modules]
    for m in modules:
        torch.nn.init.ones_(m.pool_bn.weight)
    with torch.no_grad():
        model(torch.randn(8, 3, size, size))
    for hook in hooks:
        hook.remove()
    return list(zip(modules, outputs))


def variants(pairs):
    def tsn():
        for m, y in pairs:
            m.activate(m.bn(y))

    def eager():
        for m, y in pairs:
            m.activate(tada_aggregation(y, m.bn, m.pool_bn, m.num_segments,
                                        m.pool_kernel))

    def plain():
        with plain_ops():
            eager()

    return {TSN: tsn, 'BN + ReLU, control': tsn,
            'aggregation, eager (three affine passes)': eager,
            'aggregation, plain ops': plain}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--rounds', type=int, default=31)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--out', help='also write profile_aggregation.md here')
    args = parser.parse_args(argv)
    check_rounds(parser, args, ('rounds',))
    torch.set_num_threads(args.threads)
    load, start = os.getloadavg()[0], time.time()
    pairs = aggregation_inputs(args.size)
    with torch.no_grad():
        wall, _ = interleaved(variants(pairs), args.rounds)
    lines = [
        f'{len(pairs)} aggregations of TAda2D-R50 at {args.size} px, '
        f'inference, {threads_note(args.threads)}, {args.rounds} rounds; '
        f'{cpu_name()}; load average {load:.1f} at the start, '
        f'{os.getloadavg()[0]:.1f} at the end ({time.time() - start:.0f} s).',
        '', '| variant | wall (ms) | ratio ± spread |', '|---|---|---|']
    for name, (seconds, ratio, spread) in ratios(wall, TSN).items():
        lines.append(f'| {name} | {seconds * 1e3:.2f} | {ratio:.3f} ± '
                     f'{spread:.3f} |')
    print('\n'.join(lines), flush=True)
    if args.out:
        write_results(args.out, 'profile_aggregation', lines)


if __name__ == '__main__':
    main()
