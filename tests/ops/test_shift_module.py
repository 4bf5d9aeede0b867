"""``TemporalShift``: its one dispatch (``path``), and every path equal to
``net(reference shift)``; whole backbones equal to MMAction2's built-in."""
import copy

import pytest
import torch
from mmaction.models import ResNetTSM as MMAction2ResNetTSM
from shift_reference import reference_shift
from torch import nn

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM, unwrapped_name
from tsm_plugin.ops import SHIFT_MODES, TemporalShift

pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py


def run(module, x, grad):
    """Output and gradients (input, weight, bias) of ``module(x)``."""
    x = x.detach().clone().requires_grad_(grad)
    with torch.set_grad_enabled(grad):
        out = module(x)
    if not grad:
        return (out,)
    conv = module.net if isinstance(module, TemporalShift) else module[1]
    return (out, *torch.autograd.grad(out.square().sum(),
                                      (x, conv.weight, conv.bias)))


class ReferenceShift(nn.Module):

    def __init__(self, mode, shift_div=4):
        super().__init__()
        self.mode, self.shift_div = mode, shift_div

    def forward(self, x):
        return reference_shift(x, 4, self.shift_div, self.mode)


class CustomConv(nn.Conv2d):

    def forward(self, x):
        return super().forward(x) * 2


def hooked_conv():
    conv = nn.Conv2d(16, 8, 3, padding=1)
    conv.register_forward_hook(lambda module, args, out: None)
    return conv


@pytest.mark.parametrize('mode', SHIFT_MODES)
@pytest.mark.parametrize('make_conv,lean,grad,path', [
    (lambda: nn.Conv2d(16, 8, 3, padding=1), True, True, 'lean'),
    (lambda: nn.Conv2d(16, 8, 3, padding=1), True, False, 'plain'),
    (lambda: nn.Conv2d(16, 8, 3, padding=1), False, True, 'plain'),
    (lambda: CustomConv(16, 8, 3, padding=1), True, True, 'plain'),
    (hooked_conv, True, True, 'plain'),
], ids=['lean', 'inference', 'lean=False', 'custom', 'hooked'])
def test_each_path_is_net_of_reference_shift(make_conv, lean, grad, path,
                                             mode):
    conv = make_conv()
    module = TemporalShift(conv, 4, 4, mode, lean=lean)
    x = torch.randn(8, 16, 5, 5)
    with torch.set_grad_enabled(grad):
        assert module.path(x) == path
    before = x.clone()
    got = run(module, x, grad)
    assert not torch.allclose(got[0], conv(x), atol=0.1)  # the shift mattered
    for a, b in zip(got, run(nn.Sequential(ReferenceShift(mode), conv), x,
                             grad)):
        assert torch.equal(a, b)
    assert torch.equal(x, before)


def test_strided_input_and_autocast():
    module = TemporalShift(nn.Conv2d(16, 8, 1), 4, 8)
    strided = torch.randn(8, 32, 4, 4, requires_grad=True)[:, ::2]
    for got, want in zip(run(module, strided, True), run(nn.Sequential(
            ReferenceShift('bidirectional', 8), module.net), strided, True)):
        assert torch.equal(got, want)
    x = torch.randn(8, 16, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # lean under autocast too (test_autocast.py: equal to the plain path)
        assert module.path(x) == 'lean'
        out = module(x.requires_grad_())
        ref = module.net(reference_shift(x, 4, 8, 'bidirectional'))
    assert out.dtype == torch.bfloat16 and torch.equal(out, ref)


def test_input_restored_when_the_conv_raises():
    module = TemporalShift(nn.Conv2d(8, 4, 1), 4, 4)  # wants 8 channels
    x = torch.randn(8, 16, 3, 3)
    before = x.clone()
    for grad in (False, True):
        with torch.set_grad_enabled(grad), pytest.raises(RuntimeError):
            module(x)
        assert torch.equal(x, before)


def test_copy_and_repr_keep_arguments():
    module = TemporalShift(nn.Conv2d(8, 8, 1), 4, 4, 'unidirectional',
                           lean=False)
    assert "mode='unidirectional', lean=False" in repr(copy.deepcopy(module))


def test_rejects_bad_arguments_at_build():
    with pytest.raises(ValueError, match='shift_mode'):
        TemporalShift(nn.Identity(), 8, 8, mode='both')


NL = dict(non_local=((0, 0, 0), (0, 1, 0, 1), (0, 0, 0, 0, 0, 0), (0, 0, 0)),
          non_local_cfg=dict(sub_sample=True, mode='dot_product'))
NETS = [  # ResNetTSM arguments; reference: MMAction2's built-in, else the
    # plugin's plain path (MMAction2 has no unidirectional shift)
    dict(depth=18),
    dict(depth=50),
    dict(depth=18, shift_place='block'),
    dict(depth=18, temporal_pool=True),
    dict(depth=50, **NL),  # MMAction2's non-local needs Bottlenecks
    dict(depth=50, with_cp=True),  # BasicBlock refuses with_cp
    dict(depth=18, norm_eval=True, frozen_stages=1),
    dict(depth=18, shift_mode='unidirectional'),
    dict(depth=18, shift_place='block', shift_mode='unidirectional'),
]


@pytest.mark.parametrize('kwargs', NETS, ids=lambda k: ','.join(
    f'{key}={value}' for key, value in k.items() if 'non_local' not in key)
    + (',non_local' if 'non_local' in k else ''))
def test_backbone_same_outputs_and_gradients_as_reference(kwargs):
    # float64: MMAction2's backward sums the input gradient in another order,
    # so float32 results differ by rounding (up to ~1e-4 relative here).
    ours = ResNetTSM(num_segments=4, **kwargs).double()
    if kwargs.get('shift_mode') == 'unidirectional':
        ref = ResNetTSM(num_segments=4, lean_shift=False, **kwargs)
    else:
        ref = MMAction2ResNetTSM(num_segments=4, pretrained2d=False, **kwargs)
    ref.double().load_state_dict(ours.state_dict())
    x = torch.randn(8, 3, 32, 32, dtype=torch.float64)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    ours.train()
    ref.train()  # MMAction2's returns None
    outs = [net(xi) for net, xi in zip((ours, ref), xs)]
    assert torch.equal(outs[0], outs[1])
    g = torch.randn(outs[0].shape, dtype=torch.float64)
    for out in outs:
        out.backward(g)
    tol = dict(rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, **tol)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        q = ref_params[name]
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, **tol, msg=name)
    ours.eval()
    ref.eval()
    with torch.no_grad():  # inference: the plain path
        assert torch.equal(ours(x), ref(x))
    # Without the shift the output is far off: the comparisons can fail.
    tsn = ResNetTSM(num_segments=4, is_shift=False, **kwargs).double().train()
    state = {unwrapped_name(k): v for k, v in ours.state_dict().items()}
    tsn.load_state_dict({k: state[unwrapped_name(k)]
                         for k in tsn.state_dict()})
    assert (tsn(x) - outs[0]).abs().max() > 1e-3
