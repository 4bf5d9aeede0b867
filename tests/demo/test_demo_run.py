"""The demo job: configs, helpers, and one short run of the stock tools."""
import argparse
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction

import tsm_plugin  # noqa: F401  (allow-lists mmengine checkpoint types)
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


def test_demo_job_trains_and_tests_with_the_stock_tools(tmp_path, capsys):
    """One epoch on 8 videos: stock train.py, then stock test.py on the best
    checkpoint, both loading the plugin from the config's custom_imports."""
    results = run.main([
        '--work-dir', str(tmp_path), '--num-train', '8', '--num-val', '4',
        '--epochs', '1', '--models', 'TSM',
        '--cfg-options', 'test_dataloader.batch_size=3'
    ])
    # compact: a line per run, the tools' output in their logs, table last
    out = capsys.readouterr().out.splitlines()
    assert len(out) < 10, out
    assert out[-1].startswith('(chance'), out
    assert out[-2].split()[:3] == ['TSM', 'temporal', 'shift'], out
    logs = [tmp_path / 'tsm' / 'train.log', tmp_path / 'tsm' / 'test' / 'test.log']
    assert all(any(str(log) in line for line in out) for log in logs)
    # --cfg-options reach both stock tools (their config dumps)
    assert all('batch_size=3' in log.read_text() for log in logs)
    tsm = results['TSM']
    assert tsm['checkpoint'] == osp.join(str(tmp_path), 'tsm',
                                         'best_acc_top1_epoch_1.pth')
    # (too short to learn anything: what the demo shows is checked by
    # test_demo_tsm_sees_the_direction_of_time_tsn_does_not)

    # torch.load's weights_only default must accept mmengine's checkpoint
    checkpoint = torch.load(tsm['checkpoint'], map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    state = checkpoint['state_dict']
    # the plugin's shift wrapper is in the trained model
    assert 'backbone.layer1.0.conv1.conv.net.weight' in state

    train_records, val_records = run.read_scalars(tsm['work_dir'])
    assert train_records and all('loss' in r for r in train_records)
    assert [r['step'] for r in val_records] == [1]
    assert run.read_test_metrics(osp.join(tsm['work_dir'], 'test')) \
        ['acc/top1'] == tsm['test_top1']

    # that bi-directional checkpoint under the online demo's uni-directional
    # config: the stock test.py refuses it, naming both, before testing
    # (train.py's load_from and --resume build the same Runner and load
    # through the same call: tests/test_checkpoint_meta.py, in-process)
    online = osp.join(run.CONFIG_DIR, 'tsm_r18_online_demo.py')
    log = tmp_path / 'refused' / 'test.log'
    with pytest.raises(RuntimeError) as error:
        run.test(online, tsm['checkpoint'], str(log.parent),
                 run.data_root_options(str(tmp_path / 'data')), 'refused')
    message = str(error.value)
    assert ("shift_mode='bidirectional' in the checkpoint, "
            "shift_mode='unidirectional' in the config") in message
    assert tsm['checkpoint'] in message and online in message
    assert 'Epoch(test)' not in log.read_text()
    capsys.readouterr()

    with open(tmp_path / 'curves.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(tmp_path / 'results.txt') as f:
        assert f.read().splitlines()[2].split()[:3] == ['TSM', 'temporal',
                                                        'shift']
