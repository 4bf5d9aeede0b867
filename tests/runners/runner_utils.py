"""Helpers of the runner tests: MMAction2's stock tools on the demo config,
shrunk to a tiny data set, run as subprocesses of the venv's python."""
import json
import os
import re
import subprocess
from pathlib import Path

import mmaction
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

import tsm_plugin  # noqa: F401  (weights_only allow-list for torch.load below)

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'tsm_r18_demo.py'
TOOLS = Path(mmaction.__file__).parent / '.mim' / 'tools'
TRAIN = TOOLS / 'train.py'
ACC_RE = re.compile(r'acc/top1: ([0-9.]+)')


def tiny_options(data_root, *extra, max_epochs=1):
    """`--cfg-options` for the demo config on the tiny data set."""
    options = [f'{loader}.dataset.data_root={data_root}'
               for loader in ('train_dataloader', 'val_dataloader',
                              'test_dataloader')]
    options += ['train_dataloader.batch_size=4',
                'val_dataloader.batch_size=8', 'test_dataloader.batch_size=8',
                f'train_cfg.max_epochs={max_epochs}',
                'default_hooks.logger.interval=1', *extra]
    return ['--cfg-options', *options]


def tool_env(**extra):
    """The environment of a tool run: one thread per process (2 shared cores),
    and torch's default weights_only loading, not switched off."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD',
                        'TORCH_FORCE_WEIGHTS_ONLY_LOAD')}
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', **extra)
    return env


def run(cmd, cwd, timeout=600, **env):
    """Run a tool; fail with its output's tail when it fails."""
    result = subprocess.run([str(c) for c in cmd], cwd=cwd,
                            env=tool_env(**env), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (
        f'{" ".join(map(str, cmd))} exited {result.returncode}\n'
        f'{result.stdout[-3000:]}\n{result.stderr[-6000:]}')
    return result.stdout + result.stderr


def load_checkpoint(path):
    # weights_only=True, as torch >= 2.6 does by default: the plugin's
    # allow-list must cover whatever mmengine wrote into the checkpoint
    return torch.load(path, map_location='cpu', weights_only=True)


def assert_same_tensors(a, b):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} tensors differ: {different[:5]}'


def latest_scalars(work_dir):
    """The logged scalars of the latest run in ``work_dir`` (each run writes
    ``<timestamp>/vis_data/scalars.json``), less the timings."""
    path = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))[-1]
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if 'time' not in k} for r in records]


@HOOKS.register_module()
class RankWeightsHook(Hook):
    """After training, every process saves its weights, its model wrapper's
    class name and the world size to ``work_dir/rank{rank}.pth``."""

    def after_train(self, runner):
        rank, world_size = get_dist_info()
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        torch.save(dict(wrapper=type(runner.model).__name__,
                        world_size=world_size, state_dict=model.state_dict()),
                   Path(runner.work_dir) / f'rank{rank}.pth')
