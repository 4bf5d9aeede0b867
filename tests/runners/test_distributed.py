"""Several processes: the stock tools/train.py under torchrun (gloo on CPU),
and the plugin backbone under sync_bn='torch'."""
import copy
import sys
from pathlib import Path

import torch
from mmengine.model import convert_sync_batchnorm
from torch.nn.modules.batchnorm import SyncBatchNorm, _BatchNorm

from runner_utils import (DEMO_CONFIG, TRAIN, assert_same_tensors,
                          load_checkpoint, run, tiny_options)
from tsm_plugin import MODELS

HERE = Path(__file__).resolve().parent


def test_torchrun_two_processes_train_one_model(tiny_data, tmp_path):
    """torchrun starts 2 processes of tools/train.py --launcher pytorch: each
    trains on its half of the data in DDP and ends with the same weights
    (gradients all-reduced; BN statistics averaged by SyncBuffersHook), which
    rank 0 saved in its checkpoint."""
    config = tmp_path / 'tsm_r18_demo_rank_weights.py'
    config.write_text(
        f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
        "custom_imports = dict(imports=['tsm_plugin', 'runner_utils'],\n"
        '                      allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='RankWeightsHook')]\n")
    work_dir = tmp_path / 'work'
    torchrun = Path(sys.executable).with_name('torchrun')
    run([torchrun, '--standalone', '--nproc_per_node', '2', TRAIN, config,
         '--launcher', 'pytorch', '--work-dir', work_dir,
         *tiny_options(tiny_data, 'env_cfg.dist_cfg.backend=gloo')],
        cwd=tmp_path, PYTHONPATH=str(HERE))

    ranks = [load_checkpoint(work_dir / f'rank{r}.pth') for r in range(2)]
    for rank in ranks:
        assert rank['wrapper'] == 'MMDistributedDataParallel'
        assert rank['world_size'] == 2
    assert_same_tensors(ranks[0]['state_dict'], ranks[1]['state_dict'])
    checkpoint = load_checkpoint(work_dir / 'epoch_1.pth')
    assert_same_tensors(checkpoint['state_dict'], ranks[0]['state_dict'])
    # 16 videos, 4 per process and iteration, 2 processes
    assert checkpoint['meta']['iter'] == 2


def test_sync_bn_converts_every_plugin_batchnorm():
    """The conversion Runner.wrap_model does for cfg.sync_bn='torch'
    (mmengine's convert_sync_batchnorm) reaches the BNs inside the shift
    wrappers (shift_place='block' wraps whole blocks), the temporal pool
    wrapper and the non-local blocks, and keeps the weights.

    Checked at model level: on CPU a run with sync_bn='torch' cannot train,
    DDP refuses the converted model ('SyncBatchNorm layers only work with GPU
    modules') and SyncBatchNorm's forward in a process group needs a GPU.
    """
    backbone = MODELS.build(dict(
        type='tsm_plugin.ResNetTSM', depth=18, num_segments=8, shift_place='block',
        temporal_pool=True, non_local=((0, 0), (1, 0), (1, 0), (0, 0)),
        non_local_cfg=dict(sub_sample=True, use_scale=False,
                           mode='dot_product',
                           norm_cfg=dict(type='BN3d', requires_grad=True))))
    backbone.init_weights()
    bn_names = [n for n, m in backbone.named_modules()
                if isinstance(m, _BatchNorm)]
    for where in ('.net.', 'non_local_block.', 'layer2.net.'):
        assert any(where in n for n in bn_names), where

    original = copy.deepcopy(backbone)
    converted = convert_sync_batchnorm(backbone, 'torch')
    modules = dict(converted.named_modules())
    assert all(isinstance(modules[n], SyncBatchNorm) for n in bn_names)
    assert not [n for n, m in modules.items() if isinstance(m, _BatchNorm)
                and not isinstance(m, SyncBatchNorm)]
    assert_same_tensors(original.state_dict(), converted.state_dict())

    # without a process group, SyncBatchNorm computes what BatchNorm does
    clips = torch.randn(2 * 8, 3, 32, 32)
    for mode in (True, False):
        with torch.no_grad():
            assert torch.equal(original.train(mode)(clips),
                               converted.train(mode)(clips))
