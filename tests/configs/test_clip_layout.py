"""A data pipeline whose frames per view (num_clips x clip_len) differ from the
model's num_segments fails with both numbers named, end to end on a real mp4,
instead of mixing frames across views."""
import copy

import pytest
import torch
from mmengine.runner import Runner

from cfg_helpers import (K400_1X1X8, MOBILENET, build_model, data_samples,
                         load, pipeline_batch, sampler_of, shrink)


def resample(pipeline, **sampler):
    """`pipeline` with its SampleFrames arguments updated and, at test time,
    one centre crop (TenCrop/ThreeCrop would multiply the views)."""
    pipeline = copy.deepcopy(pipeline)
    sampler_of(pipeline).update(sampler)
    for i, step in enumerate(pipeline):
        if step['type'] in ('TenCrop', 'ThreeCrop'):
            pipeline[i] = dict(type='CenterCrop', crop_size=224)
    return pipeline


def stock(model_cfg):
    """The same model made of MMAction2's own classes only."""
    cfg = copy.deepcopy(model_cfg)
    for part, name in ((cfg, 'Recognizer2D'), (cfg.backbone, 'ResNetTSM'),
                       (cfg.cls_head, 'TSMHead')):
        part.type = f'mmaction.{name}'
    return cfg


# 2 samplings x 12 frames = 24 frames: a multiple of num_segments=8, so the
# backbone's and head's frame-count checks pass.
TWICE_12 = dict(num_clips=12, twice_sample=True)


def test_mismatch_passes_frame_count_checks_in_mmaction2_alone(tiny_video):
    """Why the check exists: MMAction2's own TSM silently runs this input
    as 3 views of 8 frames, each straddling the two samplings."""
    cfg = load(K400_1X1X8)
    pipeline = resample(cfg.test_dataloader.dataset.pipeline, **TWICE_12)
    data = pipeline_batch(pipeline, tiny_video)
    assert data['inputs'][0].shape[0] == 24
    model = build_model(stock(cfg.model)).eval()
    with torch.no_grad():
        assert model.test_step(data)[0].pred_score.shape == (400, )


def test_test_step_refuses_before_running_the_backbone(tiny_video):
    cfg = load(K400_1X1X8)
    pipeline = resample(cfg.test_dataloader.dataset.pipeline, **TWICE_12)
    data = pipeline_batch(pipeline, tiny_video)
    model = build_model(cfg.model).eval()
    calls = []
    model.backbone.register_forward_hook(lambda *args: calls.append(1))
    with pytest.raises(ValueError, match=r'num_clips=12 x clip_len=1 = 12 '
                       r'frames per view.*num_segments=8'):
        model.test_step(data)
    assert calls == []
    # the agreeing pipeline (2 x 8 frames) runs
    good = resample(cfg.test_dataloader.dataset.pipeline, twice_sample=True)
    with torch.no_grad():
        assert model.test_step(pipeline_batch(good, tiny_video))
    assert calls == [1]


def test_training_refuses_a_16_frame_pipeline_for_8_segments(tiny_video):
    """16 frames = 2 x 8 would also pass the frame-count checks: the model
    would train on two 8-frame 'clips' taken from every other segment."""
    cfg = load(K400_1X1X8)
    pipeline = resample(cfg.train_dataloader.dataset.pipeline, num_clips=16)
    data = pipeline_batch(pipeline, tiny_video)
    model = build_model(cfg.model).train()
    with pytest.raises(ValueError, match=r'num_clips=16.*num_segments=8'):
        model(**model.data_preprocessor(data, True), mode='loss')


def test_plugin_head_refuses_under_mmaction2_recognizer(tiny_video):
    """Stock Recognizer2D and MobileNetV2TSM: the plugin's TSMHead checks."""
    cfg = load(MOBILENET)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.type = 'mmaction.Recognizer2D'
    model = build_model(model_cfg, pretrained2d=False).eval()
    pipeline = resample(cfg.test_dataloader.dataset.pipeline, **TWICE_12)
    with pytest.raises(ValueError, match=r'TSMHead has num_segments=8'):
        model.test_step(pipeline_batch(pipeline, tiny_video))


def test_samples_record_num_clips_and_clip_len(tiny_video):
    cfg = load(K400_1X1X8)
    data = pipeline_batch(cfg.test_dataloader.dataset.pipeline, tiny_video)
    meta = data['data_samples'][0].metainfo
    assert (meta['num_clips'], meta['clip_len']) == (8, 1)


def test_frames_per_view_is_num_clips_times_clip_len():
    model = build_model(load(K400_1X1X8).model).eval()
    with torch.no_grad():  # 4 clips x 2 frames = 8 frames per view: fine
        model.predict(torch.zeros(1, 8, 3, 32, 32), data_samples(1, 4, 2))
        with pytest.raises(ValueError, match='num_clips=8 x clip_len=2 = 16'):
            model.predict(torch.zeros(1, 16, 3, 32, 32), data_samples(1, 8, 2))


def test_runner_test_loop_fails_clearly(tiny_video, tmp_path):
    """Through mmengine's Runner, as tools/test.py runs a config."""
    cfg = load(K400_1X1X8)
    cfg.model.backbone.pretrained = None
    cfg.work_dir = str(tmp_path / 'work')
    (tmp_path / 'ann.txt').write_text(f'{tiny_video} 0\n')
    loader = cfg.test_dataloader
    loader.update(num_workers=0, persistent_workers=False)
    loader.dataset.update(ann_file=str(tmp_path / 'ann.txt'),
                          data_prefix=dict(video=''))
    loader.dataset.pipeline = shrink(
        resample(loader.dataset.pipeline, **TWICE_12))
    cfg.log_level = 'WARNING'
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = []
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'num_clips=12.*num_segments=8'):
        runner.test()
