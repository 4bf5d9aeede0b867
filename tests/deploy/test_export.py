"""ONNX export: ONNX Runtime gives PyTorch's numbers, offline and streaming.

Every graph is traced on one input and checked on others: another N, clips
that differ from a fresh clip in one frame each (a shift recorded as a
constant would answer those wrongly), and streams fed frame by frame.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine import Config

from tsm_plugin.deploy.export import (RELATIVE_TOLERANCE, OfflineGraph,
                                      OnnxMismatchError, export, export_module,
                                      io_names, main, offline_inputs,
                                      relative_difference, require_onnxruntime,
                                      run_onnx, stream_onnx, streaming_inputs,
                                      verify_offline)
from tsm_plugin.online import StreamingRecognizer
from tsm_plugin.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'tsm_r18_demo.py'
T = 4  # frames per clip
# An output must move by this much more than the tolerance when the input
# changes, or the parity check would prove nothing.
MOVES = 100 * RELATIVE_TOLERANCE

R18 = dict(type='tsm_plugin.ResNetTSM', depth=18, pretrained=None)
# name: (backbone, head in_channels, head temporal_pool, frame size)
OFFLINE_VARIANTS = {
    'r18-blockres-bidirectional': (R18, 512, False, 32),
    'r18-block-bidirectional': (dict(R18, shift_place='block'), 512, False, 32),
    'r18-blockres-unidirectional':
    (dict(R18, shift_mode='unidirectional'), 512, False, 32),
    'r18-temporal-pool': (dict(R18, temporal_pool=True), 512, True, 32),
    'r18-non-local': (dict(R18, non_local=(0, (1, 0), (0, 1), 0),
                           non_local_cfg=dict(mode='embedded_gaussian',
                                              sub_sample=True)), 512, False,
                      32),
    'r50-blockres-bidirectional': (dict(R18, depth=50), 2048, False, 32),
    'mmaction-mobilenetv2':
    (dict(type='mmaction.MobileNetV2TSM', pretrained2d=False), 1280, False,
     32),
    'plugin-mobilenetv2': (dict(type='tsm_plugin.MobileNetV2TSM'), 1280,
                           False, 32),
}
UNIDIRECTIONAL = dict(shift_mode='unidirectional')
# name: (backbone, head in_channels, frame size)
STREAMING_VARIANTS = {
    'r18-blockres': (dict(R18, **UNIDIRECTIONAL), 512, 32),
    'r18-block': (dict(R18, shift_place='block', **UNIDIRECTIONAL), 512, 32),
    'r50-blockres': (dict(R18, depth=50, **UNIDIRECTIONAL), 2048, 32),
    'r50-block': (dict(R18, depth=50, shift_place='block', **UNIDIRECTIONAL),
                  2048, 32),
    'plugin-mobilenetv2':
    (dict(type='tsm_plugin.MobileNetV2TSM', **UNIDIRECTIONAL), 1280, 32),
}


def build_recognizer(backbone, in_channels, temporal_pool=False, size=32):
    """A T-frame recognizer in eval mode whose BN statistics come from random
    clips, so every layer's output keeps a unit scale (with the default
    statistics a deep random net shrinks the signal to nothing)."""
    model = MODELS.build(dict(
        type='tsm_plugin.Recognizer2D',
        backbone=dict(backbone, num_segments=T),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=5,
                      in_channels=in_channels, num_segments=T,
                      temporal_pool=temporal_pool, init_std=0.1),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    for m in model.modules():  # torch's default init, then calibrated
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration run
    model.train()
    with torch.no_grad():
        model.extract_feat(torch.randn(2, T, 3, size, size), stage='head')
    return model.eval()


def clips_differing_in_one_frame(size, generator):
    """``(T + 1, T, 3, H, W)``: a fresh clip, then T copies of it with frame
    k replaced (clip k + 1)."""
    base = torch.randn(1, T, 3, size, size, generator=generator)
    clips = base.repeat(T + 1, 1, 1, 1, 1)
    for k in range(T):
        clips[k + 1, k] = torch.randn(3, size, size, generator=generator)
    return clips


def assert_each_frame_moves_scores(scores):
    for k in range(T):
        assert relative_difference(scores[k + 1], scores[0]) > MOVES, (
            f'changing frame {k} barely moved the scores: the check would '
            'not see a wrong graph')


def assert_offline_parity(graph, size, tmp_path):
    """Export with N = 1; on N = T + 1 clips that differ from a fresh clip in
    one frame each, ONNX Runtime gives PyTorch's scores."""
    generator = torch.Generator().manual_seed(0)
    path = export_module(
        graph, (offline_inputs(graph, size, size, 1, generator), ),
        str(tmp_path / 'model.onnx'), ['frames'], ['scores'])
    clips = clips_differing_in_one_frame(size, generator)
    if graph.layout == 'NCHW':
        clips = clips.flatten(0, 1)
    with torch.no_grad():
        expected = graph(clips)
    (got, ) = run_onnx(path, [clips])
    assert got.shape == (T + 1, 5)
    assert relative_difference(got, expected.numpy()) <= RELATIVE_TOLERANCE
    assert_each_frame_moves_scores(expected)


