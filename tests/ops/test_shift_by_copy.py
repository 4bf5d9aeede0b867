"""The eager shift kernel (``shift_by_copy.py``) against the plain ops that
traces record (``_shift``) and the frame-by-frame reference: bit for bit, in
every dtype and layout (kept), forward and adjoint."""
import pytest
import torch
from shift_reference import reference_shift

from tsm_plugin.ops.temporal_shift import _shift, eager_shift


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def inputs(dtype):
    x = torch.randn(2 * 4, 12, 5, 3).to(dtype)
    x[1, 0, 0, 0] = float('inf')
    x[2, 5, 1, 1] = float('nan')
    return {
        'contiguous': x,
        'channels_last': x.to(memory_format=torch.channels_last),
        'strided': torch.randn(8, 24, 5, 6).to(dtype)[:, ::2, :, ::2],
    }


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16,
                                   torch.bfloat16, torch.float64])
@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
@pytest.mark.parametrize('adjoint', [False, True])
def test_same_bits_as_the_plain_ops(dtype, mode, adjoint):
    for layout, x in inputs(dtype).items():
        fast = eager_shift(x, 4, 3, mode, adjoint)
        plain = _shift(x, 4, 3, mode, adjoint)
        # a channels_last input stays channels_last, the others come out
        # contiguous (a strided view's copy), in both kernels
        layout_kept = torch.channels_last if layout == 'channels_last' \
            else torch.contiguous_format
        for out in (fast, plain):
            assert out.dtype == dtype, layout
            assert out.is_contiguous(memory_format=layout_kept), layout
        # equal_nan: NaN moves like any value; bit patterns compared too
        assert torch.equal(fast.isnan(), plain.isnan()), layout
        assert torch.equal(fast.nan_to_num(0., 7., -7.),
                           plain.nan_to_num(0., 7., -7.)), layout
        assert not torch.equal(fast.nan_to_num(0., 7., -7.),
                               x.nan_to_num(0., 7., -7.))  # it moved data


@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_adjoint_is_the_reference_moved_back(mode):
    x = torch.randn(3 * 5, 16, 2, 2, dtype=torch.float64)
    assert torch.equal(eager_shift(x, 5, 4, mode),
                       reference_shift(x, 5, 4, mode))
    # <shift(x), y> == <x, adjoint(y)>: the adjoint is the transpose
    y = torch.randn_like(x)
    lhs = (eager_shift(x, 5, 4, mode) * y).sum()
    rhs = (x * eager_shift(y, 5, 4, mode, adjoint=True)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_one_segment_and_input_untouched():
    x = torch.randn(3, 8, 2, 2)
    before = x.clone()
    out = eager_shift(x, 1, 4, 'bidirectional')
    assert torch.equal(x, before)
    assert torch.equal(out[:, 4:], x[:, 4:]) and not out[:, :4].any()
