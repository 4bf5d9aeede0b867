"""The TAda2D demo config is the TSN demo config with a TAda2D backbone, and
the demo runner offers it."""
import os.path as osp

from mmengine.config import Config

from tsm_plugin.demo import run


def test_tada_config_is_tsn_config_with_tada_backbone():
    tada, tsn = (Config.fromfile(osp.join(run.CONFIG_DIR, name)).to_dict()
                 for name in ('tada_r18_demo.py', 'tsn_r18_demo.py'))
    backbone = tada['model'].pop('backbone')
    assert backbone == dict(type='tsm_plugin.ResNetTAda', depth=18,
                            pretrained=None, num_segments=8)
    tsn['model'].pop('backbone')
    for config in (tada, tsn):  # the epochs may differ (see the config)
        config['train_cfg'].pop('max_epochs')
        config.pop('max_epochs')
        config.pop('param_scheduler')
    assert tada == tsn
    assert run.MODELS['TAda2D'][0] == 'tada_r18_demo.py'
