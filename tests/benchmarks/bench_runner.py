"""Run a benchmark script of ``benchmarks/`` as ``make bench`` does."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / 'benchmarks'


def run_bench(script, out, *args):
    """``python benchmarks/SCRIPT --out OUT ARGS...``, from the repo root."""
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), '--out', str(out), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
