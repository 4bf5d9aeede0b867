"""The self-contained runner (tsm_plugin/deploy/runner.py) against the
PyTorch path, on real mp4s, run as a copied file in a subprocess where
importing torch, mmaction, mmengine, mmcv or tsm_plugin fails.

- offline graph: the scores of ``mmaction.apis.inference_recognizer``;
- streaming graph: the labels and scores of the live command
  (``python -m tsm_plugin.online``), float32 and int8;
- its preprocessing (resize, non-square / multi-view crops, frame sampling)
  against MMAction2's transforms.
"""
import json
import re
import runpy
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from int8_assets import assets, base, graphs
from mmengine import Config
from mmengine.dataset import Compose, pseudo_collate

from tsm_plugin.deploy import runner as deploy_runner
from tsm_plugin.deploy.metadata import translate_pipeline
from tsm_plugin.deploy.export import onnx_session, write_metadata
from tsm_plugin.online.__main__ import main as live_main
from tsm_plugin.deploy.quantize import running_scores, softmax, video_frames

BLOCKED = ('torch', 'mmaction', 'mmengine', 'mmcv', 'tsm_plugin')
# python -c BLOCKER SCRIPT ARGS: runs SCRIPT as __main__, its folder on the
# path, with the packages above unimportable.
BLOCKER = textwrap.dedent(f'''
    import importlib.abc, os, runpy, sys
    BLOCKED = {BLOCKED!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in BLOCKED:
                raise ImportError(f'{{name}} is blocked')
    sys.meta_path.insert(0, Block())
    try:
        import torch
    except ImportError:
        pass
    else:
        raise SystemExit('the import blocker let torch through')
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name='__main__')
    loaded = sorted(m for m in sys.modules if m.partition('.')[0] in BLOCKED)
    assert not loaded, loaded
''')
SCORE_SCRIPT = textwrap.dedent('''
    import json, sys
    from runner import TSMRunner
    model, *videos = sys.argv[1:]
    runner = TSMRunner(model)
    if runner.graph == 'offline':
        out = {v: runner.predict_video(v).tolist() for v in videos}
    else:
        out = {v: [p.tolist() for _, p in runner.stream(v)] for v in videos}
    print('SCORES ' + json.dumps(out))
''')


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return base(tmp_path_factory)


@pytest.fixture(scope='module')
def device(tmp_path_factory):
    """A folder with runner.py alone (as copied to a device) and a script
    that uses its class."""
    folder = tmp_path_factory.mktemp('device')
    shutil.copy(deploy_runner.__file__, folder / 'runner.py')
    (folder / 'score.py').write_text(SCORE_SCRIPT)
    return folder


