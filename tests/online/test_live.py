"""The live command and its per-frame preprocessing, on demo videos."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from online_helpers import calibrate

from tsm_plugin.demo.make_data import make_dataset
from tsm_plugin.registry import MODELS
from tsm_plugin.online import StreamingRecognizer
from tsm_plugin.online.__main__ import main, step_times
from tsm_plugin.online.frames import (FramePreprocessor, VideoFile,
                                      config_test_pipeline)

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'demo',
                  'tsm_r18_online_demo.py')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo_data')
    make_dataset(str(out), num_train=2, num_val=2, num_test=2)
    with open(out / 'test.txt') as f:
        return [str(out / line.split()[0]) for line in f]


@pytest.fixture(scope='module')
def model_and_checkpoint(tmp_path_factory, videos):
    """The online demo model, random weights, BN measured on the demo videos'
    frames as the model sees them (on other frames its scores saturate, and
    a change of frame order no longer shows in them)."""
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    preprocess = FramePreprocessor(model, cfg)
    frames = torch.cat([preprocess(rgb) for video in videos
                        for _, rgb in VideoFile(video).frames()])
    model = calibrate(model, frames)
    model.cfg = cfg
    path = str(tmp_path_factory.mktemp('ckpt') / 'online.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return model, path


def sampled_frames(cfg, video):
    """Frame indices the config's test pipeline samples from ``video``."""
    steps = [s for s in config_test_pipeline(cfg)
             if s['type'] in ('DecordInit', 'SampleFrames')]
    results = Compose(steps)(dict(filename=video, start_index=0,
                                  modality='RGB', label=-1))
    return results['frame_inds']


def test_stream_over_sampled_frames_equals_offline_clip_score(
        videos, model_and_checkpoint):
    model, _ = model_and_checkpoint
    cfg = model.cfg
    t = cfg.num_segments
    streamer = StreamingRecognizer(model, average_last=t)
    preprocess = FramePreprocessor(model, cfg)
    pipeline = Compose(config_test_pipeline(cfg))
    for video in videos:
        data = pipeline(dict(filename=video, start_index=0, modality='RGB',
                             label=-1))
        with torch.no_grad():
            offline = model.test_step(pseudo_collate([data]))[0].pred_score
        indices = sampled_frames(cfg, video)
        assert len(indices) == t
        streamed = {}
        for order in ('forward', 'reversed'):
            streamer.reset()
            for _, rgb in VideoFile(video).frames(
                    indices if order == 'forward' else indices[::-1]):
                streamer.step(preprocess(rgb))
            streamed[order] = streamer.smoothed_scores[0].softmax(0)
        torch.testing.assert_close(streamed['forward'], offline, rtol=0,
                                   atol=1e-5)
        # the same frames in the other order score differently
        assert (streamed['reversed'] - offline).abs().max() > 1e-3


def test_live_command_writes_annotated_video(videos, model_and_checkpoint,
                                             tmp_path, capsys):
    _, checkpoint = model_and_checkpoint
    label_map = tmp_path / 'labels.txt'
    label_map.write_text('pan right\npan left\n')
    out = str(tmp_path / 'out.mp4')
    main([CONFIG, checkpoint, videos[0], '--out', out, '--frame-step', '2',
          '--label-map', str(label_map), '--print-every', '3'])
    printed = capsys.readouterr().out
    assert '[####################] 8/8' in printed
    assert 'step ' in printed and ' ms' in printed
    assert '8 frames from ' in printed
    assert 'after the first (warm-up: ' in printed
    assert 'pan ' in printed and f'wrote {out}' in printed
    written = VideoFile(out)
    assert len(written) == 8  # every 2nd of 16 frames
    source = VideoFile(videos[0])
    # the label band is drawn at the top; the rest is the source frame
    _, first = next(written.frames())
    _, original = next(source.frames())
    top, bottom = np.s_[:8], np.s_[40:]
    assert np.abs(first[top].astype(int) - original[top]).mean() > 20
    assert np.abs(first[bottom].astype(int) - original[bottom]).mean() < 12


@pytest.mark.parametrize('source,message', [
    ('missing.mp4', 'video file not found: .*missing.mp4'),
    ('corrupt', 'cannot read video .*corrupt.mp4'),
    ('97', 'camera 97 did not open'),
])
def test_live_command_names_a_bad_source(tmp_path, model_and_checkpoint,
                                         source, message):
    """One line naming the bad input (no traceback), before any model."""
    _, checkpoint = model_and_checkpoint
    if source == 'corrupt':
        source = str(tmp_path / 'corrupt.mp4')
        with open(source, 'wb') as f:
            f.write(b'\x00not a video' * 100)
    elif source == 'missing.mp4':
        source = str(tmp_path / source)
    with pytest.raises(SystemExit, match=message):
        main([CONFIG, checkpoint, source])


def test_live_command_refuses_a_bidirectional_model(videos, tmp_path,
                                                    model_and_checkpoint):
    _, checkpoint = model_and_checkpoint
    config = tmp_path / 'bidirectional.py'
    config.write_text(f"_base_ = [{osp.abspath(CONFIG)!r}]\n"
                      "model = dict(backbone=dict(shift_mode='bidirectional'))\n")
    with pytest.raises(SystemExit, match='error: cannot stream shift_mode='
                       "'bidirectional'"):
        main([str(config), checkpoint, videos[0]])
    with pytest.raises(SystemExit, match='checkpoint file not found'):
        main([str(config), str(tmp_path / 'none.pth'), videos[0]])


