"""``python -m tsm_plugin.convert tsm-online``: the original TSM online demo's
``mobilenetv2_jester_online.pth.tar`` (a plain state dict of its online
MobileNetV2, 27 Jester classes), built here with its real layout
(``original_tsm.MobileNetV2(online=True)``, written from the demo's
``mobilenet_v2_tsm.py``), converts one to one; the converted model streams
frame by frame as the demo's network does (float64, step by step), exports
to ONNX and runs in ``python -m tsm_plugin.online``."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from original_tsm import MobileNetV2, randomise
from tsm_plugin.convert import ConversionError, convert
from tsm_plugin.convert.tsm_original import CONFIG_DIR
from tsm_plugin.online import StreamingRecognizer

CONFIG = osp.join(CONFIG_DIR, 'tsm-online_mobilenetv2_jester-rgb.py')
JESTER = osp.join(osp.dirname(CONFIG_DIR), 'class_names', 'jester.txt')
SIDE = 32
TOLERANCE = 1e-9  # float64 of the same float32 weights


def frames(n, streams=2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, streams, 3, SIDE, SIDE, generator=gen)


@pytest.fixture(scope='module')
def online(tmp_path_factory):
    """The demo's network (BatchNorm statistics of one batch of frames, each
    the start of a stream) and its checkpoint, converted."""
    tmp = tmp_path_factory.mktemp('online')
    net = randomise(MobileNetV2(27, online=True),
                    (frames(1, streams=8, seed=0)[0], ))
    path = tmp / 'mobilenetv2_jester_online.pth.tar'
    # online_demo loads it as it is; the pre-1.6 file format of 2019
    torch.save(net.state_dict(), path, _use_new_zipfile_serialization=False)
    out = str(tmp / 'jester_online.pth')
    convert('tsm-online', str(path), out)
    return net.double(), str(path), out


def demo_stream(net, clip):
    """The demo's loop: each frame with the buffers of the previous one."""
    buffers, scores = (), []
    with torch.no_grad():
        for frame in clip:
            logits, *buffers = net(frame, *buffers)
            scores.append(logits)
    return torch.stack(scores)


def test_streams_what_the_demo_network_computes(online):
    net, _, out = online
    streamer = StreamingRecognizer.from_config(CONFIG, out).double()
    clip = frames(5).double()
    expected = demo_stream(net, clip)
    got = torch.stack([streamer.step(frame) for frame in clip])
    scale = expected.abs().max()
    assert ((got - expected).abs().max() / scale).item() < TOLERANCE
    # The comparison sees time: the demo's network fed zero buffers at every
    # frame (no past) answers differently from the second frame on.
    with torch.no_grad():
        no_past = torch.stack([net(frame)[0] for frame in clip])
    assert torch.equal(no_past[0], expected[0])
    moved = (no_past[1:] - expected[1:]).abs().max() / scale
    assert moved.item() > 1e4 * TOLERANCE


def test_converted_online_model_keys_and_config(online):
    _, path, out = online
    checkpoint = torch.load(out, weights_only=True)
    source = torch.load(path, weights_only=True)
    # every tensor of the demo's file, each in one tensor of the model
    assert len(checkpoint['state_dict']) == len(source)
    assert checkpoint['meta']['source'] == 'tsm-online'
    model = Config.fromstring(checkpoint['meta']['cfg'], '.py').model
    assert model == Config.fromfile(CONFIG).model
    assert model.backbone.shift_mode == 'unidirectional'
    assert model.cls_head.num_classes == 27
    with open(JESTER) as f:
        names = [line.strip() for line in f]
    assert len(names) == 27 and names == sorted(names)
    assert names[0] == 'Doing other things' and names[17] == 'Swiping Right'


def test_exports_the_streaming_step(online, tmp_path):
    pytest.importorskip('onnxruntime')
    from tsm_plugin.deploy.export import export
    _, _, out = online
    result = export(CONFIG, out, str(tmp_path / 'jester.onnx'), online=True,
                    input_size=(SIDE, SIDE), class_names=None)
    assert result['relative_difference'] is not None
    assert osp.isfile(result['path'])
    assert len(result['inputs']) == 1 + 10  # a frame + the demo's 10 buffers


def test_runs_in_the_live_command(online, tmp_path, capsys):
    """``python -m tsm_plugin.online CONFIG CKPT VIDEO`` with the Jester
    class names: the demo's gesture recogniser inside MMAction2."""
    from tsm_plugin.online.__main__ import main
    _, _, out = online
    video = str(tmp_path / 'hand.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(6):
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()
    with torch.no_grad():
        main([CONFIG, out, video, '--frame-step', '2', '--average-last',
              '12', '--label-map', JESTER])
    printed = capsys.readouterr().out
    with open(JESTER) as f:
        names = [line.strip() for line in f]
    last = printed.strip().splitlines()[-1]
    assert last.startswith('3 frames from')
    assert any(f'last label {name};' in last for name in names)


def test_an_offline_checkpoint_is_not_an_online_one(online, tmp_path):
    _, path, _ = online
    state = torch.load(path, weights_only=True)
    offline = tmp_path / 'offline.pth.tar'
    torch.save({'state_dict': {f'module.base_model.{k}': v
                               for k, v in state.items()}}, offline)
    with pytest.raises(ConversionError, match=str(offline) +
                       ".*not the original TSM online demo's state dict"):
        convert('tsm-online', str(offline), str(tmp_path / 'o.pth'))
    short = tmp_path / 'short.pth.tar'
    torch.save({k: v for k, v in state.items()
                if not k.startswith('features.18.')}, short)
    with pytest.raises(ConversionError, match='features.0 to features.18'):
        convert('tsm-online', str(short), str(tmp_path / 'o.pth'))
