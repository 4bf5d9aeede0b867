"""ONNX Runtime equals PyTorch for TSMBackbone over non-ResNet networks of
timm, torchvision and mmpretrain, offline and streaming (zoo venv)."""
import pytest
import torch
from test_export import (RELATIVE_TOLERANCE, assert_offline_parity,
                         relative_difference)
from zoo_networks import NON_RESNETS, zoo_recognizer

from tsm_plugin.deploy.export import (OfflineGraph, export_module, io_names,
                                      stream_onnx, streaming_inputs)
from tsm_plugin.online import StreamingRecognizer

pytestmark = pytest.mark.zoo
T = 4


@pytest.mark.parametrize('network', sorted(NON_RESNETS))
def test_offline_graph_matches_pytorch(network, tmp_path):
    graph = OfflineGraph(zoo_recognizer(network, T))
    assert_offline_parity(graph, 32, tmp_path)


@pytest.mark.parametrize('network', sorted(NON_RESNETS))
def test_streaming_graph_matches_pytorch_frame_by_frame(network, tmp_path):
    streaming = StreamingRecognizer(
        zoo_recognizer(network, T, shift_mode='unidirectional')).eval()
    generator = torch.Generator().manual_seed(0)
    path = export_module(
        streaming, streaming_inputs(streaming, 32, 32, 1, generator),
        str(tmp_path / 'step.onnx'), *io_names(streaming.num_buffers))
    frames = torch.randn(T + 2, 2, 3, 32, 32, generator=generator)
    zeros = [b.numpy() for b in streaming.zero_buffers(frames[0])]
    got = stream_onnx(path, frames, zeros)
    streaming.reset()
    for t, frame in enumerate(frames):
        expected = streaming.step(frame)
        assert relative_difference(got[t][0], expected) <= RELATIVE_TOLERANCE
    # a stream's history matters: frame 1 from zeros scores otherwise
    streaming.reset()
    assert relative_difference(streaming.step(frames[1]),
                               got[1][0]) > 100 * RELATIVE_TOLERANCE