class FakeCapture:
    """``cv2.VideoCapture`` of a camera that films ``rgb_frames``: it hands
    them out in OpenCV's channel order, BGR, then reports the end."""

    def __init__(self, rgb_frames):
        self.bgr_frames = [np.ascontiguousarray(rgb[..., ::-1])
                           for rgb in rgb_frames]
        self.opened_with = None

    def __call__(self, index):  # stands in for the class
        self.opened_with = index
        return self

    def isOpened(self):
        return True

    def get(self, prop):
        return 8.0

    def read(self):
        if not self.bgr_frames:
            return False, None
        return True, self.bgr_frames.pop(0)


def live_run(monkeypatch, argv):
    """``main(argv)``; returns what each streaming step was fed and gave."""
    fed, scores = [], []
    step = StreamingRecognizer.step

    def recording_step(self, frames):
        fed.append(frames.clone())
        scores.append(step(self, frames).clone())
        return scores[-1]

    with monkeypatch.context() as patch:
        patch.setattr(StreamingRecognizer, 'step', recording_step)
        main(argv)
    return torch.cat(fed), torch.cat(scores)


def test_camera_frames_reach_the_model_in_rgb(videos, model_and_checkpoint,
                                              monkeypatch, capsys):
    """A camera gives BGR frames; the model must see the same RGB input as
    from the same frames in a video file (decord decodes to RGB)."""
    model, checkpoint = model_and_checkpoint
    rgb_frames = [rgb for _, rgb in VideoFile(videos[0]).frames()]
    camera = FakeCapture(rgb_frames)
    monkeypatch.setattr('tsm_plugin.online.frames.cv2.VideoCapture', camera)
    fed, scores = live_run(monkeypatch, [CONFIG, checkpoint, '0',
                                         '--frame-step', '2'])
    assert camera.opened_with == 0
    printed = capsys.readouterr().out
    assert 'frame 14: ' in printed and '8 frames from camera 0' in printed
    fed_file, scores_file = live_run(monkeypatch, [CONFIG, checkpoint,
                                                   videos[0], '--frame-step',
                                                   '2'])
    assert fed.shape == fed_file.shape == (8, 3, 56, 56)
    torch.testing.assert_close(fed, fed_file, rtol=0, atol=0)
    torch.testing.assert_close(scores, scores_file, rtol=0, atol=1e-6)
    # the check can see the channel order: these frames in BGR are far off
    preprocess = FramePreprocessor(model, model.cfg)
    as_bgr = torch.cat([preprocess(np.ascontiguousarray(rgb[..., ::-1]))
                        for rgb in rgb_frames[::2]])
    assert (as_bgr - fed_file).abs().mean() > 0.1


def test_non_square_crop_streams_the_offline_pipelines_frames(
        videos, model_and_checkpoint, monkeypatch, tmp_path):
    """MMAction2 sizes are (w, h). A ThreeCrop(crop_size=(48, 32)) test
    pipeline streams its centre view: 32 high, 48 wide, the frames the
    offline pipeline (with CenterCrop) gives for the same frame indices."""
    _, checkpoint = model_and_checkpoint
    steps = [s for s in Config.fromfile(CONFIG).test_pipeline  # Resize 4th
             if s['type'] not in ('CenterCrop', 'PackActionInputs')]
    offline = [*steps[:4], dict(type='CenterCrop', crop_size=(48, 32)),
               *steps[4:], dict(type='PackActionInputs')]
    live = [dict(s, type='ThreeCrop') if s['type'] == 'CenterCrop' else s
            for s in offline]
    config = tmp_path / 'three_crop.py'
    config.write_text(f'_base_ = [{osp.abspath(CONFIG)!r}]\n'
                      f'test_pipeline = {live!r}\n')
    fed, _ = live_run(monkeypatch, [str(config), checkpoint, videos[0],
                                    '--frame-step', '2'])
    assert fed.shape == (8, 3, 32, 48)
    init_default_scope('mmaction')
    decode_and_crop = Compose([s for s in offline
                               if s['type'] != 'SampleFrames'])
    data = decode_and_crop(dict(filename=videos[0], start_index=0,
                                modality='RGB', label=-1,
                                frame_inds=np.arange(0, 16, 2)))
    cfg = Config.fromfile(str(config))
    expected = MODELS.build(cfg.model.data_preprocessor)(
        pseudo_collate([data]))['inputs'][0]
    torch.testing.assert_close(fed, expected, rtol=0, atol=1e-5)


def test_step_time_reported_without_the_warm_up_step():
    # the live command's summary: the first step (674 ms here once, against
    # a stream's 117) is reported apart from the steady state
    assert step_times([0.674, 0.1, 0.13, 0.11]) == (
        'step 110.0 ms median, 113.3 ms mean over the 3 steps after the first '
        '(warm-up: 674.0 ms)')
    assert step_times([0.5]) == 'one step 500.0 ms (warm-up included)'
