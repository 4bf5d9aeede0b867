"""``StreamingShift``'s in-place swap (eager inference) against its
concatenation (what traces record, and the path with autograd on): same
output bits, the input restored, the buffers untouched."""
import itertools

import pytest
import torch
from mmcv.cnn import ConvModule
from torch import nn

from tsm_plugin.ops import TemporalShift
from tsm_plugin.online.streaming import StreamingShift


def nets():
    torch.manual_seed(0)
    return {
        'conv': nn.Conv2d(16, 8, 3, padding=1),
        'ConvModule': ConvModule(16, 8, 1, norm_cfg=dict(type='BN'),
                                 act_cfg=dict(type='ReLU6')).eval(),
        # starts with an in-place op on its input: must not be swapped
        'in-place first': nn.Sequential(nn.ReLU(inplace=True),
                                        nn.Conv2d(16, 8, 1)),
        # ConvModule in every layer order, its ReLU in place (mmcv's
        # default): pre-activation ones write on their input
        **{f'ConvModule {"-".join(order)}': ConvModule(
            16, 8, 1, norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU', inplace=True), order=order).eval()
           for order in itertools.permutations(('conv', 'norm', 'act'))},
    }


def run(streaming, x, history, grad):
    streaming.history = history
    with torch.set_grad_enabled(grad):
        out = streaming(x)
    return out.detach(), streaming.new_history.detach().clone()


@pytest.mark.parametrize('name', list(nets()))
@pytest.mark.parametrize('first_frame', [False, True])
def test_swap_same_bits_as_concatenation(name, first_frame):
    net = nets()[name]
    streaming = StreamingShift(TemporalShift(net, 8, shift_div=4,
                                             mode='unidirectional'))
    x = torch.randn(2, 16, 5, 5) - 0.5
    history = None if first_frame else torch.randn(2, 4, 5, 5)
    passed = None if first_frame else history.clone()
    before = x.clone()
    swapped = StreamingShift.reads_input_once(net)
    assert swapped == (name in ('conv', 'ConvModule')
                       or name.startswith('ConvModule conv-'))
    fast, fast_new = run(streaming, x, history, grad=False)
    assert torch.equal(x, before)  # restored (or never touched)
    x = before.clone()
    ref, ref_new = run(streaming, x, history, grad=True)  # concatenation
    assert torch.equal(fast, ref)
    assert torch.equal(fast_new, ref_new)
    assert torch.equal(fast_new, before[:, :4])
    if not first_frame:
        assert torch.equal(history, passed)  # the buffer is only read
        # teeth: the history reaches the output
        streaming.history = torch.zeros_like(history)
        with torch.no_grad():
            assert not torch.allclose(streaming(before.clone()), fast)


def test_input_restored_when_the_conv_raises():
    conv = nn.Conv2d(16, 8, 3, padding=1)
    streaming = StreamingShift(TemporalShift(conv, 8, 4, 'unidirectional'))
    conv.register_parameter('weight', nn.Parameter(torch.randn(8, 3, 3, 3)))
    x = torch.randn(1, 16, 4, 4)
    before = x.clone()
    streaming.history = torch.randn(1, 4, 4, 4)
    with torch.no_grad(), pytest.raises(RuntimeError):
        streaming(x)
    assert torch.equal(x, before)
