"""ResNetTSM's temporal pool keeps a ``channels_last`` input's layout and
values (T -> T/2 frames, max over 3 frames, stride 2)."""
import torch
from torch import nn

from tsm_plugin.models.backbones.resnet_tsm import TemporalPool

CL = torch.channels_last


def test_temporal_pool_keeps_channels_last():
    pool = TemporalPool(nn.Identity(), num_segments=4)
    x = torch.randn(8, 16, 5, 6)
    out = pool(x.to(memory_format=CL))
    assert out.is_contiguous(memory_format=CL) and not out.is_contiguous()
    # written out: output frame j of a clip = max of input frames 2j-1..2j+1
    clips = x.view(2, 4, 16, 5, 6)
    want = torch.stack([clips[:, max(2 * j - 1, 0):2 * j + 2].amax(1)
                        for j in range(2)], 1).flatten(0, 1)
    assert torch.equal(out, want)
    assert torch.equal(pool(x), want)
