"""The demo's optional TSMBackbone models (``--models TSM-MNv2 TSN-MNv2``):
MMAction2's MobileNetV2 (x0.5) with and without the shift, in the core
install. Their training figures: docs/backbones.md."""
import os.path as osp

import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import tsm_plugin
from tsm_plugin.demo import run


def config(name):
    return Config.fromfile(osp.join(run.CONFIG_DIR, run.MODELS[name][0]))


def test_optional_and_differ_only_in_the_shift():
    assert {'TSM-MNv2', 'TSN-MNv2'} <= set(run.MODELS)
    assert not {'TSM-MNv2', 'TSN-MNv2'} & set(run.DEFAULT_MODELS)
    tsm, tsn = (config(n).to_dict() for n in ('TSM-MNv2', 'TSN-MNv2'))
    assert tsm['model']['backbone'].pop('is_shift') is True
    assert tsn['model']['backbone'].pop('is_shift') is False
    assert tsm == tsn
    # the R18 demos' data, pipelines and recipe, 12 epochs instead of 4
    r18 = Config.fromfile(osp.join(run.CONFIG_DIR, 'tsm_r18_demo.py'))
    schedule = ('max_epochs', 'train_cfg', 'param_scheduler')
    assert {k: v for k, v in tsm.items() if k not in ('model', *schedule)} \
        == {k: v for k, v in r18.to_dict().items()
            if k not in ('model', *schedule)}
    assert tsm['train_cfg']['max_epochs'] == 12
    assert tsm['train_cfg'] == dict(r18.train_cfg, max_epochs=12)


def test_builds_in_the_core_install_with_shifts_in_mobilenetv2():
    init_default_scope('mmaction')  # the configs' default_scope
    models = {n: MODELS.build(config(n).model) for n in ('TSM-MNv2', 'TSN-MNv2')}
    tsm, tsn = models['TSM-MNv2'].backbone, models['TSN-MNv2'].backbone
    assert isinstance(tsm, tsm_plugin.TSMBackbone) and tsm.source == 'mmaction'
    assert type(tsm.backbone).__name__ == 'MobileNetV2'
    assert tsm.placement_table().endswith('10 shifted modules')
    assert tsm.out_channels == config('TSM-MNv2').model.cls_head.in_channels
    assert not any(isinstance(m, tsm_plugin.TemporalShift)
                   for m in tsn.modules())
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert tsm.eval()(x).shape == tsn.eval()(x).shape == (4, 1280, 1, 1)
