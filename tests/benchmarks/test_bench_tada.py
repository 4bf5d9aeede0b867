"""The TAda2D benchmark keeps working: a tiny run writes both tables with the
TAda2D rows beside TSM's; its exact figures (parameters, FLOPs, memory; not
the timings) are checked."""
import csv

from bench_runner import refuse_in_process, run_bench

SCRIPT = 'bench_tada.py'


def test_tiny_run_writes_tables_with_exact_figures(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--size', '32', '--reps', '2',
                       '--train-reps', '2', '--op-reps', '2',
                       '--threads', '1')
    assert result.returncode == 0, result.stderr[-2000:]
    table = (tmp_path / 'bench_tada.md').read_text()
    for row in ('| TSN |', '| TSN, a second copy |', '| TSM |', '| TAda2D |',
                '| 2D conv (TSN) |', '| TAdaConv2d (plugin) |',
                '| official: per-frame weights, grouped conv |',
                '| TAda2D, without the eager kernels |'):
        assert row in table
    with open(tmp_path / 'bench_tada.csv') as f:
        ratios = {(r['section'], r['variant'], r['metric']): float(r['ratio'])
                  for r in csv.DictReader(f)}
    for metric in ('params_m', 'gflops', 'memory_mb'):
        assert ratios['main', 'TSN, a second copy', metric] == 1.0
        assert ratios['main', 'TSM', metric] == 1.0  # the shift is free
    # the calibration and BN' add parameters (+13% for R50) and work
    assert 1.1 < ratios['main', 'TAda2D', 'params_m'] < 1.2
    assert ratios['main', 'TAda2D', 'gflops'] > 1.0
    # per-frame weights cost far more memory than the scaled input
    fast = ratios['op', 'TAdaConv2d (plugin)', 'memory_mb']
    official = ratios['op', 'official: per-frame weights, grouped conv',
                      'memory_mb']
    assert 1.0 < fast < official
    # the pool keeps nothing for backward, in place or not (the aggregation's
    # affine kernel runs outside autograd only)
    assert ratios['main', 'TAda2D', 'memory_mb'] == ratios[
        'main', 'TAda2D, without the eager kernels', 'memory_mb']


def test_too_few_rounds_is_refused(tmp_path):
    code, stderr = refuse_in_process(SCRIPT, tmp_path, '--op-reps', '1')
    assert code == 2
    assert '--op-reps must be >= 2, got 1' in stderr
    assert not (tmp_path / 'bench_tada.md').exists()
