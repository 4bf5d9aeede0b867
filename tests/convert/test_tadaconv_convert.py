"""``python -m tsm_plugin.convert tadaconv``: synthetic checkpoints in the
official TAdaConv layout (tests/official_tadaconv.py, from the published
model and saving code) convert one to one, and the converted MMAction2 model
computes what the official network computes on the same weights."""
import json
import pickle
import sys
import types

import mmengine
import pytest
import torch
from mmaction.apis import init_recognizer
from official_tadaconv import (official_checkpoint, official_tada2d,
                               official_tada2d_state, official_tadaconvnext_v2,
                               official_v2_state)

from tsm_plugin.convert import ConversionError, convert
from tsm_plugin.convert.__main__ import main

T = 4


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def converted(tmp_path, checkpoint, **options):
    src, out = tmp_path / 'checkpoint_epoch_00100.pyth', tmp_path / 'out.pth'
    torch.save(checkpoint, src)
    convert('tadaconv', str(src), str(out), **options)
    meta = torch.load(out, weights_only=True)['meta']
    cfg = mmengine.Config.fromstring(meta['cfg'], '.py')
    return init_recognizer(cfg, str(out), device='cpu'), cfg


def test_tada2d_r50_converts_one_to_one_and_equals_the_official_network(
        tmp_path):
    state = official_tada2d_state(num_classes=400)
    cfg = {'DATA': {'NUM_INPUT_FRAMES': T, 'SAMPLING_RATE': 8},
           'TRAIN': {'DATASET': 'kinetics400'}}
    model, config = converted(tmp_path, official_checkpoint(state, cfg))
    assert config.model.backbone.layout == 'official'
    assert config.model.backbone.num_segments == T
    for pipeline in (config.test_dataloader.dataset.pipeline,
                     config.test_pipeline):  # the latter: inference API
        sample = [s for s in pipeline if s.type == 'SampleFrames'][0]
        assert (sample.clip_len, sample.frame_interval) == (T, 8)
    model = model.double().train()  # BN on batch statistics, as the reference
    model.cls_head.eval()  # no dropout
    state64 = {k: v.double() if v.is_floating_point() else v
               for k, v in state.items()}
    clips = torch.randn(1, 3, T, 32, 32, dtype=torch.float64)
    frames = clips.transpose(1, 2).reshape(T, 3, 32, 32)
    with torch.no_grad():
        ref = official_tada2d(state64, clips)
        ours = model.cls_head(model.backbone(frames), num_segs=T)
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
        assert ref.std() > 0.1
        # teeth: one source tensor (a generator's last conv) moved
        moved = dict(state64)
        key = 'backbone.conv4.res_2.conv_branch.b_rf.b.weight'
        moved[key] = moved[key] + 0.05 * torch.randn_like(moved[key])
        assert (official_tada2d(moved, clips) - ref).abs().max() > 1e-4


