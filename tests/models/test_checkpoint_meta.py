"""A checkpoint whose training config (mmengine's ``meta['cfg']``) declares
another temporal shift than the config it is loaded with is refused, with
one error naming both values, by every way in: StreamingRecognizer, the live
command, online.evaluate, the export. Checkpoints without it still load."""
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tsm_plugin.models.checkpoint_meta import (CheckpointConfigMismatch,
                                               check_checkpoint_config)
from tsm_plugin.demo.make_data import make_clip, write_video
from tsm_plugin.deploy.export import export
from tsm_plugin.online import StreamingRecognizer
from tsm_plugin.online.__main__ import main as live_main
from tsm_plugin.online.evaluate import main as evaluate_main
from tsm_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo'
BIDIRECTIONAL = str(DEMO / 'tsm_r18_demo.py')  # what make demo trains
UNIDIRECTIONAL = str(DEMO / 'tsm_r18_online_demo.py')
MISMATCH = ("shift_mode='bidirectional' in the checkpoint, "
            "shift_mode='unidirectional' in the config")


def save(path, config, meta=True, **backbone):
    """A checkpoint as mmengine's runner writes it: ``meta['cfg']`` is the
    training config's text (``meta=False``: a bare one, as MMAction2's zoo
    has them)."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(backbone)
    init_default_scope('mmaction')
    model = MODELS.build(cfg.model)
    checkpoint = dict(state_dict=model.state_dict())
    if meta:
        checkpoint['meta'] = dict(cfg=cfg.pretty_text, seed=0, epoch=1)
    torch.save(checkpoint, path)
    return str(path)


@pytest.fixture(scope='module')
def bidirectional_checkpoint(tmp_path_factory):
    return save(tmp_path_factory.mktemp('ckpt') / 'best.pth', BIDIRECTIONAL)


def test_streaming_refuses_a_bidirectional_checkpoint(
        bidirectional_checkpoint):
    with pytest.raises(CheckpointConfigMismatch) as error:
        StreamingRecognizer.from_config(UNIDIRECTIONAL,
                                        bidirectional_checkpoint)
    message = str(error.value)
    assert MISMATCH in message
    assert bidirectional_checkpoint in message and UNIDIRECTIONAL in message
    # the demo samples 4 frames, the online demo 8: both differences named,
    # nothing else (only what differs)
    assert ('num_segments=4 in the checkpoint, num_segments=8 in the config'
            in message)
    assert 'shift_div' not in message and 'shift_place' not in message


@pytest.mark.filterwarnings(  # runpy: the module was imported above
    "ignore:'tsm_plugin.online.evaluate' found in sys.modules")
def test_live_command_and_evaluate_refuse_it_in_one_line(
        bidirectional_checkpoint, tmp_path, monkeypatch):
    video = str(tmp_path / 'video.mp4')
    write_video(video, make_clip(np.random.default_rng(0), size=32, frames=8))
    with pytest.raises(SystemExit, match=f'error: .*{MISMATCH}'):
        live_main([UNIDIRECTIONAL, bidirectional_checkpoint, video])
    with pytest.raises(CheckpointConfigMismatch, match=MISMATCH):
        evaluate_main([UNIDIRECTIONAL, bidirectional_checkpoint])
    # as a command: one line, no traceback
    monkeypatch.setattr(sys, 'argv', ['evaluate', UNIDIRECTIONAL,
                                      bidirectional_checkpoint])
    with pytest.raises(SystemExit, match=f'^error: .*{MISMATCH}'):
        runpy.run_module('tsm_plugin.online.evaluate', run_name='__main__')


def test_export_refuses_it(bidirectional_checkpoint, tmp_path):
    pytest.importorskip('onnxruntime')  # the export's own requirement
    with pytest.raises(CheckpointConfigMismatch, match=MISMATCH):
        export(UNIDIRECTIONAL, bidirectional_checkpoint,
               str(tmp_path / 'model.onnx'), online=True)
    assert not (tmp_path / 'model.onnx').exists()


def test_each_shift_argument_is_compared(tmp_path):
    checkpoint = save(tmp_path / 'c.pth', UNIDIRECTIONAL, shift_div=4,
                      shift_place='block')
    with pytest.raises(CheckpointConfigMismatch) as error:
        check_checkpoint_config(UNIDIRECTIONAL, checkpoint)
    assert ("shift_div=4 in the checkpoint, shift_div=8 in the config; "
            "shift_place='block' in the checkpoint, shift_place='blockres' in"
            ' the config') in str(error.value)
    cfg = Config.fromfile(UNIDIRECTIONAL)
    cfg.model.backbone.num_segments = 4
    with pytest.raises(CheckpointConfigMismatch,
                       match='num_segments=8 in the checkpoint, '
                       'num_segments=4 in the config'):
        check_checkpoint_config(cfg, save(tmp_path / 'd.pth',
                                          UNIDIRECTIONAL))


def test_defaults_count_as_declared(tmp_path):
    """A training config that leaves shift_mode out trained the class's
    default (bi-directional); MMAction2's own ResNetTSM has only that."""
    cfg = Config.fromfile(BIDIRECTIONAL)
    cfg.model.backbone.pop('shift_mode', None)
    path = tmp_path / 'default.py'
    cfg.dump(str(path))
    with pytest.raises(CheckpointConfigMismatch, match=MISMATCH):
        check_checkpoint_config(UNIDIRECTIONAL, save(tmp_path / 'a.pth', path))
    cfg.model.backbone.type = 'mmaction.ResNetTSM'
    cfg.model.backbone.pop('lean_shift', None)
    cfg.dump(str(path))
    with pytest.raises(CheckpointConfigMismatch, match=MISMATCH):
        check_checkpoint_config(UNIDIRECTIONAL, save(tmp_path / 'b.pth', path))
    check_checkpoint_config(BIDIRECTIONAL, str(tmp_path / 'b.pth'))


