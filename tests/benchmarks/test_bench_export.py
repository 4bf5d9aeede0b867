"""`benchmarks/bench_export.py` keeps working: a tiny run writes both tables
with every row (timings are not checked: they are noise at this size)."""
import csv

import pytest
from bench_runner import BENCHMARKS, run_bench

SCRIPT = 'bench_export.py'


def test_tiny_run_writes_every_row(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--models', 'MobileNetV2',
                       '--size', '32', '--rounds', '3', '--threads', '1')
    assert result.returncode == 0, result.stderr[-2000:]
    with open(tmp_path / 'bench_export.csv') as f:
        rows = {(r['graph'], r['variant']): float(r['wall_ratio'])
                for r in csv.DictReader(f)}
    graphs = ('offline clip, 8 frames', 'streaming step, 1 frame')
    variants = ('PyTorch', 'PyTorch, a second copy', 'ONNX Runtime')
    assert set(rows) == {(g, v) for g in graphs for v in variants}
    assert all(rows[g, 'PyTorch'] == 1.0 for g in graphs)
    assert all(ratio > 0 for ratio in rows.values())
    table = (tmp_path / 'bench_export.md').read_text()
    assert '| MobileNetV2 | streaming step, 1 frame | ONNX Runtime |' in table


def test_too_few_rounds_is_refused(tmp_path, monkeypatch, capsys):
    # in-process: the refusal comes before any model is built
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_export
    with pytest.raises(SystemExit) as exit_info:
        bench_export.main(['--out', str(tmp_path), '--rounds', '2'])
    assert exit_info.value.code == 2
    assert 'error: --rounds must be >= 3' in capsys.readouterr().err
    assert not (tmp_path / 'bench_export.csv').exists()
