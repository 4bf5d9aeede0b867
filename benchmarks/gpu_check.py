"""The GPU check: exactness of the shift and TAdaConv in every precision,
layout and mode, then TSN, TSM and TAda2D side by side. One command:

    python benchmarks/gpu_check.py --out benchmarks/results   # CUDA, < 5 min
    python benchmarks/gpu_check.py --device cpu --quick       # CI smoke run

1. Checks (each prints PASS or FAIL; any FAIL exits 1), on ``--device``:
   - the shift (eager and the plain ops) against a frame-by-frame reference,
     float32 / float16 / bfloat16, contiguous and ``channels_last`` (kept);
   - the lean shift against the plain path under autocast (float16 and
     bfloat16; float32 and low-precision inputs): outputs and gradients bit
     for bit;
   - TAdaConv2d under autocast (float32 and low-precision inputs): its
     Function equals its plain ops bit for bit, and float32 within 2%
     (norm-relative; ``tests/ops/test_autocast.py``);
   - ``channels_last`` kept by the lean shift, TAdaConv2d, temporal pool;
   - torch.compile (inductor on CUDA, ``aot_eager`` on the CPU): a TSM and a
     TAda2D stage's train step equal eager, and compiled TSM keeps compiled
     TSN's saved-activation bytes;
   - streaming: ``StreamingRecognizer`` equals the offline model over the
     whole stream.
2. Side by side in one run (``--quick``: ResNet-18, 4 frames, 32 px, batch 1;
   else ResNet-50, 8 frames, 224 px, batch 8): TSN, a second TSN (control),
   the plugin's TSM, MMAction2's TSM and TAda2D, in float32 and under
   autocast (float16 on CUDA, as ``--amp``; bfloat16 on the CPU), as ratios
   to TSN: saved-activation bytes (exact, ``saved_memory.py``); on CUDA the
   train step's peak memory (``torch.cuda.max_memory_allocated`` above the
   weights); train-step and inference time, the median over ``--rounds``
   rounds after warm-up, the variants taking turns (order rotating), CUDA
   events on a GPU. How far the control strays from 1 is the noise.

Writes ``gpu_check.md`` under ``--out`` (with the device's name).
"""
import argparse
import contextlib
import os.path as osp
import platform
import statistics
import sys
import time

import torch
from torch import nn

import tsm_plugin  # noqa: F401  (repairs the stack for mmaction.models)
from mmaction.models import ResNetTSM as MMAction2ResNetTSM
from mmaction.registry import MODELS
from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.ops import (TAdaConv2d, TemporalShift, temporal_avg_pool,
                            temporal_shift)
from tsm_plugin.ops import tadaconv as tadaconv_module
from tsm_plugin.ops.temporal_shift import _shift
from tsm_plugin.tools.saved_memory import saved_activation_bytes

CL = torch.channels_last
RESULTS = []  # (check, passed, detail)
QUICK = False


def check(name, passed, detail=''):
    RESULTS.append((name, bool(passed), detail))
    print(f"{'PASS' if passed else 'FAIL'}  {name}  {detail}", flush=True)


def reference_shift(x, t, shift_div):
    """Bidirectional shift frame by frame (not the package's code)."""
    fold = x.shape[1] // shift_div
    out = torch.zeros_like(x)
    for i in range(x.shape[0]):
        frame = i % t
        out[i, 2 * fold:] = x[i, 2 * fold:]
        if frame + 1 < t:
            out[i, :fold] = x[i + 1, :fold]
        if frame > 0:
            out[i, fold:2 * fold] = x[i - 1, fold:2 * fold]
    return out


def autocast(device, dtype):
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device, dtype=dtype)


def grads(out, leaves):
    return torch.autograd.grad(out.float().square().sum(), leaves,
                               retain_graph=True)


def norm_error(got, want):
    return ((got.float() - want.float()).norm() / want.float().norm()).item()


def low_dtypes(device):
    # both are autocast dtypes on CUDA and on the CPU; the CPU smoke run
    # (--quick) keeps bfloat16, the CPU's autocast default
    return [torch.bfloat16] if QUICK else [torch.float16, torch.bfloat16]


def check_shift(device):
    for dtype in [torch.float32] + low_dtypes(device):
        x = torch.randn(8, 16, 5, 6, device=device).to(dtype)
        want = reference_shift(x, 4, 8)
        for layout, xin in (('contiguous', x),
                            ('channels_last', x.to(memory_format=CL))):
            for kind, out in (('eager', temporal_shift(xin, 4)),
                              ('plain ops', _shift(xin, 4, 8,
                                                   'bidirectional'))):
                kept = out.is_contiguous(memory_format=CL) if \
                    layout == 'channels_last' else out.is_contiguous()
                check(f'shift {kind} {dtype} {layout}',
                      torch.equal(out, want) and kept)