def test_matching_and_metaless_checkpoints_load(tmp_path):
    matching = save(tmp_path / 'online.pth', UNIDIRECTIONAL)
    streamer = StreamingRecognizer.from_config(UNIDIRECTIONAL, matching)
    assert streamer.recognizer.backbone.shift_mode == 'unidirectional'
    # no meta (MMAction2's zoo checkpoints): nothing to compare, it loads
    zoo = save(tmp_path / 'zoo.pth', BIDIRECTIONAL, meta=False)
    StreamingRecognizer.from_config(UNIDIRECTIONAL, zoo)
    check_checkpoint_config(UNIDIRECTIONAL, None)


# MMAction2's stock tools build an mmengine Runner from the config; the
# plugin (imported by the config's custom_imports) gives every Runner the
# check, run by Runner.load_checkpoint before the weights reach the model.
USER_CONFIG = '''
custom_imports = dict(imports=['tsm_plugin'])  # a user's config
default_scope = 'mmaction'
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNetTSM', depth=18, pretrained=None,
                  num_segments=4, shift_div={shift_div}),
    cls_head=dict(type='TSMHead', num_classes=2, in_channels=512,
                  num_segments=4),
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           format_shape='NCHW'))
'''


def stock_runner(config, tmp_path, **cfg):
    from mmengine.runner import Runner
    config = Config.fromfile(config)
    config.merge_from_dict(dict(work_dir=str(tmp_path / 'work'), **cfg))
    return Runner.from_cfg(config)


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.parametrize('resume', [False, True])
def test_stock_runner_refuses_it_before_the_weights_load(
        bidirectional_checkpoint, tmp_path, resume):
    """``load_from`` (tools/test.py CHECKPOINT, train.py load_from) and
    ``resume`` (train.py --resume) both go through Runner.load_checkpoint."""
    runner = stock_runner(UNIDIRECTIONAL, tmp_path, resume=resume,
                          load_from=bidirectional_checkpoint)
    before = weights(runner)
    with pytest.raises(CheckpointConfigMismatch) as error:
        runner.load_or_resume()
    message = str(error.value)
    assert MISMATCH in message
    assert bidirectional_checkpoint in message and UNIDIRECTIONAL in message
    after = weights(runner)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_stock_runner_checks_a_users_config_that_imports_the_plugin(
        bidirectional_checkpoint, tmp_path):
    configs = {}
    for shift_div in (4, 8):
        configs[shift_div] = tmp_path / f'user_div{shift_div}.py'
        configs[shift_div].write_text(USER_CONFIG.format(shift_div=shift_div))
    runner = stock_runner(configs[4], tmp_path,
                          load_from=bidirectional_checkpoint)
    with pytest.raises(CheckpointConfigMismatch,
                       match='shift_div=8 in the checkpoint, shift_div=4 in '
                       'the config') as error:
        runner.load_or_resume()
    assert f'than the config {configs[4]} declares' in str(error.value)
    # the same shift: it loads (the weights do change)
    runner = stock_runner(configs[8], tmp_path,
                          load_from=bidirectional_checkpoint)
    before = weights(runner)
    runner.load_or_resume()
    after = weights(runner)
    assert not all(torch.equal(before[k], after[k]) for k in before)
    hooks = [type(h).__name__ for h in runner.hooks]
    assert hooks.count('CheckpointShiftHook') == 1
