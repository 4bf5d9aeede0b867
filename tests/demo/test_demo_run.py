"""The demo job: its configs and helpers (the run itself, with the stock
tools: test_demo_learns.py)."""
import argparse
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

from tsm_plugin.demo import run

TSM_CONFIG = osp.join(run.CONFIG_DIR, 'tsm_r18_demo.py')
TSN_CONFIG = osp.join(run.CONFIG_DIR, 'tsn_r18_demo.py')


def test_tsm_and_tsn_configs_differ_only_in_the_shift():
    tsm, tsn = (Config.fromfile(c).to_dict() for c in (TSM_CONFIG, TSN_CONFIG))
    assert tsm['model']['backbone'].pop('is_shift') is True
    assert tsn['model']['backbone'].pop('is_shift') is False
    assert tsm == tsn
    assert tsm['custom_imports']['imports'] == ['tsm_plugin']
    assert tsm['model']['type'] == 'tsm_plugin.Recognizer2D'
    assert tsm['model']['backbone']['type'] == 'tsm_plugin.ResNetTSM'
    assert tsm['model']['cls_head']['type'] == 'tsm_plugin.TSMHead'
    # mirroring a video would swap the two classes
    for pipeline in (tsm['train_pipeline'], tsm['val_pipeline']):
        assert 'Flip' not in [step['type'] for step in pipeline]


def test_stock_tools_are_found():
    for name in ('train.py', 'test.py'):
        path = run.mmaction_tool(name)
        assert osp.isfile(path)
        assert osp.join('mmaction', '.mim', 'tools') in path


@pytest.mark.parametrize('name', list(run.MODELS))
@pytest.mark.parametrize('epochs', [1, 3, 12])
def test_epochs_option_moves_the_schedule_end(name, epochs):
    """--epochs E: the cosine schedule ends with training (not at the
    config's own last epoch, after which the learning rate would stay 0)."""
    cfg = Config.fromfile(osp.join(run.CONFIG_DIR, run.MODELS[name][0]))
    parser = argparse.ArgumentParser()  # as the stock tools parse them
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg.merge_from_dict(parser.parse_args(
        ['--cfg-options', *run.epoch_options(epochs)]).cfg_options)
    warmup, cosine = cfg.param_scheduler
    assert cfg.train_cfg.max_epochs == epochs
    assert warmup.type == 'LinearLR' and warmup.end == 1
    assert cosine.type == 'CosineAnnealingLR' and cosine.begin == 1
    assert cosine.end == max(epochs, 2)
    assert cosine.T_max == max(epochs - 1, 1)


def test_table_and_best_epoch():
    assert run.best_val_epoch('/w/best_acc_top1_epoch_12.pth') == 12
    table = run.format_table({
        'TSM': dict(frames_meet='temporal shift', best_epoch=7,
                    val_top1=0.955, test_top1=0.94),
        'TSN': dict(frames_meet='never', best_epoch=2, val_top1=0.53,
                    test_top1=0.5),
        'TAda2D': dict(frames_meet='TAdaConv', best_epoch=12, val_top1=1.0,
                       test_top1=0.995)})
    lines = table.splitlines()
    assert lines[2].split() == ['TSM', 'temporal', 'shift', '7', '95.5%',
                                '94.0%']
    assert lines[3].split() == ['TSN', 'never', '2', '53.0%', '50.0%']
    assert lines[4].split() == ['TAda2D', 'TAdaConv', '12', '100.0%', '99.5%']
    # columns line up
    assert len({line.index('%') for line in lines[2:5]}) == 1