def test_tadaconvnext_v2_t_converts_one_to_one_and_equals_the_official_network(
        tmp_path):
    state = official_v2_state('tiny', num_classes=174)
    cfg = {'DATA': {'NUM_INPUT_FRAMES': 8}, 'TRAIN': {'DATASET': 'ssv2'}}
    model, config = converted(tmp_path, official_checkpoint(state, cfg))
    assert config.model.backbone.arch == 'tiny'
    assert config.model.cls_head.num_classes == 174
    assert [s.clip_len for s in config.test_dataloader.dataset.pipeline
            if s.type == 'UniformSample'] == [8]
    model = model.double().eval()
    state64 = {k: v.double() for k, v in state.items()}
    clips = torch.randn(1, 3, 8, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        ref = official_tadaconvnext_v2(state64, clips, 'tiny')
        ours = model.cls_head(model.backbone(clips))
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
        assert ref.std() > 0.1
        for key in ('backbone.stages.2.4.dwconv_rf.b_bias.weight',
                    'backbone.stages.1.0.dwconv_rf.qkv_proj.weight'):
            moved = dict(state64)
            moved[key] = moved[key] + 0.05 * torch.randn_like(moved[key])
            diff = official_tadaconvnext_v2(moved, clips, 'tiny') - ref
            assert diff.abs().max() > 1e-4, key


def test_command_line_and_module_prefix(tmp_path, capsys):
    state = official_v2_state('tiny', num_classes=400)
    wrapped = {'module.' + k: v for k, v in state.items()}
    src, out = tmp_path / 'v2.pyth', tmp_path / 'v2.pth'
    torch.save(official_checkpoint(wrapped, cfg={}), src)
    main(['tadaconv', str(src), str(out), '--num-segments', '16'])
    assert 'wrote' in capsys.readouterr().out
    saved = torch.load(out, weights_only=True)
    assert saved['meta']['source'] == 'tadaconv'
    assert len(saved['state_dict']) == len(state)
    cfg = mmengine.Config.fromstring(saved['meta']['cfg'], '.py')
    assert cfg.model.backbone.type == 'tsm_plugin.TAdaConvNeXtV2'
    # no cfg, no option: the frames are unknown
    with pytest.raises(SystemExit, match='--num-segments'):
        main(['tadaconv', str(src), str(tmp_path / 'x.pth')])


def test_a_pickled_config_object_is_stubbed_not_run(tmp_path):
    """``cfg`` saved as an object of their code: weights_only refuses it;
    the converter stubs the class, and nothing in the file runs."""
    marker = tmp_path / 'ran'
    module = types.ModuleType('tadaconv_fake_config')

    class Config:  # a config object of their code, as pickle saves it
        def __init__(self):
            self.DATA = {'NUM_INPUT_FRAMES': 8}
            self.TRAIN = {'DATASET': 'kinetics400'}

    class Hostile:  # what a malicious file could hold
        def __reduce__(self):
            return (open, (str(marker), 'w'))

    Config.__module__, Config.__qualname__ = module.__name__, 'Config'
    module.Config = Config
    sys.modules[module.__name__] = module
    try:
        checkpoint = official_checkpoint(official_v2_state('tiny', 400))
        checkpoint['cfg'] = Config()
        checkpoint['extra'] = Hostile()
        src = tmp_path / 'obj.pyth'
        torch.save(checkpoint, src)
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(pickle.UnpicklingError):
        torch.load(src, weights_only=True)
    out = convert('tadaconv', str(src), str(tmp_path / 'out.pth'))
    assert not marker.exists()  # open() was never called
    cfg = mmengine.Config.fromstring(
        torch.load(out, weights_only=True)['meta']['cfg'], '.py')
    # the frames come from the stubbed object's attributes
    assert [s.clip_len for s in cfg.test_dataloader.dataset.pipeline
            if s.type == 'SampleFrames'] == [8]


def test_left_over_and_missing_keys_are_named(tmp_path):
    state = official_v2_state('tiny', num_classes=400)
    state['backbone.stages.0.0.extra'] = torch.zeros(3)
    del state['backbone.stages.3.2.dwconv_rf.b_bias.weight']
    src = tmp_path / 'bad.pyth'
    torch.save(official_checkpoint(state), src)
    with pytest.raises(ConversionError) as error:
        convert('tadaconv', str(src), str(tmp_path / 'o.pth'), num_segments=8)
    message = str(error.value)
    assert "'backbone.stages.0.0.extra'" in message
    assert 'stages.3.2.depthwise_conv.calibration.temporal_conv2_bias' \
        in message


@pytest.mark.parametrize('content,match', [
    ({'state_dict': {}}, "not an official TAdaConv checkpoint.*state_dict"),
    ({'model_state': {'backbone.fc.weight': torch.zeros(2)}},
     'neither TAda2D .* nor TAdaConvNeXtV2'),
])
def test_wrong_kind_of_file(tmp_path, content, match):
    src = tmp_path / 'x.pth'
    torch.save(content, src)
    with pytest.raises(ConversionError, match=match):
        convert('tadaconv', str(src), str(tmp_path / 'o.pth'))


def test_174_classes_without_a_dataset_asks_for_one(tmp_path):
    state = official_v2_state('tiny', num_classes=174)
    src = tmp_path / 'x.pyth'
    torch.save(official_checkpoint(state, {'DATA': {'NUM_INPUT_FRAMES': 16}}),
               src)
    with pytest.raises(ConversionError, match='pass --dataset'):
        convert('tadaconv', str(src), str(tmp_path / 'o.pth'))
    out = convert('tadaconv', str(src), str(tmp_path / 'o.pth'),
                  dataset='sthv2')
    cfg = mmengine.Config.fromstring(
        torch.load(out, weights_only=True)['meta']['cfg'], '.py')
    assert json.dumps(cfg.model.cls_head.num_classes) == '174'
