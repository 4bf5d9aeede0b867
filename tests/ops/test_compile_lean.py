"""torch.compile keeps the lean shift: a compiled TSM train step equals
eager and keeps compiled TSN's activation bytes (the shift runs as the custom
op ``tsm_plugin::shift_conv2d``, ``shift_conv_op.py``). A compiled TAda2D
step equals eager too. One small stage each: compiling on these CPUs is slow
(``aot_eager``: dynamo and AOT autograd, no code generation)."""
import pytest
import torch

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.tools.saved_memory import saved_activation_bytes

pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py


def train_step(model, x):
    """Output, input gradient and parameter gradients of one step."""
    model.zero_grad()
    x = x.detach().clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=x.dtype == torch.bfloat16):
        out = model(x)
    out.float().square().sum().backward()
    return [out.detach(), x.grad] + [p.grad.clone()
                                     for p in model.parameters()]


def stage(**kwargs):
    torch.manual_seed(0)
    return ResNetTSM(18, num_segments=4, **kwargs).layer1.train()


def test_compiled_tsm_step_equals_eager_and_keeps_tsn_bytes():
    x = torch.randn(8, 64, 6, 6)
    tsm, tsn = stage(), stage(is_shift=False)
    compiled_tsm = torch.compile(tsm, backend='aot_eager')
    compiled_tsn = torch.compile(tsn, backend='aot_eager')
    got, want = train_step(compiled_tsm, x), train_step(tsm, x)
    for g, w in zip(got, want):
        # the same kernels, composed by AOT autograd: float32 rounding
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)
    # the shift mattered: TSN's output is far from TSM's (same weights)
    assert (train_step(tsn, x)[0] - want[0]).abs().max() > 0.1
    # compiled, the shifted stage keeps what TSN keeps (the plain ops,
    # lean_shift=False, kept 1.11: shift_conv_op.py)
    assert saved_activation_bytes(compiled_tsm, x) <= 1.01 * \
        saved_activation_bytes(compiled_tsn, x)


def test_compiled_tada2d_step_equals_eager():
    from mmaction.registry import MODELS

    import tsm_plugin  # noqa: F401
    torch.manual_seed(0)
    tada = MODELS.build(dict(type='tsm_plugin.ResNetTAda', depth=18,
                             num_segments=4)).layer1.train()
    with torch.no_grad():
        for name, p in tada.named_parameters():
            if 'temporal_conv2' in name:
                p.normal_(0, 0.1)
    x = torch.randn(8, 64, 6, 6)
    got = train_step(torch.compile(tada, backend='aot_eager'), x)
    for g, w in zip(got, train_step(tada, x)):
        # plain ops compiled against eager's Function and kernels
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
