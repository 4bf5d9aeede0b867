"""`mim train` / `mim test` (openmim) on the plugin's demo config.

openmim 0.3.9 pulls in openxlab, which pins setuptools down and can disturb
the stack, so it stays out of the venv: it is installed with --no-deps into a
folder of its own, with only the packages its commands import, and run as
`python -m mim` with that folder on PYTHONPATH. mim imports pkg_resources,
which setuptools >= 81 no longer ships: the folder gets setuptools < 81.
"""
import subprocess
import sys

import pytest

from runner_utils import ACC_RE, DEMO_CONFIG, run, tiny_options

MIM_PACKAGES = [
    'openmim==0.3.9', 'click', 'tabulate', 'model-index', 'ordered-set',
    'markdown', 'requests', 'urllib3', 'idna', 'certifi',
    'charset-normalizer', 'pandas', 'python-dateutil', 'six',
    'setuptools>=77,<81']


@pytest.fixture(scope='session')
def mim_path(tmp_path_factory):
    target = tmp_path_factory.mktemp('openmim')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--target', str(target), *MIM_PACKAGES],
                   check=True, timeout=600)
    return str(target)


def test_mim_train_and_test_demo_config(tiny_data, tmp_path, mim_path):
    work_dir = tmp_path / 'work'
    mim = [sys.executable, '-m', 'mim']
    out = run([*mim, 'train', 'mmaction2', DEMO_CONFIG, '--work-dir', work_dir,
               *tiny_options(tiny_data)], cwd=tmp_path, PYTHONPATH=mim_path)
    assert 'Training finished successfully' in out
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.exists()

    out = run([*mim, 'test', 'mmaction2', DEMO_CONFIG, '--checkpoint',
               checkpoint, '--work-dir', tmp_path / 'test',
               *tiny_options(tiny_data)], cwd=tmp_path, PYTHONPATH=mim_path)
    assert 'Testing finished successfully' in out
    accuracy = [float(a) for a in ACC_RE.findall(
        '\n'.join(line for line in out.splitlines() if 'Epoch(test)' in line))]
    assert len(accuracy) == 1 and 0 <= accuracy[0] <= 1
    print(f'mim test: top-1 accuracy {accuracy[0]:.4f} '
          '(8 videos, 1 epoch of training: not meaningful)')
