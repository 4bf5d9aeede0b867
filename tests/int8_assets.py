"""Shared by tests/deploy/ and tests/test_doc_commands.py: demo mp4s, the
online demo model (uni-directional ResNet-18, 56 px) with random weights
whose BN statistics are measured on the demo frames (so its scores vary
from video to video, and an int8 error shows), and its four graphs: offline
and streaming, float32 and int8. Built once per session (cached by folder).
"""
import functools
import os
import os.path as osp
from pathlib import Path

import torch
from mmengine import Config
from mmengine.registry import init_default_scope
from online.online_helpers import calibrate

from tsm_plugin.demo.make_data import make_dataset
from tsm_plugin.deploy.export import export
from tsm_plugin.online.frames import FramePreprocessor, VideoFile

REPO = Path(__file__).resolve().parents[1]
ONLINE_CONFIG = REPO / 'configs' / 'demo' / 'tsm_r18_online_demo.py'
NUM_VAL, NUM_TEST = 10, 4
CALIBRATION, CHECK = 6, 4  # val videos: 6 calibrate, the other 4 check


def split(root, name):
    with open(osp.join(root, 'data', f'{name}.txt')) as f:
        return [(osp.join(root, 'data', line.split()[0]),
                 int(line.split()[1])) for line in f]


@functools.lru_cache(maxsize=None)
def assets(root):
    """``dict(config, checkpoint, model, val, test)`` under ``root``."""
    root = str(root)
    os.makedirs(root, exist_ok=True)
    data = osp.join(root, 'data')
    make_dataset(data, num_train=2, num_val=NUM_VAL, num_test=NUM_TEST)
    config = osp.join(root, 'config.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{str(ONLINE_CONFIG)!r}]\n')
        for loader in ('train', 'val', 'test'):
            f.write(f'{loader}_dataloader = dict(dataset=dict('
                    f'data_root={data!r}))\n')
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    preprocess = FramePreprocessor(model, cfg)
    frames = torch.cat([preprocess(rgb) for path, _ in split(root, 'val')[:4]
                        for _, rgb in VideoFile(path).frames()])
    model = calibrate(model, frames)
    checkpoint = osp.join(root, 'model.pth')
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return dict(config=config, checkpoint=checkpoint, root=root,
                val=split(root, 'val'), test=split(root, 'test'))


@functools.lru_cache(maxsize=None)
def graphs(root, online):
    """``(float path, int8 path, export's result)`` of one int8 export that
    keeps its float graph."""
    paths = assets(root)
    stem = osp.join(str(root), 'online' if online else 'offline')
    result = export(paths['config'], paths['checkpoint'], stem + '-int8.onnx',
                    online=online, int8=True, calibration_videos=CALIBRATION,
                    check_videos=CHECK, float_out=stem + '-float.onnx',
                    class_names=['pan right', 'pan left'])
    return stem + '-float.onnx', stem + '-int8.onnx', result


def base(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / 'int8_assets'
