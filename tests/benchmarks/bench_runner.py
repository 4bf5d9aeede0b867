"""Run a benchmark script of ``benchmarks/`` as ``make bench`` does."""
import contextlib
import io
import runpy
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


def refuse_in_process(script, out, *args):
    """The same command run in this process, as ``__main__`` (no interpreter
    start), for a run that must stop at its arguments: ``(exit status,
    stderr)``."""
    argv = [str(BENCHMARKS / script), '--out', str(out), *args]
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = argv
    sys.path.insert(0, str(BENCHMARKS))  # as python puts the script's folder
    err, code = io.StringIO(), 0
    try:
        with contextlib.redirect_stderr(err):
            runpy.run_path(argv[0], run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return code, err.getvalue()
