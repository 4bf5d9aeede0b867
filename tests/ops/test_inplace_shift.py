"""The inference fast path: ``x`` shifted in place reads as the reference
shift, then comes back bit for bit, unseen by autograd's version counter."""
import pytest
import torch
from shift_reference import reference_shift

from tsm_plugin.ops import SHIFT_MODES
from tsm_plugin.ops.inplace_shift import can_shift_in_place, shifted_in_place


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('clips,num_segments,channels,shift_div',
                         [(2, 8, 64, 8), (1, 3, 16, 4), (3, 1, 8, 8),
                          (2, 4, 10, 3), (1, 5, 24, 2)])
def test_shifted_inside_restored_after(clips, num_segments, channels,
                                       shift_div, mode):
    x = torch.randn(clips * num_segments, channels, 3, 5)
    before = x.clone()
    version = x._version
    with shifted_in_place(x, num_segments, shift_div, mode) as shifted:
        assert shifted is x
        assert torch.equal(x, reference_shift(before, num_segments, shift_div,
                                              mode))
        assert num_segments == 1 or not torch.equal(x, before)
    assert torch.equal(x, before) and x._version == version


def test_restored_when_the_consumer_raises():
    x = torch.randn(8, 16, 3, 3)
    before = x.clone()
    with pytest.raises(RuntimeError, match='the conv failed'):
        with shifted_in_place(x, 4, 4, 'bidirectional'):
            raise RuntimeError('the conv failed')
    assert torch.equal(x, before)


def test_graph_that_saved_the_input_still_backpropagates():
    a = torch.randn(8, 16, 3, 3, requires_grad=True)
    x = a.relu()  # ReLU saves its output
    with torch.no_grad(), shifted_in_place(x, 4, 8, 'unidirectional'):
        pass
    x.sum().backward()  # no "modified by an inplace operation" error
    assert torch.equal(a.grad, (a > 0).float())


def test_only_dense_cpu_tensors():
    x = torch.randn(8, 16, 4, 4)
    assert can_shift_in_place(x)
    assert not can_shift_in_place(x.to(memory_format=torch.channels_last))
    assert not can_shift_in_place(torch.randn(8, 32, 4, 4)[:, ::2])
    assert not can_shift_in_place(x.to('meta'))
