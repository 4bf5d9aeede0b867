"""The TAda2D configs (configs/tada/) hold the official TAda2D recipe and
network; the common config sweep (test_configs.py) builds and runs them. The
TAdaConvNeXt-T configs need the zoo extra: test_tadaconvnext_configs.py."""
import math

import pytest
import torch

from cfg_helpers import (CONFIG_DIR, build_model, config_files, data_samples,
                         load, sampler_of)

TADA_DIR = CONFIG_DIR / 'tada'
K400 = 'tada2d_imagenet-pretrained-r50_8xb16-8x8x1-100e_kinetics400-rgb.py'
RECIPES = {
    K400:
        dict(num_classes=400, epochs=100, warmup=8, lr=0.24, start_lr=0.01,
             train=(1, 8, 8), test=(10, 8, 8), crop='ThreeCrop'),
    'tada2d_imagenet-pretrained-r50_8xb16-1x1x8-64e_sthv2-rgb.py':
        dict(num_classes=174, epochs=64, warmup=4, lr=0.48, start_lr=1e-4,
             train=(8, 1, 1), test=(8, 1, 1), crop='ThreeCrop',
             twice_sample=True),
}


CONVNEXT = [  # tested in the zoo venv (test_tadaconvnext_configs.py)
    'tadaconvnext-t_imagenet-pretrained_8xb16-16x5x1-100e_kinetics400-rgb.py',
    'tadaconvnext-t_imagenet-pretrained_8xb16-1x1x16-64e_sthv2-rgb.py',
]


def test_every_tada_config_is_listed_here():
    assert sorted(p.name for p in TADA_DIR.glob('*.py')) == \
        sorted(list(RECIPES) + CONVNEXT)
    # the core sweep leaves out exactly the ConvNeXt ones (mmpretrain)
    assert sorted(p.name for p in config_files(zoo=True)
                  if p.parent == TADA_DIR) == sorted(CONVNEXT)


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_official_recipe(name):
    cfg, want = load(TADA_DIR / name), RECIPES[name]
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    assert backbone.type == 'tsm_plugin.ResNetTAda' and backbone.depth == 50
    assert backbone.pretrained == 'torchvision://resnet50'
    assert backbone.layout == 'official' and 'tada_init' not in backbone
    assert backbone.num_segments == head.num_segments == 8
    assert head.num_classes == want['num_classes']
    assert head.dropout_ratio == 0.5 and head.is_shift is False
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.nesterov, optimizer.weight_decay) == \
        ('SGD', want['lr'], 0.9, True, 1e-4)
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    assert 'constructor' not in cfg.optim_wrapper
    assert cfg.train_cfg.max_epochs == want['epochs']
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == want['warmup']
    assert math.isclose(warmup.start_factor * want['lr'], want['start_lr'])
    assert cosine.type == 'CosineAnnealingLR'
    assert (cosine.begin, cosine.end) == (want['warmup'], want['epochs'])
    for split in ('train', 'test'):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        s = sampler_of(pipeline)
        assert (s.num_clips, s.clip_len, s.frame_interval) == want[split]
        assert s.get('twice_sample', False) == (
            split == 'test' and want.get('twice_sample', False))
    test_steps = [s.type for s in cfg.test_dataloader.dataset.pipeline]
    assert want['crop'] in test_steps


@pytest.mark.parametrize('name', sorted(RECIPES))
def test_r50_configs_build_the_official_layout_and_init(name):
    """Official TAda2D-R50: no max-pool, layer1.0 (3x3 and shortcut) at
    stride 2, the generator's convs Kaiming-normal (fan out) with zero bias.
    (tests/models/backbones/test_resnet_tada.py checks this layout against
    the official network and the init in full.)"""
    cfg = load(TADA_DIR / name)
    backbone = dict(cfg.model.backbone, pretrained=None)  # nothing to load
    model = build_model(dict(cfg.model, backbone=backbone))
    model.init_weights()
    net = model.backbone
    assert isinstance(net.maxpool, torch.nn.Identity)
    assert net.layer1[0].conv2.conv.stride == (2, 2)
    assert net.layer1[0].downsample.conv.stride == (2, 2)
    assert net.tada_init == 'official'
    generator = net.layer1[0].conv2.conv.calibration
    assert generator.temporal_conv1.bias.abs().max() == 0
    fan_out = generator.temporal_conv1.weight[0, 0].numel() * \
        generator.temporal_conv1.weight.shape[0]
    std = generator.temporal_conv1.weight.std().item()
    assert abs(std / (2 / fan_out) ** 0.5 - 1) < 0.2


def test_kinetics_ten_clips_test_runs_through_the_model():
    """10 clips x 8 frames per sample: each 8-frame clip is one view."""
    cfg = load(TADA_DIR / K400)
    model = build_model(cfg.model).eval()
    with torch.no_grad():
        pred = model.predict(torch.randn(1, 10 * 8, 3, 32, 32),
                             data_samples(1, 10, 8))
    assert pred[0].pred_score.shape == (400, )
    # still refused: views of 4 frames, which the model would pair up
    with pytest.raises(ValueError, match='num_clips=4 x clip_len=4'):
        model.predict(torch.randn(1, 16, 3, 32, 32), data_samples(1, 4, 4))
