"""The MobileOne-S4 TSM configs (configs/tsm, zoo extra): MMAction2's bundled
configs of the same names with only the model's types and its backbone's
num_segments changed; MMAction2's reparameterize tool turns a checkpoint of
the first into one that loads strictly into the second. (The sweeps of
test_configs.py and test_inference_api.py also run them.)"""
import runpy
import sys

import mmaction
import pytest
import torch
import yaml
from mmengine.config import Config

from cfg_helpers import (BUNDLED, CONFIG_DIR, TSM_CONFIG_DIR, build_model,
                         config_files, differences, load)
from live_weights import wake

pytestmark = pytest.mark.zoo

TRAIN = 'tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py'
DEPLOY = ('tsm_imagenet-pretrained-mobileone-s4_deploy_8xb16-1x1x16-50e_'
          'kinetics400-rgb.py')
MIM = f'{mmaction.__path__[0]}/.mim'  # the stock tools
ZOO_TYPES = ('tsm_plugin.MobileOneTSM', 'mmpretrain.', 'timm.', 'torchvision.')


@pytest.mark.parametrize('name', [TRAIN, DEPLOY])
def test_bundled_config_with_only_the_model_types_and_num_segments(name):
    ours = load(TSM_CONFIG_DIR / name).to_dict()
    theirs = Config.fromfile(f'{BUNDLED}/{name}').to_dict()
    assert sorted(differences(ours, theirs)) == [
        'custom_imports', 'model.backbone.num_segments',
        'model.backbone.type', 'model.cls_head.type', 'model.type']
    assert theirs['model']['backbone']['num_segments'] == 8  # the bug fixed
    assert ours['model']['backbone']['num_segments'] == \
        ours['model']['cls_head']['num_segments'] == 16
    assert ours['model']['backbone'].get('deploy', False) is (name == DEPLOY)


def test_configs_that_say_they_need_the_zoo_extra_do():
    """cfg_helpers.needs_zoo (what marks a config's tests `zoo`) reads the
    config's text; a config that says so builds a zoo type. (One that needs
    the extra without saying so fails the core venv's config sweep.)"""
    for path in config_files(zoo=True):
        text = str(load(path).model)
        assert any(t in text for t in ZOO_TYPES), path


def test_metafile_entries():
    entries = {m['Name']: m for m in
               yaml.safe_load((CONFIG_DIR / 'metafile.yml').read_text())
               ['Models']}
    for name in (TRAIN, DEPLOY):
        assert entries[name[:-3]]['Metadata']['Architecture'] == \
            'MobileOne-S4'
    model = build_model(load(TSM_CONFIG_DIR / TRAIN).model)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    assert entries[TRAIN[:-3]]['Metadata']['Parameters'] == f'{params:.2f}M'


def test_reparameterize_tool_gives_a_deploy_checkpoint(tmp_path, monkeypatch):
    """MMAction2's tools/convert/reparameterize_model.py on the training
    config: the result loads strictly into the deploy config's model, whose
    outputs are the trained model's. Only to 2% of the scale: float32
    rounding grows through S4's 42 blocks on random weights (exactness:
    tests/models/backbones/test_mobileone_tsm.py, in float64)."""
    model = build_model(load(TSM_CONFIG_DIR / TRAIN).model)
    frames = torch.randn(16, 3, 32, 32)
    wake(model.backbone, frames)
    trained = str(tmp_path / 'trained.pth')
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()),
               trained)
    deployed = str(tmp_path / 'deployed.pth')
    # in this process, where the plugin is imported: the tool imports
    # mmaction.apis first (the wheel's broken mmaction.models without it)
    monkeypatch.setattr(sys, 'argv', [
        'reparameterize_model.py', str(TSM_CONFIG_DIR / TRAIN), trained,
        deployed])
    runpy.run_path(f'{MIM}/tools/convert/reparameterize_model.py',
                   run_name='__main__')
    deploy = build_model(load(TSM_CONFIG_DIR / DEPLOY).model)
    deploy.load_state_dict(torch.load(deployed)['state_dict'], strict=True)
    model.eval()
    deploy.eval()
    with torch.no_grad():
        expected = model.backbone(frames)
        actual = deploy.backbone(frames)
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=0, atol=2e-2 * scale)
    # far from what an unconverted (random) deploy model gives
    fresh = build_model(load(TSM_CONFIG_DIR / DEPLOY).model).eval()
    with torch.no_grad():
        assert (fresh.backbone(frames) - expected).abs().max() > 0.5 * scale