def check_lean_autocast(device):
    for low in low_dtypes(device):
        for x_dtype in (torch.float32, low):
            conv = nn.Conv2d(32, 16, 3, padding=1).to(device)
            a = torch.randn(8, 32, 7, 7, device=device, requires_grad=True)
            leaves = [a, conv.weight, conv.bias]
            with torch.autocast(device, dtype=low):
                x = a.relu().to(x_dtype)
                lean = TemporalShift(conv, 4, 8)(x)
                plain = conv(reference_shift(x, 4, 8))
            same = torch.equal(lean, plain) and all(
                torch.equal(g, w) for g, w in zip(grads(lean, leaves),
                                                  grads(plain, leaves)))
            check(f'lean shift = plain path, autocast {low}, '
                  f'{x_dtype} input', same)


def tadaconv(device, depthwise):
    conv = nn.Conv2d(32, 32, 7, padding=3, groups=32) if depthwise else \
        nn.Conv2d(32, 32, 3, padding=1, bias=True)
    tada = TAdaConv2d.from_conv2d(conv, num_segments=4).to(device)
    with torch.no_grad():
        tada.calibration.temporal_conv2.weight.normal_(0, 0.1)
    return tada


def tada_step(tada, x, dtype, low, plain=False):
    saved = tadaconv_module.plain_ops_wanted
    if plain:
        tadaconv_module.plain_ops_wanted = lambda: True
    try:
        x = x.to(dtype).requires_grad_()
        with autocast(x.device.type, low):
            out = tada(x)
        return [out] + list(grads(out, [x, tada.weight]))
    finally:
        tadaconv_module.plain_ops_wanted = saved


def check_tadaconv_autocast(device):
    for depthwise in (False, True):
        tada = tadaconv(device, depthwise)
        x = torch.randn(8, 32, 10, 10, device=device)
        for low in low_dtypes(device):
            for x_dtype in (torch.float32, low):
                got = tada_step(tada, x, x_dtype, low)
                plain = tada_step(tada, x, x_dtype, low, plain=True)
                want = tada_step(tada, x.to(x_dtype).float(), torch.float32,
                                 torch.float32)
                errors = [norm_error(g, w) for g, w in zip(got, want)]
                check(f"TAdaConv2d{' depthwise 7x7' if depthwise else ''} "
                      f'autocast {low}, {x_dtype} input',
                      all(torch.equal(g, p) for g, p in zip(got, plain))
                      and max(errors) < 0.02,
                      f'max error vs float32 {max(errors):.4f}')


def check_channels_last(device):
    x = torch.randn(8, 32, 7, 7, device=device)
    x_cl = x.to(memory_format=CL).requires_grad_()
    conv = nn.Conv2d(32, 16, 3, padding=1).to(device)  # contiguous weight
    out = TemporalShift(conv, 4, 8)(x_cl)
    out.sum().backward()
    check('channels_last lean shift', out.is_contiguous(memory_format=CL)
          and x_cl.grad.is_contiguous(memory_format=CL) and torch.allclose(
              out, conv(reference_shift(x, 4, 8)), atol=1e-4))
    tada = tadaconv(device, False)
    out = tada.to(memory_format=CL)(x.to(memory_format=CL))
    check('channels_last TAdaConv2d', out.is_contiguous(memory_format=CL)
          and torch.allclose(out, tada(x), atol=1e-4))
    out = temporal_avg_pool(x.to(memory_format=CL), 4)
    check('channels_last temporal pool', out.is_contiguous(memory_format=CL)
          and torch.equal(out, temporal_avg_pool(x, 4)))