@pytest.mark.parametrize('name', OFFLINE_VARIANTS)
def test_offline_graph_matches_pytorch_for_other_n_and_each_frame(
        name, tmp_path):
    backbone, in_channels, temporal_pool, size = OFFLINE_VARIANTS[name]
    graph = OfflineGraph(build_recognizer(backbone, in_channels,
                                          temporal_pool, size))
    assert_offline_parity(graph, size, tmp_path)


def test_offline_graph_takes_frames_flat_with_nchw_layout(tmp_path):
    graph = OfflineGraph(build_recognizer(R18, 512), layout='NCHW')
    assert_offline_parity(graph, 32, tmp_path)


@pytest.mark.parametrize('name', STREAMING_VARIANTS)
def test_streaming_graph_reproduces_pytorch_streaming_frame_by_frame(
        name, tmp_path):
    backbone, in_channels, size = STREAMING_VARIANTS[name]
    streaming = StreamingRecognizer(
        build_recognizer(backbone, in_channels, size=size)).eval()
    generator = torch.Generator().manual_seed(0)
    # traced on one stream with random buffers, run on two from zeros
    path = export_module(
        streaming, streaming_inputs(streaming, size, size, 1, generator),
        str(tmp_path / 'step.onnx'), *io_names(streaming.num_buffers))
    frames = torch.randn(T + 2, 2, 3, size, size, generator=generator)
    zeros = [b.numpy() for b in streaming.zero_buffers(frames[0])]
    got = stream_onnx(path, frames, zeros)
    streaming.reset()
    # float32 through 50 layers, 10 frames deep: ONNX Runtime and oneDNN sum
    # in other orders, by a CPU-dependent 1.09e-4 of the scale on an AMD
    # EPYC (2026-12-07); the frames below still move scores by > MOVES.
    tolerance = RELATIVE_TOLERANCE * (3 if name.startswith('r50') else 1)
    for t, frame in enumerate(frames):
        expected = streaming.step(frame)
        assert got[t][0].shape == (2, 5)
        assert relative_difference(got[t][0], expected) <= tolerance
        for onnx_buffer, buffer in zip(got[t][1:], streaming.buffers):
            assert relative_difference(onnx_buffer, buffer) <= tolerance
    # the buffers carry the past: frame 1 alone (zero buffers) scores otherwise
    (alone, *_) = run_onnx(path, [frames[1]] + [torch.from_numpy(z)
                                                 for z in zeros])
    assert relative_difference(alone, got[1][0]) > MOVES


def slice_copied_shift(self, x):
    """``TemporalShift.forward`` with the shift this plugin had before: each
    channel group copied into its slice of ``torch.empty_like`` (exact in
    eager mode and under ``torch.jit.trace``; the ONNX export loses the
    copies into slices of slices and answers wrong numbers)."""
    nt, c, h, w = x.shape
    x = x.reshape(-1, self.num_segments, c, h * w)
    fold = c // self.shift_div
    out = torch.empty_like(x)
    for first, last, offset in ((0, fold, 1), (fold, 2 * fold, -1),
                                (2 * fold, c, 0)):
        src, dst = x[:, :, first:last], out[:, :, first:last]
        if offset == 0:
            dst.copy_(src)
        elif offset > 0:
            dst[:, :-1].copy_(src[:, 1:])
            dst[:, -1:].zero_()
        else:
            dst[:, 1:].copy_(src[:, :-1])
            dst[:, :1].zero_()
    return self.net(out.view(nt, c, h, w))


