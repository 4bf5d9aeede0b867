"""Run a benchmark script of ``benchmarks/`` as ``make bench`` does, but in
this process: ``runpy`` runs it as ``__main__`` with its own ``sys.argv``, so
no interpreter starts (torch and MMAction2 are already imported: about 6 s of
CPU saved per run on this machine)."""
import contextlib
import io
import logging
import os
import runpy
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

import torch
from mmengine.logging import MMLogger

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / 'benchmarks'


def run_bench(script, out, *args):
    """``python benchmarks/SCRIPT --out OUT ARGS...`` from the repo root, in
    process: a ``subprocess.CompletedProcess``-like result with
    ``returncode``, ``stdout`` and ``stderr`` (an exception's traceback ends
    ``stderr`` with returncode 1, as the interpreter would)."""
    argv = [str(BENCHMARKS / script), '--out', str(out), *map(str, args)]
    saved = sys.argv, list(sys.path), os.getcwd(), torch.get_num_threads()
    # the scripts quieten mmengine's loggers: later tests in this worker
    # must still see their warnings
    levels = {name: logger.level
              for name, logger in MMLogger._instance_dict.items()}
    sys.argv = argv
    sys.path.insert(0, str(BENCHMARKS))  # as python puts the script's folder
    os.chdir(ROOT)
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    try:
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            runpy.run_path(argv[0], run_name='__main__')
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:  # sys.exit('message'): printed to stderr, status 1
            stderr.write(f'{exit_.code}\n')
            code = 1
    except Exception:  # noqa: BLE001  (reported as the interpreter would)
        stderr.write(traceback.format_exc())
        code = 1
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        os.chdir(saved[2])
        torch.set_num_threads(saved[3])  # the scripts set their --threads
        for name, logger in list(MMLogger._instance_dict.items()):
            # a logger the script created: MMLogger's default, INFO
            logger.setLevel(levels.get(name, logging.INFO))
    return SimpleNamespace(returncode=code, stdout=stdout.getvalue(),
                           stderr=stderr.getvalue())


def refuse_in_process(script, out, *args):
    """A run that must stop at its arguments: ``(exit status, stderr)``."""
    result = run_bench(script, out, *args)
    return result.returncode, result.stderr
