"""The TAdaConv2d profile keeps working: a tiny run writes a row per variant
(timings themselves are not asserted)."""
from bench_runner import refuse_in_process, run_bench

SCRIPT = 'profile_tadaconv.py'


def test_tiny_run_writes_a_row_per_variant(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--size', '32', '--rounds', '2',
                       '--threads', '1',
                       '--train')
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split('|')[1:-1] for line in
            (tmp_path / 'profile_tadaconv.md').read_text().splitlines()
            if line.startswith('| ') and not line.startswith('| variant')]
    assert [r[0].strip() for r in rows] == [
        'conv', 'conv, control', 'conv on a pre-made scaled input',
        'multiply + conv', 'calibration + multiply + conv',
        'calibration alone', 'TAdaConv2d']
    assert all(float(r[1]) > 0 and float(r[3]) > 0 for r in rows)


def test_too_few_rounds_is_refused(tmp_path):
    code, stderr = refuse_in_process(SCRIPT, tmp_path, '--rounds', '1')
    assert code == 2
    assert '--rounds must be >= 2, got 1' in stderr