def test_verify_catches_a_shift_exported_as_constants(tmp_path, monkeypatch):
    # The check the CLI runs after each export must fail on the defect it is
    # there for: the original TSM's slice-assigned shift.
    from tsm_plugin.ops import TemporalShift
    graph = OfflineGraph(build_recognizer(R18, 512))
    clips = torch.randn(2, T, 3, 32, 32)
    with torch.no_grad():
        expected = graph(clips)
    monkeypatch.setattr(TemporalShift, 'forward', slice_copied_shift)
    with torch.no_grad():  # right in PyTorch: the error would be silent
        assert relative_difference(graph(clips), expected) < 1e-6
    path = export_module(graph, (offline_inputs(graph, 32, 32), ),
                         str(tmp_path / 'model.onnx'), ['frames'], ['scores'])
    with pytest.raises(OnnxMismatchError, match="output 'scores' differs"):
        verify_offline(graph, path, 32, 32)


def save_checkpoint(config, path):
    from mmaction.apis import init_recognizer
    model = init_recognizer(config, None, device='cpu')
    torch.save(dict(state_dict=model.state_dict()), path)
    return model


def test_cli_exports_a_checkpoint_with_dynamic_batch(tmp_path, capsys):
    onnx, onnxruntime = require_onnxruntime()
    checkpoint = str(tmp_path / 'epoch_1.pth')
    model = save_checkpoint(Config.fromfile(DEMO_CONFIG), checkpoint)
    out = str(tmp_path / 'tsm.onnx')
    result = main([str(DEMO_CONFIG), checkpoint, out, '--input-size', '32',
                   '32'])
    assert result['relative_difference'] <= RELATIVE_TOLERANCE
    assert 'max relative difference' in capsys.readouterr().out
    graph = onnx.load(out).graph
    (frames, ) = graph.input
    dims = [d.dim_param or d.dim_value for d in
            frames.type.tensor_type.shape.dim]
    assert (frames.name, dims) == ('frames', ['batch', 4, 3, 32, 32])
    metadata = {p.key: p.value for p in onnx.load(out).metadata_props}
    assert metadata['num_segments'] == '4' and metadata['graph'] == 'offline'
    assert metadata['mean'] == '[123.675, 116.28, 103.53]'
    # what a runner needs (tsm_plugin/deploy/runner.py): the test pipeline's
    # steps
    assert metadata['channel_order'] == 'RGB'
    assert metadata['precision'] == 'float32'
    assert json.loads(metadata['pipeline']) == [
        dict(type='Resize', scale=[-1, 36], keep_ratio=True,
             interpolation='bilinear'),
        dict(type='CenterCrop', crop_size=[32, 32])]
    assert json.loads(metadata['sample_frames'])['num_clips'] == 4
    # the checkpoint's weights, not the config's init: compare with them
    clips = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        expected = OfflineGraph(model.eval())(clips)
    (got, ) = run_onnx(out, [clips])
    assert relative_difference(got, expected.numpy()) <= RELATIVE_TOLERANCE


def test_cli_exports_the_streaming_step(tmp_path):
    onnx, _ = require_onnxruntime()
    config = tmp_path / 'tsm_r18_online.py'
    # no videos where the demo config looks (`make demo` writes some into
    # work_dirs/demo/data of the checkout)
    empty = str(tmp_path / 'no_videos')
    config.write_text(f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
                      "model = dict(backbone=dict(shift_mode='unidirectional'))\n"
                      f'val_dataloader = dict(dataset=dict(data_root={empty!r}))\n'
                      f'test_dataloader = dict(dataset=dict(data_root={empty!r}))\n')
    out = str(tmp_path / 'step.onnx')
    result = main([str(config), 'none', out, '--online', '--input-size', '32',
                   '32'])
    assert result['relative_difference'] <= RELATIVE_TOLERANCE
    model = onnx.load(out)
    names = ([i.name for i in model.graph.input],
             [o.name for o in model.graph.output])
    assert names == io_names(8)  # R18: one buffer per block's conv1
    assert (result['inputs'], result['outputs']) == names
    shapes = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
              for i in model.graph.input[:2]]
    assert shapes == [['batch', 3, 32, 32], ['batch', 8, 8, 8]]
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata['graph'] == 'streaming'
    # no test videos on disk to measure the sampled frames' spacing
    assert metadata['frame_step'] == '1' and metadata['average_last'] == '4'
    assert 'no test/val video found' in metadata['frame_step_from']


