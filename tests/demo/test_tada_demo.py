"""The TAda2D demo config is the TSN demo config with a TAda2D backbone (and
smaller frames, more epochs), and the demo runs it by default."""
import os.path as osp

from mmengine.config import Config

from tsm_plugin.demo import run


def load(name):
    return Config.fromfile(osp.join(run.CONFIG_DIR, name)).to_dict()


def test_tada_config_is_tsn_config_with_tada_backbone():
    tada, tsn = load('tada_r18_demo.py'), load('tsn_r18_demo.py')
    assert tada['model'].pop('backbone') == dict(
        type='tsm_plugin.ResNetTAda', depth=18, pretrained=None,
        num_segments=8)
    tsn['model'].pop('backbone')
    assert tada['model'] == tsn['model']
    differ = {k for k in tada.keys() | tsn.keys() if tada.get(k) != tsn.get(k)}
    assert differ == {'crop_size', 'max_epochs', 'train_cfg',
                      'param_scheduler', 'train_pipeline', 'val_pipeline',
                      'test_pipeline',
                      'train_dataloader', 'val_dataloader', 'test_dataloader'}
    for split in ('train', 'val', 'test'):
        loader = tada[f'{split}_dataloader']
        pipeline = loader['dataset'].pop('pipeline')
        assert pipeline == tada['train_pipeline' if split == 'train'
                                else 'val_pipeline']
        tsn[f'{split}_dataloader']['dataset'].pop('pipeline')
        assert loader == tsn[f'{split}_dataloader']
    crops = [s for s in tada['train_pipeline'] + tada['val_pipeline']
             if 'Crop' in s['type']]
    assert {s.get('size', s.get('crop_size')) for s in crops} == {32}
    assert 'Flip' not in [s['type'] for s in tada['train_pipeline']]
    assert run.MODELS['TAda2D'][0] == 'tada_r18_demo.py'
    assert run.DEFAULT_MODELS == ['TSM', 'TSN', 'TAda2D']
    # the schedule follows the epochs: cosine after the one warm-up epoch
    assert tada['train_cfg']['max_epochs'] == tada['max_epochs'] == 8
    assert tada['param_scheduler'][1]['T_max'] == 7
    assert tada['param_scheduler'][1]['end'] == 8
