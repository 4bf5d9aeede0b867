"""Streaming equals offline for TSMBackbone over non-ResNet networks of
timm, torchvision and mmpretrain (zoo venv)."""
import pytest
import torch
from zoo_networks import NON_RESNETS, zoo_recognizer

from tsm_plugin.online import StreamingRecognizer

pytestmark = pytest.mark.zoo
T = 2  # frames per clip the model is built (trained) with


@pytest.mark.parametrize('network', sorted(NON_RESNETS))
def test_stream_equals_the_offline_model_over_the_whole_stream(network):
    model = zoo_recognizer(network, T, shift_mode='unidirectional')
    length = 3 * T
    clips = torch.randn(2, length, 3, 32, 32)
    # offline: the same weights over each whole stream as one clip
    offline = zoo_recognizer(network, length, state_dict=model.state_dict(),
                             shift_mode='unidirectional')
    fc = offline.cls_head.fc_cls
    with torch.no_grad():
        feats = offline.backbone(clips.flatten(0, 1)).mean((2, 3))
        expected = (feats @ fc.weight.T + fc.bias).view(2, length, -1)
    streamer = StreamingRecognizer(model)
    got = torch.stack([streamer.step(clips[:, t]) for t in range(length)], 1)
    tol = 1e-4 * expected.abs().max().item()
    torch.testing.assert_close(got, expected, rtol=0, atol=tol)
    # the buffers carry the past: frame 1 from zero buffers scores otherwise
    streamer.reset()
    alone = streamer.step(clips[:, 1])
    assert (alone - got[:, 1]).abs().max() > 100 * tol


def test_bidirectional_zoo_backbone_is_refused():
    model = zoo_recognizer('timm-mobilenetv3_small_050', T)
    with pytest.raises(ValueError, match='bi-directional shift reads the next'):
        StreamingRecognizer(model)