def check_compile(device, backend):
    def step(model, x):
        model.zero_grad()
        x = x.detach().clone().requires_grad_()
        out = model(x)
        out.float().square().sum().backward()
        return [out, x.grad] + [p.grad.clone() for p in model.parameters()]

    def stage(**kwargs):
        torch.manual_seed(0)
        return ResNetTSM(18, num_segments=4, **kwargs).layer1.to(device)

    x = torch.randn(8, 64, 8, 8, device=device)
    tsm, tsn = stage(), stage(is_shift=False)
    compiled = torch.compile(tsm, backend=backend)
    errors = [norm_error(g, w) for g, w in zip(step(compiled, x),
                                               step(tsm, x))]
    ratio = saved_activation_bytes(compiled, x) / saved_activation_bytes(
        torch.compile(tsn, backend=backend), x)
    check(f'compile ({backend}) TSM step = eager', max(errors) < 1e-4,
          f'max norm error {max(errors):.1e}')
    check(f'compile ({backend}) TSM saved bytes / TSN <= 1.01', ratio <= 1.01,
          f'{ratio:.3f}')
    for low in ([] if QUICK else low_dtypes(device)):
        # fresh compilations (past dynamo's recompile limit a frame runs
        # eagerly); compiled, autocast's weight casts are graph intermediates
        # and counted as saved, in TSN as in TSM
        torch._dynamo.reset()
        compiled = torch.compile(tsm, backend=backend)
        compiled_tsn = torch.compile(tsn, backend=backend)
        with torch.autocast(device, dtype=low):
            errors = [norm_error(g, w) for g, w in zip(step(compiled, x),
                                                       step(tsm, x))]
            ratio = saved_activation_bytes(compiled, x) / \
                saved_activation_bytes(compiled_tsn, x)
        # the same casts and kernels (bit for bit on the CPU, aot_eager)
        check(f'compile ({backend}) TSM step = eager, autocast {low}',
              max(errors) < 1e-3, f'max norm error {max(errors):.1e}')
        check(f'compile ({backend}) TSM saved bytes / TSN <= 1.01, autocast '
              f'{low}', ratio <= 1.01, f'{ratio:.3f}')
    torch._dynamo.reset()
    torch.manual_seed(0)
    tada = MODELS.build(dict(type='tsm_plugin.ResNetTAda', depth=18,
                             num_segments=4)).layer1.to(device)
    errors = [norm_error(g, w) for g, w in zip(
        step(torch.compile(tada, backend=backend), x), step(tada, x))]
    check(f'compile ({backend}) TAda2D step = eager', max(errors) < 1e-4,
          f'max norm error {max(errors):.1e}')


def check_streaming(device):
    from tsm_plugin.online import StreamingRecognizer

    def recognizer(t):
        torch.manual_seed(0)
        return MODELS.build(dict(
            type='tsm_plugin.Recognizer2D',
            backbone=dict(type='tsm_plugin.ResNetTSM', depth=18,
                          num_segments=t, shift_mode='unidirectional'),
            cls_head=dict(type='tsm_plugin.TSMHead', num_classes=5,
                          in_channels=512, num_segments=t),
            data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                                   format_shape='NCHW'))).to(device).eval()

    model, offline = recognizer(2), recognizer(4)
    offline.load_state_dict(model.state_dict())
    clip = torch.randn(4, 3, 32, 32, device=device)
    streamer = StreamingRecognizer(model)
    for layout in (torch.contiguous_format, CL):
        model.to(memory_format=layout)
        streamer.reset()
        got = torch.cat([streamer.step(f[None].contiguous(
            memory_format=layout)) for f in clip])
        with torch.no_grad():
            feats = offline.backbone(clip).mean((2, 3))
        want = offline.cls_head.fc_cls(feats)
        check(f'streaming = offline ({layout})',
              norm_error(got, want) < 1e-4, f'{norm_error(got, want):.1e}')


# ---------------------------------------------------------------- side by side
def variants(depth, t):
    tada_depth = depth if depth >= 50 else 18
    return {
        'TSN': lambda: ResNetTSM(depth, num_segments=t, is_shift=False),
        'TSN, control': lambda: ResNetTSM(depth, num_segments=t,
                                          is_shift=False),
        'plugin TSM': lambda: ResNetTSM(depth, num_segments=t),
        'MMAction2 TSM': lambda: MMAction2ResNetTSM(
            depth, num_segments=t, pretrained2d=False),
        'TAda2D': lambda: MODELS.build(dict(
            type='tsm_plugin.ResNetTAda', depth=tada_depth, num_segments=t)),
    }


class Timer:

    def __init__(self, device):
        self.cuda = device == 'cuda'

    def __call__(self, fn):
        if self.cuda:
            start, end = (torch.cuda.Event(enable_timing=True)
                          for _ in range(2))
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / 1000
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def side_by_side(device, depth, t, side, batch, rounds, warmup, amp_dtype):
    x = torch.randn(batch * t, 3, side, side, device=device)
    models = {name: make().to(device) for name, make in
              variants(depth, t).items()}
    timer = Timer(device)
    rows = {}
    for precision in (torch.float32, ) + ((amp_dtype, ) if amp_dtype else ()):
        def train(model):
            model.train()
            with autocast(device, precision):
                out = model(x)
            out.float().sum().backward()
            model.zero_grad(set_to_none=True)

        def infer(model):
            model.eval()
            with torch.no_grad(), autocast(device, precision):
                model(x)

        stats = {name: {} for name in models}
        for name, model in models.items():
            with autocast(device, precision):
                stats[name]['saved'] = saved_activation_bytes(model, x)
            if device == 'cuda':
                torch.cuda.synchronize()
                base = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                train(model)
                torch.cuda.synchronize()
                stats[name]['peak'] = torch.cuda.max_memory_allocated() - base
        for kind, fn in (('train', train), ('infer', infer)):
            for model in models.values():
                for _ in range(warmup):
                    fn(model)
            times = {name: [] for name in models}
            names = list(models)
            for r in range(rounds):  # the order rotates from round to round
                for name in names[r % len(names):] + names[:r % len(names)]:
                    times[name].append(timer(lambda: fn(models[name])))
            for name in models:
                # per round, the ratio to TSN; the median over rounds
                stats[name][kind] = statistics.median(
                    a / b for a, b in zip(times[name], times['TSN']))
                stats[name][kind + ' s'] = statistics.median(times[name])
        rows[str(precision).replace('torch.', '')] = stats
    return rows


