"""Activation memory kept for backward, as a ratio to TSN, in each precision
and layout people train in: float32, ``torch.autocast`` (bfloat16 on the CPU),
``channels_last``, and both. Exact and deterministic (``saved_memory.py``:
unique storages autograd saves in one training forward; parameters and their
autocast casts skipped), so one run on any machine gives the figures.

    python benchmarks/saved_memory_modes.py --size 112 --out benchmarks/results

ResNet-50, 8 frames, one clip: TSN (the same net, no shift), the plugin's
TSM, the plugin with ``lean_shift=False`` (a shifted copy, then the conv),
MMAction2's built-in TSM, TAda2D (``ResNetTAda``). Writes
``saved_memory_modes.md`` under ``--out``. Compiled models: see
``tests/ops/test_compile_lean.py`` and ``benchmarks/gpu_check.py``.
"""
import argparse
import contextlib
import os.path as osp
import sys

import torch

import tsm_plugin  # noqa: F401  (repairs the stack for mmaction.models)
from mmaction.models import ResNetTSM as MMAction2ResNetTSM
from mmaction.registry import MODELS
from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.tools.saved_memory import saved_activation_bytes

MODELS_TO_COUNT = {
    'TSN': lambda: ResNetTSM(50, is_shift=False),
    'plugin TSM': lambda: ResNetTSM(50),
    'plugin lean_shift=False': lambda: ResNetTSM(50, lean_shift=False),
    'MMAction2 TSM': lambda: MMAction2ResNetTSM(50, num_segments=8,
                                                pretrained2d=False),
    'TAda2D': lambda: MODELS.build(dict(type='tsm_plugin.ResNetTAda',
                                        depth=50, num_segments=8)),
}
MODES = {  # name: (autocast dtype or None, memory format)
    'float32': (None, torch.contiguous_format),
    'bfloat16 autocast': (torch.bfloat16, torch.contiguous_format),
    'channels_last': (None, torch.channels_last),
    'channels_last + bfloat16 autocast': (torch.bfloat16, torch.channels_last),
}


def count(model, x, dtype, layout):
    model.to(memory_format=layout)
    context = torch.autocast('cpu', dtype=dtype) if dtype else \
        contextlib.nullcontext()
    with context:
        return saved_activation_bytes(model, x.to(memory_format=layout))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=112)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(8, 3, args.size, args.size)
    counts = {}
    for name, make in MODELS_TO_COUNT.items():
        model = make()
        counts[name] = {mode: count(model, x, *how)
                        for mode, how in MODES.items()}
        print(name, counts[name], flush=True)
    lines = [f'ResNet-50, 8 frames, {args.size} px, one clip: bytes autograd '
             'keeps, as a ratio to TSN in the same mode (TSN in MiB below).',
             f"`python benchmarks/saved_memory_modes.py {' '.join(sys.argv[1:])}`",
             '', '| model | ' + ' | '.join(MODES) + ' |',
             '|---|' + '---|' * len(MODES)]
    for name, row in counts.items():
        lines.append(f'| {name} | ' + ' | '.join(
            f"{row[m] / counts['TSN'][m]:.3f}" for m in MODES) + ' |')
    lines.append('| TSN, MiB | ' + ' | '.join(
        f"{counts['TSN'][m] / 2**20:.1f}" for m in MODES) + ' |')
    report = '\n'.join(lines) + '\n'
    print(report)
    if args.out:
        with open(osp.join(args.out, 'saved_memory_modes.md'), 'w') as f:
            f.write(report)


if __name__ == '__main__':
    main()
