"""MMAction2's stock tools/train.py on the demo config (stock VideoDataset,
DecordInit/DecordDecode) with a broken video: the error names the file, its
label and its annotation line; a missing file is named before training."""
import os
import subprocess
import sys

import numpy as np
from runner_utils import DEMO_CONFIG, TRAIN, tiny_options, tool_env

from tsm_plugin.demo.make_data import make_dataset

TRAINING_LOG = 'Epoch(train)'  # mmengine's line for each logged iteration


def train(data_root, work_dir):
    result = subprocess.run(
        [sys.executable, str(TRAIN), str(DEMO_CONFIG), '--work-dir', str(work_dir),
         *tiny_options(data_root)], cwd=DEMO_CONFIG.parents[2],
        env=tool_env(), capture_output=True, text=True, timeout=600,
        errors='replace')  # decord logs the random bytes it could not open
    return result.returncode, result.stdout + result.stderr


def test_train_names_broken_and_missing_videos(tmp_path):
    root = tmp_path / 'data'
    paths = make_dataset(str(root), num_train=8, num_val=2, num_test=2,
                         size=32, frames=8)
    broken = paths['train_videos'][2]  # line 3 of train.txt, label 0
    with open(broken, 'wb') as f:
        f.write(np.random.default_rng(0).bytes(3000))

    code, output = train(root, tmp_path / 'work1')
    assert code != 0
    assert (f'BadVideoError: loading video {broken} (label 0, line 3 of '
            f'{root}/train.txt) failed: RuntimeError: Error reading 3000 '
            'bytes...') in output, output[-3000:]

    missing = paths['val_videos'][1]  # line 2 of val.txt
    os.remove(missing)
    code, output = train(root, tmp_path / 'work2')
    assert code != 0
    assert (f'FileNotFoundError: 1 of the 2 videos listed in {root}/val.txt '
            'do not exist') in output, output[-3000:]
    assert f'line 2: {missing}' in output
    assert TRAINING_LOG not in output  # before the first iteration
