"""The streaming benchmark keeps working: a tiny run writes a row per backbone
and stream count with every ratio (timings themselves are not asserted)."""
from bench_runner import refuse_in_process, run_bench

SCRIPT = 'bench_online.py'


def test_tiny_run_writes_a_row_per_backbone_and_stream_count(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--rounds', '2', '--size', '32',
                       '--streams', '1', '2', '--threads', '1')
    assert result.returncode == 0, result.stderr[-2000:]
    table = (tmp_path / 'bench_online.md').read_text()
    assert '| streaming step, concatenated shift (what traces record) |' \
        in table
    rows = [line.split('|')[1:-1] for line in table.splitlines()
            if line.startswith(('| ResNet-50', '| MobileNetV2'))]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        ('ResNet-50', '1'), ('ResNet-50', '2'),
        ('MobileNetV2', '1'), ('MobileNetV2', '2')]
    for row in rows:
        assert len(row) == 9
        frame_ms, *ratios = (float(cell) for cell in row[2:8])
        assert frame_ms > 0 and all(r > 0 for r in ratios)


def test_too_few_rounds_is_refused(tmp_path):
    code, stderr = refuse_in_process(SCRIPT, tmp_path, '--rounds', '1')
    assert code == 2
    assert '--rounds must be >= 2, got 1' in stderr
    assert not (tmp_path / 'bench_online.md').exists()
