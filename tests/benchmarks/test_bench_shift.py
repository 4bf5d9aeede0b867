"""`make bench` keeps working: a tiny run writes both tables, and its memory
figures (exact, unlike the timings, which are not checked) are right."""
import csv

from bench_runner import refuse_in_process, run_bench

SCRIPT = 'bench_shift.py'


def test_tiny_run_writes_tables_with_exact_memory(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--sizes', '32', '--rounds', '2',
                       '--train-rounds', '2', '--op-rounds', '2',
                       '--threads', '1')
    assert result.returncode == 0, result.stderr[-2000:]
    table = (tmp_path / 'bench_shift.md').read_text()
    for row in ('| TSN |', '| TSN, control |', '| MMAction2 |', '| plugin |',
                '| plugin lean_shift=False |', '| x.clone() |',
                '| plugin temporal_shift |', '| x.clone(), control |',
                '| plugin, the plain ops (what traces record) |'):
        assert row in table
    assert '## 32x32\n\ninference control wall-clock' in table
    with open(tmp_path / 'bench_shift.csv') as f:
        memory = {r['variant']: float(r['ratio']) for r in csv.DictReader(f)
                  if r['section'] == 'main' and r['metric'] == 'memory MB'}
    assert memory['TSN'] == memory['TSN, control'] == 1.0
    assert memory['plugin'] <= 1.01
    assert memory['MMAction2'] > 1.2 and memory['plugin lean_shift=False'] > 1.2


def test_too_few_rounds_is_refused(tmp_path):
    code, stderr = refuse_in_process(SCRIPT, tmp_path, '--rounds', '1')
    assert code == 2
    assert '--rounds must be >= 2, got 1' in stderr
    assert not (tmp_path / 'bench_shift.md').exists()
