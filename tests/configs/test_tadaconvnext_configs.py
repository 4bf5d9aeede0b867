"""The TAdaConvNeXt-T configs (configs/tada/tadaconvnext-t_*): mmpretrain's
ConvNeXt-T, built offline (its ImageNet weights come with init_weights, not
the build), 18 depthwise TAdaConv2d with the LayerNorm aggregation, a clip
runs, the recipe as the docs cite it. Needs the zoo extra (mmpretrain).
Also the sweep over every config that needs the zoo extra: they build and
predict (as test_configs.py does for the core ones)."""
import math
import socket

import pytest
import torch
from cfg_helpers import (CONFIG_DIR, build_model, config_files, data_samples,
                         load, sampler_of)

from tsm_plugin.models.backbones.tada_backbone import TemporalAggregation
from tsm_plugin.ops import TAdaConv2d

pytestmark = pytest.mark.zoo

TADA_DIR = CONFIG_DIR / 'tada'
RECIPES = {
    'tadaconvnext-t_imagenet-pretrained_8xb16-16x5x1-100e_kinetics400-rgb.py':
        dict(num_classes=400, epochs=100, warmup=8, drop_path=0.2,
             train=(1, 16, 5), test=(4, 16, 5), twice_sample=False),
    'tadaconvnext-t_imagenet-pretrained_8xb16-1x1x16-64e_sthv2-rgb.py':
        dict(num_classes=174, epochs=64, warmup=2.5, drop_path=0.3,
             train=(16, 1, 1), test=(16, 1, 1), twice_sample=True),
}


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test: the build is offline."""
    def refuse(*args, **kwargs):
        pytest.fail(f'network access during the build: {args}')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)


def test_zoo_tada_configs_are_the_convnext_ones():
    assert sorted(p.name for p in config_files(zoo=True)
                  if p.parent.name == 'tada') == sorted(RECIPES)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_builds_offline_with_18_depthwise_tadaconvs_and_runs(name, no_network):
    cfg = load(TADA_DIR / name)
    model = build_model(cfg.model).eval()
    backbone = model.backbone
    assert type(backbone.backbone).__name__ == 'ConvNeXt'
    assert backbone.backbone.depths == [3, 3, 9, 3]  # ConvNeXt-T
    convs = {n: m for n, m in backbone.backbone.named_modules()
             if isinstance(m, TAdaConv2d)}
    assert len(convs) == 18
    assert all(n.endswith('depthwise_conv') for n in convs)
    assert all(c.groups == c.in_channels == c.out_channels
               and c.kernel_size == (7, 7) for c in convs.values())
    wrappers = [m for m in backbone.modules()
                if isinstance(m, TemporalAggregation)]
    assert len(wrappers) == 18
    assert {type(w.net).__name__ for w in wrappers} == {'LayerNorm2d'}
    t = cfg.model.backbone.num_segments
    with torch.no_grad():  # one clip of 16 frames, 32 px
        pred = model.predict(torch.randn(1, t, 3, 32, 32),
                             data_samples(1, 1, t))
    assert pred[0].pred_score.shape == (RECIPES[name]['num_classes'], )
    assert torch.isfinite(pred[0].pred_score).all()


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_recipe(name):
    cfg, want = load(TADA_DIR / name), RECIPES[name]
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    assert backbone.type == 'tsm_plugin.TAdaBackbone'
    inner = backbone.backbone
    assert (inner.type, inner.arch) == ('mmpretrain.ConvNeXt', 'tiny')
    assert inner.drop_path_rate == want['drop_path']
    assert inner.init_cfg.type == 'Pretrained'
    assert inner.init_cfg.checkpoint.endswith(
        'convnext-tiny_32xb128_in1k_20221207-998cf3e9.pth')
    assert inner.init_cfg.prefix == 'backbone.'
    assert backbone.num_segments == head.num_segments == 16
    assert (head.num_classes, head.in_channels, head.dropout_ratio,
            head.is_shift) == (want['num_classes'], 768, 0.5, False)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == \
        ('AdamW', 5e-4, 0.02)
    keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert keys['.calibration.'].lr_mult == keys['.pool_norm.'].lr_mult == \
        keys['cls_head'].lr_mult == 10
    assert cfg.train_cfg.max_epochs == want['epochs']
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == cosine.begin == want['warmup']
    assert math.isclose(warmup.start_factor * optimizer.lr, 1e-6)
    assert cosine.end == want['epochs']
    for split in ('train', 'test'):
        s = sampler_of(cfg[f'{split}_dataloader'].dataset.pipeline)
        assert (s.num_clips, s.clip_len, s.frame_interval) == want[split]
        assert s.get('twice_sample', False) == (
            split == 'test' and want['twice_sample'])
