"""INT8 export (tsm_plugin.deploy.quantize): calibrated on the config's own
videos, checked against the float graph on held-out ones; zero-range tensors
of the shift calibrate to finite scales; a bad quantization fails with
figures.

The model is the online demo's (uni-directional ResNet-18, 56 px) with BN
statistics measured on the demo frames (tests/int8_assets.py), so its
scores move from video to video by far more than the int8 error.
"""
import numpy as np
import onnx
import pytest
from int8_assets import assets, base, graphs
from onnx import numpy_helper

from tsm_plugin.deploy import quantize
from tsm_plugin.deploy.export import main, onnx_session
from tsm_plugin.online import StreamingRecognizer
from tsm_plugin.deploy.quantize import (Int8MismatchError, agreement,
                                        check_figures, check_scales,
                                        offline_clips, offline_scores,
                                        quantize_graph, running_scores,
                                        softmax, stream_session, video_frames)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return base(tmp_path_factory)


@pytest.fixture(scope='module')
def recognizer(root):
    paths = assets(root)
    return StreamingRecognizer.from_config(paths['config'],
                                           paths['checkpoint']).recognizer


def quantized_inputs(path):
    """``{graph input: scale}`` of the QuantizeLinear nodes on inputs."""
    model = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    inputs = {i.name for i in model.graph.input}
    return {n.input[0]: float(inits[n.input[1]]) for n in model.graph.node
            if n.op_type == 'QuantizeLinear' and n.input[0] in inputs}


def int8_weights(path):
    model = onnx.load(path)
    return [i.name for i in model.graph.initializer
            if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4]


def test_offline_int8_agrees_with_float_on_held_out_videos(root, recognizer):
    float_path, int8_path, result = graphs(root, False)
    figures = result['int8']
    assert figures['num_checked'] == 4 and figures['top1_agreement'] >= 0.9
    assert len(int8_weights(int8_path)) >= 20  # every conv's weight is int8
    assert check_scales(int8_path) > 40
    # independently, on the test split (neither calibration nor check)
    cfg = assets(root)['config']
    from mmengine import Config
    clips = list(offline_clips(recognizer, Config.fromfile(cfg),
                               assets(root)['test']))
    scores = [softmax(offline_scores(onnx_session(p), clips))
              for p in (float_path, int8_path)]
    error = np.abs(scores[0] - scores[1]).max()
    assert (scores[0].argmax(1) == scores[1].argmax(1)).all()
    # the inputs matter: videos move the scores far more than int8 does
    spread = np.abs(scores[0] - scores[0][::-1]).max()
    assert error < 0.05 and spread > 3 * error, (error, spread)


def test_streaming_int8_calibrates_buffers_on_streamed_frames(root,
                                                              recognizer):
    float_path, int8_path, result = graphs(root, True)
    figures = result['int8']
    assert figures['units'] == 'stream steps' and figures['num_checked'] == 32
    assert figures['top1_agreement'] >= 0.9
    scales = quantized_inputs(int8_path)
    buffers = [f'buffer_{i}' for i in range(8)]
    assert set(buffers) <= set(scales)
    # calibrated on real buffers, not on the zeros a stream starts with
    # (those give ONNX Runtime's zero-range fallback, scale 1.0)
    assert all(0 < scales[b] < 0.5 for b in buffers), scales
    from mmengine import Config
    cfg = Config.fromfile(assets(root)['config'])
    test_videos = [p for p, _ in assets(root)['test']]
    runs = [np.concatenate([running_scores(
        onnx_session(p), video_frames(recognizer, cfg, v, 2), 8)
        for v in test_videos]) for p in (float_path, int8_path)]
    same, worst = agreement(*runs)
    probs = softmax(runs[0])
    spread = np.abs(probs - probs[::-1]).max()
    assert same >= 0.9 and worst < 0.2 and spread > 3 * worst, (
        same, worst, spread)


def zero_buffer_samples(root, recognizer):
    """What a calibrator that never streams sees: every video's frames, each
    with the zero buffers of a stream start."""
    from mmengine import Config
    cfg = Config.fromfile(assets(root)['config'])
    float_path, _, _ = graphs(root, True)
    session = onnx_session(float_path)
    samples = []
    for path, _ in assets(root)['val'][:6]:
        for frame in video_frames(recognizer, cfg, path, 2):
            feed, _ = next(stream_session(session, [frame]))
            samples.append(feed)
    return float_path, samples


