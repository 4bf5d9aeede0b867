"""``benchmarks/gpu_check.py --device cpu --quick``: the GPU check's smoke
run. Every check passes on the CPU, and the side-by-side table's exact
column (saved-activation bytes) is right; timings are not checked."""
from bench_runner import run_bench

SCRIPT = 'gpu_check.py'


def test_quick_cpu_run_passes_every_check(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--device', 'cpu', '--quick')
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    report = (tmp_path / 'gpu_check.md').read_text()
    assert 'FAIL' not in report
    for check in ('lean shift = plain path, autocast torch.bfloat16',
                  'TAdaConv2d depthwise 7x7 autocast', 'channels_last',
                  'compile (aot_eager) TSM saved bytes', 'streaming'):
        assert check in report
    saved = {}
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == 6 and cells[0] == 'float32':
            saved[cells[1]] = float(cells[2])
    assert saved['TSN'] == saved['TSN, control'] == saved['plugin TSM'] == 1
    assert saved['MMAction2 TSM'] > 1.05 and saved['TAda2D'] > 1


def test_cuda_without_a_gpu_is_one_clear_error(tmp_path):
    result = run_bench(SCRIPT, tmp_path, '--device', 'cuda')
    assert result.returncode == 2
    assert 'no CUDA device here' in result.stderr