def table(rows, device):
    cuda = device == 'cuda'
    head = ('| precision | model | saved activations | '
            + ('peak memory (train) | ' if cuda else '')
            + 'train step | inference | TSN train step (s) |')
    lines = [head, '|' + '---|' * (head.count('|') - 1)]
    for precision, stats in rows.items():
        tsn = stats['TSN']
        for name, s in stats.items():
            cells = [precision, name, f"{s['saved'] / tsn['saved']:.3f}"]
            if cuda:
                cells.append(f"{s['peak'] / tsn['peak']:.3f}")
            cells += [f"{s['train']:.3f}", f"{s['infer']:.3f}",
                      f"{tsn['train s']:.3f}" if name == 'TSN' else '']
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--quick', action='store_true',
                        help='ResNet-18, 4 frames, 32 px, batch 1, 2 rounds')
    parser.add_argument('--rounds', type=int, default=None)
    parser.add_argument('--out', default=None)
    args = parser.parse_args(argv)
    device = args.device
    global QUICK
    QUICK = args.quick
    if device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device here (torch '
                     f'{torch.__version__}); use --device cpu --quick')
    if args.rounds is not None and args.rounds < 2:
        parser.error(f'--rounds must be >= 2, got {args.rounds}')
    if device == 'cpu':  # small tensors: one thread (tests/ops/conftest.py)
        torch.set_num_threads(1)
    started = time.time()
    torch.manual_seed(0)
    print(f'gpu_check on {device}', flush=True)
    # The checks compare float32 results at float32 rounding: no TF32 convs,
    # and cuDNN's deterministic kernels (bit-for-bit checks run the same
    # kernel twice). The timings below run with the defaults users have.
    defaults = (torch.backends.cudnn.allow_tf32,
                torch.backends.cuda.matmul.allow_tf32,
                torch.backends.cudnn.deterministic)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    check_shift(device)
    check_lean_autocast(device)
    check_tadaconv_autocast(device)
    check_channels_last(device)
    check_compile(device, 'inductor' if device == 'cuda' else 'aot_eager')
    check_streaming(device)
    (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
     torch.backends.cudnn.deterministic) = defaults
    checked = time.time() - started
    if args.quick:
        setup = dict(depth=18, t=4, side=32, batch=1, warmup=1,
                     rounds=args.rounds or 2)
    else:
        setup = dict(depth=50, t=8, side=224, batch=8, warmup=3,
                     rounds=args.rounds or 11)
    # the CPU's bfloat16 is slow (no bfloat16 units on these machines): the
    # smoke run times float32 only; tests/ops/test_memory.py counts bfloat16
    amp = torch.float16 if device == 'cuda' else \
        None if args.quick else torch.bfloat16
    rows = side_by_side(device, amp_dtype=amp, **setup)
    name = torch.cuda.get_device_name() if device == 'cuda' else \
        (platform.processor() or platform.machine())
    failed = [r for r in RESULTS if not r[1]]
    report = '\n'.join([
        f'# gpu_check on {device}: {name}', '',
        f"torch {torch.__version__}; `python benchmarks/gpu_check.py "
        f"{' '.join(sys.argv[1:])}`; checks {checked:.0f} s, all "
        f'{time.time() - started:.0f} s.', '',
        f'## Checks: {len(RESULTS) - len(failed)} of {len(RESULTS)} passed',
        ''] + [f"- {'PASS' if ok else 'FAIL'} {n} {d}" for n, ok, d in RESULTS]
        + ['', f"## Side by side: ResNet-{setup['depth']}, {setup['t']} "
           f"frames, {setup['side']} px, batch {setup['batch']}, median of "
           f"{setup['rounds']} rounds; ratios to TSN, "
           + (f"autocast {str(amp).replace('torch.', '')} beside float32"
              if amp else 'float32 only'), '',
           table(rows, device), ''])
    print(report)
    if args.out:
        with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
            f.write(report)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