def test_zero_range_buffers_calibrate_to_finite_scales(root, recognizer,
                                                       tmp_path):
    float_path, samples = zero_buffer_samples(root, recognizer)
    assert all(not np.any(s[f'buffer_{i}']) for s in samples
               for i in range(8))  # min = max = 0 for every buffer
    out = quantize_graph(float_path, str(tmp_path / 'zero.onnx'), samples)
    assert check_scales(out) > 40  # finite and > 0, else ValueError
    scales = quantized_inputs(out)
    assert all(scales[f'buffer_{i}'] == 1.0 for i in range(8))
    from mmengine import Config
    cfg = Config.fromfile(assets(root)['config'])
    frames = list(video_frames(recognizer, cfg, assets(root)['test'][0][0],
                               2))
    for feed, scores in stream_session(onnx_session(out), frames):
        assert np.isfinite(scores).all()
        assert all(np.isfinite(v).all() for v in feed.values())


def test_check_scales_names_a_zero_scale(root, tmp_path):
    _, int8_path, _ = graphs(root, False)
    model = onnx.load(int8_path)
    scale = next(i for i in model.graph.initializer
                 if i.name.endswith('_scale') and not i.dims)
    scale.CopyFrom(numpy_helper.from_array(np.float32(0), scale.name))
    onnx.save(model, str(tmp_path / 'broken.onnx'))
    with pytest.raises(ValueError, match='invalid quantization scales'):
        check_scales(str(tmp_path / 'broken.onnx'))


def test_bad_quantization_fails_with_the_figures(root, monkeypatch,
                                                 tmp_path):
    # Calibrated on frames 100x too small, every activation saturates.
    real = quantize.calibration_samples

    def shrunk(*args, **kwargs):
        return [{k: v / 100 for k, v in s.items()}
                for s in real(*args, **kwargs)]
    monkeypatch.setattr(quantize, 'calibration_samples', shrunk)
    paths = assets(root)
    with pytest.raises(Int8MismatchError, match=r'bad int8 quantization: int8 '
                       r'vs float on 4 held-out clips .* top-1 agreement '
                       r'[0-9.]+%, max probability difference'):
        main([paths['config'], paths['checkpoint'],
              str(tmp_path / 'bad.onnx'), '--int8', '--calibration-videos',
              '6', '--check-videos', '4'])


def test_check_figures_bounds():
    good = dict(top1_agreement=0.95, max_score_difference=0.1, num_checked=20,
                units='clips', num_videos=20)
    check_figures(good)
    with pytest.raises(Int8MismatchError, match='agreement 80.0%'):
        check_figures(dict(good, top1_agreement=0.8))
    with pytest.raises(Int8MismatchError, match='difference 0.4'):
        check_figures(dict(good, max_score_difference=0.4))


@pytest.mark.parametrize('kwargs, match', [
    (dict(calibration_split='train2'), "calibration_split 'train2': the "
     'config has no train2_dataloader'),
    (dict(calibration_videos=10), "calibration_split 'val' lists 10 videos: "
     'need calibration_videos=10 plus at least one held-out'),
    (dict(calibration_videos=0), 'calibration_videos must be an int >= 1'),
])
def test_int8_export_refuses_bad_calibration_arguments(root, kwargs, match,
                                                       tmp_path):
    from tsm_plugin.deploy.export import export
    paths = assets(root)
    with pytest.raises(ValueError, match=match):
        export(paths['config'], paths['checkpoint'], str(tmp_path / 'x.onnx'),
               int8=True, **kwargs)


def test_int8_export_names_missing_videos(root, tmp_path):
    from tsm_plugin.deploy.export import export
    paths = assets(root)
    import shutil
    shutil.copy(f"{paths['root']}/data/val.txt", tmp_path / 'val.txt')
    with pytest.raises(FileNotFoundError, match='calibration video .* not '
                       'found: pass data_root'):
        export(paths['config'], paths['checkpoint'], str(tmp_path / 'x.onnx'),
               int8=True, data_root=str(tmp_path), calibration_videos=6)