def run_blocked(script, *args):
    run = subprocess.run([sys.executable, '-c', BLOCKER, str(script),
                          *map(str, args)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def runner_scores(device, model, videos):
    out = run_blocked(device / 'score.py', model, *videos)
    return json.loads(out.split('SCORES ', 1)[1])


def videos_of(root):
    return [p for p, _ in assets(root)['test']] + \
        [p for p, _ in assets(root)['val'][-2:]]


@pytest.fixture(scope='module')
def inference_scores(root):
    from mmaction.apis import inference_recognizer, init_recognizer
    paths = assets(root)
    model = init_recognizer(paths['config'], paths['checkpoint'],
                            device='cpu')
    with torch.no_grad():
        return {v: inference_recognizer(model, v).pred_score.numpy()
                for v in videos_of(root)}


def test_runner_gives_inference_recognizers_scores_without_torch(
        root, device, inference_scores):
    float_path, int8_path, _ = graphs(root, False)
    videos = videos_of(root)
    expected = np.stack([inference_scores[v] for v in videos])
    got = runner_scores(device, float_path, videos)
    got = np.stack([got[v] for v in videos])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # the videos move the scores by far more than the tolerance
    assert np.abs(expected - expected[::-1]).max() > 1e-2
    # int8: the same preprocessing, so the int8 graph's scores on the
    # pipeline's own clips; and close to PyTorch's
    from tsm_plugin.deploy.quantize import offline_clips, offline_scores
    from mmaction.apis import init_recognizer
    paths = assets(root)
    model = init_recognizer(paths['config'], paths['checkpoint'], 'cpu')
    clips = list(offline_clips(model, Config.fromfile(paths['config']),
                               [(v, -1) for v in videos]))
    want = softmax(offline_scores(onnx_session(int8_path), clips))
    got = runner_scores(device, int8_path, videos)
    got = np.stack([got[v] for v in videos])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert np.abs(got - expected).max() < 0.05
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.8


def parse_lines(text):
    """``[(frame index, label, score)]`` of the per-frame lines printed by
    the live command and the runner."""
    return [(int(i), label, float(score)) for i, label, score in re.findall(
        r'frame (\d+): (.+?) (\d\.\d\d)  step', text)]


def test_runner_streams_the_live_commands_labels_without_torch(
        root, device, tmp_path, capsys):
    float_path, int8_path, result = graphs(root, True)
    assert result['metadata']['frame_step'] == 2  # 16 frames, 8 sampled
    paths = assets(root)
    labels = tmp_path / 'labels.txt'
    labels.write_text('pan right\npan left\n')
    video = paths['test'][1][0]
    live_main([paths['config'], paths['checkpoint'], video, '--frame-step',
               '2', '--label-map', str(labels)])
    live = parse_lines(capsys.readouterr().out)
    assert [i for i, *_ in live] == list(range(0, 16, 2))
    printed = run_blocked(device / 'runner.py', float_path, video)
    streamed = parse_lines(printed)
    assert [(i, label) for i, label, _ in streamed] == \
        [(i, label) for i, label, _ in live]
    assert max(abs(a[2] - b[2]) for a, b in zip(streamed, live)) <= 0.01
    assert '8 frames from' in printed
    # the per-step probabilities, from the class, against PyTorch's streamer
    from tsm_plugin.online import StreamingRecognizer
    from tsm_plugin.online.frames import FramePreprocessor, VideoFile
    streamer = StreamingRecognizer.from_config(paths['config'],
                                               paths['checkpoint'],
                                               average_last=8)
    preprocess = FramePreprocessor(streamer.recognizer, streamer.recognizer.cfg)
    videos = [p for p, _ in paths['test']]
    got = runner_scores(device, float_path, videos)
    moved = 0.0
    for v in videos:
        streamer.reset()
        expected = []
        for _, rgb in VideoFile(v).frames(range(0, 16, 2)):
            with torch.no_grad():
                streamer.step(preprocess(rgb))
            expected.append(streamer.smoothed_scores[0].softmax(0).numpy())
        np.testing.assert_allclose(np.array(got[v]), np.array(expected),
                                   rtol=0, atol=1e-5)
        moved = max(moved, np.abs(np.diff(expected, axis=0)).max())
    assert moved > 1e-2
    # int8: the runner's steps are the int8 graph's on the live command's
    # frames
    cfg = Config.fromfile(paths['config'])
    got = runner_scores(device, int8_path, videos)
    for v in videos:
        want = softmax(running_scores(onnx_session(int8_path), video_frames(
            streamer.recognizer, cfg, v, 2), 8))
        np.testing.assert_allclose(np.array(got[v]), want, rtol=0, atol=1e-5)
    printed = run_blocked(device / 'runner.py', int8_path, video)
    same = [a[1] == b[1] for a, b in zip(parse_lines(printed), live)]
    assert len(same) == 8 and np.mean(same) >= 0.75


def mmaction_inputs(pipeline, video, mean, std):
    """The normalised inputs MMAction2 builds: ``(V*T, 3, h, w)``."""
    from mmaction.models import ActionDataPreprocessor
    data = Compose(pipeline)(dict(filename=video, label=-1, start_index=0,
                                  modality='RGB'))
    pre = ActionDataPreprocessor(mean=mean, std=std, format_shape='NCHW')
    return pre(pseudo_collate([data]), training=False)['inputs'][0].numpy()


MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
PIPELINES = {  # name: (sampling, image steps)
    'non-square centre crop': (
        dict(clip_len=1, num_clips=8),
        [dict(type='Resize', scale=(-1, 64)),
         dict(type='CenterCrop', crop_size=(48, 40))]),
    'twice sample, three crops': (
        dict(clip_len=1, num_clips=4, twice_sample=True),
        [dict(type='Resize', scale=(-1, 40)),
         dict(type='ThreeCrop', crop_size=40)]),
    'clips of 4, ten crops, fixed resize': (
        dict(clip_len=4, frame_interval=2, num_clips=3),
        [dict(type='Resize', scale=(80, 50), keep_ratio=False,
              interpolation='bicubic'),
         dict(type='TenCrop', crop_size=(40, 32))]),
}


@pytest.mark.parametrize('name', PIPELINES)
def test_runner_preprocessing_equals_mmactions_pipeline(root, name):
    sampling, steps = PIPELINES[name]
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', test_mode=True, **sampling),
                dict(type='DecordDecode'), *steps,
                dict(type='FormatShape', input_format='NCHW'),
                dict(type='PackActionInputs')]
    image_steps, sample, unsupported = translate_pipeline(pipeline)
    assert unsupported == []
    meta = dict(pipeline=json.loads(json.dumps(image_steps)), mean=MEAN,
                std=STD, channel_order='RGB')
    video = assets(root)['test'][0][0]
    expected = mmaction_inputs(pipeline, video, MEAN, STD)
    reader = deploy_runner.VideoFile(video)
    indices = deploy_runner.sample_frames(len(reader), **sample)
    frames = list(reader.reader.get_batch(list(indices)).asnumpy())
    got = deploy_runner.prepare_frames(frames, meta)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    if name == 'non-square centre crop':  # (w, h) = (48, 40)
        assert got.shape[-2:] == (40, 48)


@pytest.mark.parametrize('spec', [
    dict(clip_len=1, num_clips=8), dict(clip_len=1, num_clips=5,
                                        twice_sample=True),
    dict(clip_len=4, frame_interval=3, num_clips=2),
    dict(clip_len=8, frame_interval=4, num_clips=1,
         out_of_bound_opt='repeat_last'),
])
def test_sampled_frames_equal_mmactions(spec):
    from mmaction.datasets.transforms import SampleFrames
    sampler = SampleFrames(test_mode=True, **spec)
    for num_frames in (7, 16, 31, 100):
        want = sampler(dict(total_frames=num_frames, start_index=0))
        got = deploy_runner.sample_frames(num_frames, test_mode=True, **dict(
            dict(frame_interval=1, twice_sample=False,
                 out_of_bound_opt='loop'), **spec))
        np.testing.assert_array_equal(got, want['frame_inds'])


def test_runner_refuses_what_it_cannot_do(root, tmp_path):
    float_path, _, _ = graphs(root, False)
    with pytest.raises(SystemExit, match='offline graph scores whole videos'):
        deploy_runner.main([float_path, '0'])
    runner = deploy_runner.TSMRunner(float_path)
    with pytest.raises(ValueError, match='this is a offline graph; streaming'):
        runner.step(np.zeros((64, 64, 3), np.uint8))
    odd = str(tmp_path / 'odd.onnx')
    shutil.copy(float_path, odd)
    write_metadata(odd, dict(pipeline_unsupported=['Flip']))
    with pytest.raises(ValueError, match=r"does not reproduce: \['Flip'\]"):
        deploy_runner.TSMRunner(odd)
    with pytest.raises(SystemExit, match='model file not found'):
        deploy_runner.main([str(tmp_path / 'none.onnx'), 'x.mp4'])
    with pytest.raises(SystemExit, match='video file not found'):
        deploy_runner.main([float_path, str(tmp_path / 'none.mp4')])


def test_python_dash_m_runs_it(root, monkeypatch, capsys):
    float_path, _, _ = graphs(root, False)
    video = assets(root)['test'][0][0]
    monkeypatch.setattr(sys, 'argv', ['runner', float_path, video])
    runpy.run_module('tsm_plugin.deploy.runner', run_name='__main__')
    out = capsys.readouterr().out
    assert re.search(r'\.mp4: pan (left|right) \d\.\d\d', out)
    assert 'pan right: ' in out and 'pan left: ' in out


VIEWS_CONFIG = '''_base_ = [{base!r}]
# the preprocessor swaps the channels (to_rgb), and a video gives 6 views
# (2 clips x 3 crops) far apart: channel order and view averaging matter
model = dict(data_preprocessor=dict(to_rgb=True))
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8,
         test_mode=True, twice_sample=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(96, 56), keep_ratio=False),
    dict(type='ThreeCrop', crop_size=56),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
'''


def test_runner_scores_differing_channels_and_views_as_mmaction_does(
        root, tmp_path):
    """A graph whose preprocessor swaps the channels and whose test pipeline
    gives several views: the runner (each decoder) gives
    ``inference_recognizer``'s scores; the channel order, a mirrored frame
    and the views' softmax-then-mean each move them by far more."""
    from mmaction.apis import inference_recognizer, init_recognizer

    from tsm_plugin.deploy.export import export
    paths = assets(root)
    config = tmp_path / 'views.py'
    config.write_text(VIEWS_CONFIG.format(base=paths['config']))
    # logits 20x the demo model's (near 0.5/0.5): views far apart in
    # probability, so that averaging before the softmax shows
    checkpoint = str(tmp_path / 'sharp.pth')
    state = torch.load(paths['checkpoint'])['state_dict']
    state['cls_head.fc_cls.weight'] *= 20
    torch.save(dict(state_dict=state), checkpoint)
    out = str(tmp_path / 'views.onnx')
    result = export(str(config), checkpoint, out)
    assert result['metadata']['channel_order'] == 'BGR'
    model = init_recognizer(str(config), checkpoint, device='cpu')
    videos = [p for p, _ in assets(root)['test'][:2]]
    with torch.no_grad():
        want = np.stack([inference_recognizer(model, v).pred_score.numpy()
                         for v in videos])
    tolerance = 2e-6  # measured: 2e-7
    for decoder in ('decord', 'opencv'):
        runner = deploy_runner.TSMRunner(out, decoder=decoder)
        got = np.stack([runner.predict_video(v) for v in videos])
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance,
                                   err_msg=decoder)
    # teeth, on the runner's own frames of the first video
    reader = deploy_runner.VideoFile(videos[0])
    frames = list(reader.reader.get_batch(
        list(runner.sample(len(reader)))).asnumpy())
    session = onnx_session(out)

    def scores(rows, average=lambda s: softmax(s).mean(0)):
        rows = rows.reshape((-1, 8) + rows.shape[1:])
        return average(session.run(None, {'frames': rows})[0])
    rows = runner.prepare(frames)
    assert rows.shape[0] == 6 * 8
    np.testing.assert_allclose(scores(rows), want[0], rtol=0, atol=tolerance)
    assert np.abs(scores(rows[:, ::-1]) - want[0]).max() > 100 * tolerance
    assert np.abs(scores(rows[..., ::-1]) - want[0]).max() > 100 * tolerance
    mean_first = scores(rows, lambda s: softmax(s.mean(0)))
    assert np.abs(mean_first - want[0]).max() > 100 * tolerance
