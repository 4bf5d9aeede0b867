"""The TAda2D demo config is the TSN demo config with a TAda2D backbone (same
data, frames and recipe), and the demo runs it by default."""
import os.path as osp

from mmengine.config import Config

from tsm_plugin.demo import run


def load(name):
    return Config.fromfile(osp.join(run.CONFIG_DIR, name)).to_dict()


def test_tada_config_is_tsn_config_with_tada_backbone():
    tada, tsn = load('tada_r18_demo.py'), load('tsn_r18_demo.py')
    assert tada['model'].pop('backbone') == dict(
        type='tsm_plugin.ResNetTAda', depth=18, pretrained=None,
        num_segments=4)
    tsn['model'].pop('backbone')
    assert tada == tsn
    crops = [s for s in tada['train_pipeline'] + tada['val_pipeline']
             if 'Crop' in s['type']]
    assert {s.get('size', s.get('crop_size')) for s in crops} == {32}
    assert 'Flip' not in [s['type'] for s in tada['train_pipeline']]
    assert run.MODELS['TAda2D'][0] == 'tada_r18_demo.py'
    assert run.DEFAULT_MODELS == ['TSM', 'TSN', 'TAda2D']
    assert tada['train_cfg']['max_epochs'] == 4
