"""``torch.jit.trace`` and ``torch.compile`` record the plain ops and match eager.

torch.compile runs with ``backend='aot_eager'`` (dynamo + AOT autograd, no code
generation): inductor needs ~40 s of C++ compilation on these CPUs. Set
``TSM_TEST_INDUCTOR=1`` to run the same check with inductor.
"""
import os

import pytest
import torch
from torch import nn

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.ops import TemporalShift, temporal_shift

BACKENDS = ['aot_eager'] + (
    ['inductor'] if os.environ.get('TSM_TEST_INDUCTOR') == '1' else [])


pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py


def forward_backward(fn, x):
    x = x.detach().clone().requires_grad_()
    out = fn(x)
    out.square().sum().backward()
    return out.detach(), x.grad


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_compile_module_and_op_match_eager(backend, mode):
    module = TemporalShift(nn.Conv2d(16, 8, 3, padding=1), 4, 4, mode)
    x = torch.randn(8, 16, 6, 6)
    compiled = torch.compile(module, backend=backend, fullgraph=True)
    for got, want in zip(forward_backward(compiled, x),
                         forward_backward(module, x)):
        torch.testing.assert_close(got, want)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), module(x))
    op = torch.compile(lambda t: temporal_shift(t, 4, 4, mode),
                       backend=backend, fullgraph=True)
    for got, want in zip(forward_backward(op, x),
                         forward_backward(lambda t: temporal_shift(t, 4, 4, mode),
                                          x)):
        assert torch.equal(got, want)


def test_compile_shifted_bottleneck_matches_eager():
    # One block of the backbone (dynamo traces a whole R50 for ~15 s here):
    # the shift inside ConvModule inside mmaction's Bottleneck.
    block = ResNetTSM(50, num_segments=4).layer2[1]
    compiled = torch.compile(block, backend='aot_eager', fullgraph=True)
    x = torch.randn(8, 512, 6, 6)
    for got, want in zip(forward_backward(compiled, x),
                         forward_backward(block, x)):
        torch.testing.assert_close(got, want)


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
def test_trace_module_matches_eager_on_new_inputs():
    module = TemporalShift(nn.Conv2d(16, 8, 3, padding=1), 4, 4)
    traced = torch.jit.trace(module, torch.randn(8, 16, 6, 6))
    for x in (torch.randn(8, 16, 6, 6), torch.randn(16, 16, 6, 6)):
        for got, want in zip(forward_backward(traced, x),
                             forward_backward(module, x)):
            assert torch.equal(got, want)


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
def test_trace_backbone_stage_matches_eager():
    # layer2 under temporal pool: the pool wrapper and shifted BasicBlocks.
    net = ResNetTSM(18, num_segments=4, temporal_pool=True).layer2.eval()
    x = torch.randn(8, 64, 8, 8)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
        new = torch.randn(8, 64, 8, 8)
        torch.testing.assert_close(traced(new), net(new))
