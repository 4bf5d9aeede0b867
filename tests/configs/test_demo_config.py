"""What a user does next with the demo config: test a model whose
num_segments differ from the pipeline's frames, pack samples with MMAction2's
stock PackActionInputs, point the config at other data."""
import copy
import logging

import pytest
import torch
from mmaction.datasets.transforms import PackActionInputs as StockPack
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from cfg_helpers import CONFIG_DIR, load
from tsm_plugin.demo.make_data import make_split
from tsm_plugin.models import clip_layout

DEMO = CONFIG_DIR / 'demo' / 'tsm_r18_demo.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@pytest.fixture(scope='module')
def demo_test_split(tmp_path_factory):
    """Two demo videos (one per class) and their annotation file `test.txt`."""
    root = tmp_path_factory.mktemp('demo_data')
    make_split(str(root), 'test', 2, size=64, frames=16, seed=0)
    return root


def with_segments(cfg, num_segments):
    cfg = copy.deepcopy(cfg)
    cfg.model.backbone.num_segments = num_segments
    cfg.model.cls_head.num_segments = num_segments
    return cfg


def test_runner_refuses_8_segments_on_the_demo_4_frame_pipeline(
        demo_test_split, tmp_path):
    """As `tools/test.py` runs it: MMAction2 alone reports an accuracy. The
    demo pipelines end with a plain `dict(type='PackActionInputs')`."""
    cfg = with_segments(load(DEMO), 8)
    assert cfg.test_dataloader.dataset.pipeline[-1] == dict(
        type='PackActionInputs')
    cfg.work_dir = str(tmp_path)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.data_root = str(demo_test_split)
    cfg.log_level = 'WARNING'
    cfg.visualizer.vis_backends = []
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'num_clips=4 x clip_len=1 = 4 frames '
                       r'per view, but the model has num_segments=8'):
        runner.test()


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_stock_pack_without_clip_keys_is_said_once(demo_test_split,
                                                   monkeypatch):
    """Samples without num_clips/clip_len (MMAction2's own PackActionInputs
    class, built directly: the registry gives the plugin's): the model cannot
    check, runs (2 segments: the 4 frames regroup into 2 clips), and says so
    once in the log."""
    monkeypatch.setattr(clip_layout, '_warned', set())
    cfg = with_segments(load(DEMO), 2)
    pipeline = copy.deepcopy(cfg.test_pipeline)
    pipeline[-1] = StockPack()  # default meta_keys
    video = str(demo_test_split / 'test' / '00000_0.mp4')
    data = pseudo_collate([Compose(pipeline)(
        dict(filename=video, label=0, start_index=0, modality='RGB'))])
    model = MODELS.build(cfg.model).eval()
    records = Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        with torch.no_grad():
            for _ in range(2):
                model.test_step(copy.deepcopy(data))
    finally:
        logger.removeHandler(records)
    said = [m for m in records.messages if 'num_clips and clip_len' in m]
    assert len(said) == 1, records.messages
    assert 'cannot check' in said[0] and 'num_segments=2' in said[0]
    assert "tsm_plugin.PackActionInputs" in said[0]


def test_data_root_as_the_config_comment_says(tmp_path):
    """`data_root = X` alone in a child config does not reach the datasets
    (mmengine substituted the base's value); the override that
    `_base_demo.py` documents does, for all three dataloaders."""
    base = str(CONFIG_DIR / 'demo' / '_base_demo.py')
    alone = tmp_path / 'alone.py'
    alone.write_text(f'_base_ = [{base!r}]\ndata_root = "/elsewhere"\n')
    cfg = Config.fromfile(str(alone))
    assert {cfg[k].dataset.data_root for k in LOADERS} == \
        {'work_dirs/demo/data'}

    documented = [line[len('#   '):] for line in open(base)
                  if line.startswith('#   ') and 'dict(data_root' in line
                  or line.startswith("#   data_root = ")]
    assert len(documented) == 4, documented
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{base!r}]\n' + ''.join(documented).replace(
        "'OUT'", "'/elsewhere'"))
    cfg = Config.fromfile(str(child))
    assert {cfg[k].dataset.data_root for k in LOADERS} == {'/elsewhere'}


@pytest.mark.parametrize('config', sorted(
    p.name for p in (CONFIG_DIR / 'demo').glob('*.py')
    if not p.name.startswith('_')))
def test_cosine_schedule_ends_with_training(config):
    """A config that changes its epochs (the online demos keep 6, the
    MobileNetV2 demos train 12, _base_demo.py 4) restates its schedule: a
    cosine ending before training would leave the last epochs at lr 0, one
    ending after it would stop short of 0."""
    cfg = Config.fromfile(str(CONFIG_DIR / 'demo' / config))
    epochs = cfg.train_cfg.max_epochs
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.begin, warmup.end) == ('LinearLR', 0, 1)
    assert cosine.type == 'CosineAnnealingLR'
    assert (cosine.begin, cosine.end, cosine.T_max) == (1, epochs, epochs - 1)