def weight_scales(path):
    """``{int8 weight: its DequantizeLinear's scale}`` of the conv and
    linear weights (int8 initializers of 2 or 4 dimensions)."""
    model = onnx.load(path)
    inits = {i.name: i for i in model.graph.initializer}
    scales = {}
    for node in model.graph.node:
        weight = inits.get(node.input[0])
        if node.op_type == 'DequantizeLinear' and weight is not None \
                and weight.data_type == onnx.TensorProto.INT8 \
                and len(weight.dims) in (2, 4):
            scales[weight.name] = (tuple(weight.dims), numpy_helper.to_array(
                inits[node.input[1]]))
    return scales


@pytest.mark.parametrize('online', [False, True])
def test_weight_scales_are_per_output_channel(root, online):
    _, int8_path, _ = graphs(root, online)
    scales = weight_scales(int8_path)
    assert len(scales) >= 20
    for name, (dims, scale) in scales.items():
        assert scale.shape == (dims[0], ), (name, dims, scale.shape)
    # the channels' ranges do differ: one scale for all would lose them
    spread = [s.max() / s.min() for _, s in scales.values()]
    assert max(spread) > 2


class Stop(Exception):
    pass


def test_int8_export_calibrates_and_checks_on_disjoint_videos_as_laid_out(
        root, monkeypatch, tmp_path):
    """What the int8 export really feeds: calibration samples laid out as
    the graph's input (NCHW: frames flattened), and check videos none of
    which calibrated it, by name. (Stopped before quantizing.)"""
    seen = {}
    real_samples = quantize.calibration_samples

    def calibration_samples(float_path, recognizer, config, videos, *args):
        seen['calibration'] = [p for p, _ in videos]
        seen['samples'] = real_samples(float_path, recognizer, config, videos,
                                       *args)
        seen['graph'] = onnx.load(float_path)
        return seen['samples']

    def compare_graphs(float_path, int8_path, recognizer, config, videos,
                       *args, **kwargs):
        seen['check'] = [p for p, _ in videos]
        raise Stop
    monkeypatch.setattr(quantize, 'calibration_samples', calibration_samples)
    monkeypatch.setattr(quantize, 'quantize_graph', lambda *a, **k: None)
    monkeypatch.setattr(quantize, 'compare_graphs', compare_graphs)
    from tsm_plugin.deploy.export import export
    paths = assets(root)
    with pytest.raises(Stop):
        export(paths['config'], paths['checkpoint'],
               str(tmp_path / 'nchw.onnx'), layout='NCHW', int8=True,
               calibration_videos=6, check_videos=4)
    import os.path as osp
    calibration = {osp.basename(p) for p in seen['calibration']}
    check = {osp.basename(p) for p in seen['check']}
    assert len(calibration) == 6 and len(check) == 4
    assert not calibration & check, calibration & check
    (graph_input, ) = seen['graph'].graph.input
    dims = [d.dim_value or None for d in
            graph_input.type.tensor_type.shape.dim]
    assert len(dims) == 4  # (N*T, 3, H, W)
    assert len(seen['samples']) == 6
    for sample in seen['samples']:
        frames = sample[graph_input.name]
        assert frames.ndim == 4 and frames.shape[0] % 8 == 0
        assert all(d is None or d == s for d, s in zip(dims, frames.shape))


class FakeStream:
    """An ONNX Runtime session of a streaming graph whose per-frame scores
    are known: step t scores ``[t, t**2]``."""

    def __init__(self):
        self.step = 0

    def get_inputs(self):
        from types import SimpleNamespace
        return [SimpleNamespace(name='frames', shape=[1, 3, 2, 2]),
                SimpleNamespace(name='buffer_0', shape=[1, 1, 2, 2])]

    def run(self, _, feed):
        t, self.step = self.step, self.step + 1
        return [np.array([[t, t ** 2]], np.float32), feed['buffer_0']]


@pytest.mark.parametrize('average_last', [1, 3, 20])
def test_running_scores_average_exactly_the_last_frames(average_last):
    frames = [np.zeros((1, 3, 2, 2), np.float32)] * 7
    got = running_scores(FakeStream(), frames, average_last)
    for t in range(7):  # frames max(0, t - k + 1) .. t, both included
        window = range(max(0, t - average_last + 1), t + 1)
        want = [sum(window) / len(window),
                sum(s * s for s in window) / len(window)]
        np.testing.assert_allclose(got[t], want, rtol=1e-6)