def test_export_stores_a_non_square_crop_as_w_h(tmp_path):
    onnx, _ = require_onnxruntime()
    config = tmp_path / 'wide.py'
    config.write_text(
        f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
        "test_pipeline = [dict(type='DecordInit'), dict(type='SampleFrames', "
        "clip_len=1, num_clips=4, test_mode=True), dict(type='DecordDecode'), "
        "dict(type='Resize', scale=(-1, 64)), dict(type='CenterCrop', "
        "crop_size=(48, 40)), dict(type='FormatShape', input_format='NCHW'), "
        "dict(type='PackActionInputs')]\n")
    out = str(tmp_path / 'wide.onnx')
    result = export(str(config), None, out, class_names=['a', 'b'])
    assert result['input_size'] == (40, 48)  # (h, w) of the (w, h) crop
    model = onnx.load(out)
    dims = [d.dim_value for d in
            model.graph.input[0].type.tensor_type.shape.dim[-2:]]
    assert dims == [40, 48]
    metadata = {p.key: p.value for p in model.metadata_props}
    assert json.loads(metadata['pipeline'])[1]['crop_size'] == [48, 40]
    assert json.loads(metadata['class_names']) == ['a', 'b']
    with pytest.raises(ValueError, match='class_names holds 3 names, the '
                       'model has 2 classes'):
        export(str(config), None, out, class_names=['a', 'b', 'c'])


@pytest.mark.parametrize('kwargs, match', [
    (dict(layout='NTHWC'), "layout must be one of .* got 'NTHWC'"),
    (dict(input_size=(32, 0)), r'input_size must be .* got \(32, 0\)'),
    (dict(online=True), "shift_mode='unidirectional'"),
])
def test_export_refuses_what_it_cannot_export(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        export(str(DEMO_CONFIG), None, str(tmp_path / 'x.onnx'), **kwargs)


def test_export_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint '.*nope.pth'"):
        export(str(DEMO_CONFIG), str(tmp_path / 'nope.pth'),
               str(tmp_path / 'x.onnx'))
    with pytest.raises(FileNotFoundError, match="out '.*x.onnx': its folder"):
        export(str(DEMO_CONFIG), None, str(tmp_path / 'no' / 'x.onnx'))


def test_offline_graph_refuses_a_recognizer_without_clips():
    with pytest.raises(ValueError, match='Recognizer2D with a cls_head'):
        OfflineGraph(torch.nn.Linear(2, 2))


def test_missing_onnxruntime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[export\]'"):
        require_onnxruntime()


def test_import_needs_no_onnx():
    # `import tsm_plugin` (and the export module itself) work without the
    # optional extra; only exporting needs it.
    code = ('import sys; sys.modules["onnx"] = sys.modules["onnxruntime"] = '
            'None; import tsm_plugin, tsm_plugin.deploy.export; print("ok")')
    run = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == 'ok', run.stderr


@pytest.mark.parametrize('online', [False, True])
def test_non_square_crop_exports_as_the_pipeline_gives_frames(tmp_path,
                                                              online):
    """MMAction2 sizes are (w, h): CenterCrop(crop_size=(32, 24)) gives
    frames 24 high and 32 wide, and the graph must take exactly those."""
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from tsm_plugin.demo.make_data import make_clip, write_video
    onnx, _ = require_onnxruntime()
    cfg = Config.fromfile(DEMO_CONFIG)
    if online:
        cfg.model.backbone.shift_mode = 'unidirectional'
    for step in cfg.test_pipeline:
        if step['type'] == 'CenterCrop':
            step['crop_size'] = (32, 24)  # (w, h)
    out = str(tmp_path / 'model.onnx')
    # streaming: the export also checks the non-square buffers against
    # PyTorch frame by frame (offline parity is tested on square clips)
    result = export(cfg, None, out, online=online, verify=online)
    assert result['input_size'] == (24, 32)  # (H, W)

    def dims(value_info):
        return [d.dim_param or d.dim_value
                for d in value_info.type.tensor_type.shape.dim]

    (frames, *buffers) = onnx.load(out).graph.input
    assert dims(frames)[-3:] == [3, 24, 32]
    # a clip as the test pipeline prepares it runs in the graph
    video = str(tmp_path / 'video.mp4')
    write_video(video, make_clip(np.random.default_rng(0), size=64,
                                 frames=16))
    init_default_scope('mmaction')
    data = Compose(cfg.test_pipeline)(dict(filename=video, label=-1,
                                           start_index=0, modality='RGB'))
    assert tuple(data['inputs'].shape) == (4, 3, 24, 32)
    clip = data['inputs'].float()[None]  # (1, T, 3, H, W)
    inputs = [clip]
    if online:  # the first frame, and zeros for every shift buffer
        inputs = [clip[:, 0]] + [torch.zeros(1, *dims(b)[1:]) for b in buffers]
    (scores, *_) = run_onnx(out, inputs)
    assert scores.shape == (1, 2)
