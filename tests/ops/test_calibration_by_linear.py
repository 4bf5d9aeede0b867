"""The eager calibration generator (``calibration_by_linear.py``) against a
reference written here frame by frame from the generator's definition, and
against the plain ``nn.Conv1d`` path: outputs, gradients, BN statistics."""
import pytest
import torch

import tsm_plugin.ops.tadaconv as tadaconv
from tsm_plugin.ops import CalibrationGenerator, TAdaConv2d
from tsm_plugin.ops.calibration_by_linear import calibration_by_linear

T = 4


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def plain(fn, *args):
    old = tadaconv.eager_kernels_wanted
    tadaconv.eager_kernels_wanted = lambda: False
    try:
        return fn(*args)
    finally:
        tadaconv.eager_kernels_wanted = old


def temporal_conv(frames, conv):
    """``conv`` over time, one output frame at a time: ``frames`` (N, T, C)."""
    w = conv.weight  # (out, in, k)
    k = w.shape[2]
    out = []
    for t in range(frames.shape[1]):
        acc = conv.bias.expand(frames.shape[0], -1).clone() \
            if conv.bias is not None else 0
        for j in range(k):
            source = t + j - k // 2
            if 0 <= source < frames.shape[1]:
                acc = acc + frames[:, source] @ w[:, :, j].t()
        out.append(acc)
    return torch.stack(out, 1)


def reference(gen, x):
    """The generator by its definition (TAdaConv paper, Sec. 3): per-frame
    descriptors plus a projected global one, two temporal convs with BN and
    ReLU between, plus 1."""
    n = x.shape[0] // T
    frames = x.mean((2, 3)).view(n, T, -1)
    glob = frames.mean(1) @ gen.global_proj.weight[:, :, 0].t() \
        + gen.global_proj.bias
    hidden = temporal_conv(frames + glob[:, None], gen.temporal_conv1)
    bn = gen.bn
    if bn.training:
        mean = hidden.mean((0, 1))
        var = hidden.var((0, 1), unbiased=False)
    else:
        mean, var = bn.running_mean, bn.running_var
    hidden = ((hidden - mean) / torch.sqrt(var + bn.eps) * bn.weight
              + bn.bias).clamp(min=0)
    return (temporal_conv(hidden, gen.temporal_conv2) + 1).reshape(n * T, -1)


def active_generator(channels, kernels, train):
    gen = CalibrationGenerator(channels, T, reduction=2, kernels=kernels)
    torch.nn.init.normal_(gen.temporal_conv2.weight, std=0.3)
    gen.bn.running_mean.normal_()
    gen.bn.running_var.uniform_(0.5, 2)
    torch.nn.init.normal_(gen.bn.weight)
    return gen.double().train(train)


@pytest.mark.parametrize('kernels', [(3, 3), (1, 5), (5, 3)])
@pytest.mark.parametrize('train', [True, False])
def test_outputs_and_gradients_match_the_definition(kernels, train):
    torch.manual_seed(0)
    gen = active_generator(6, kernels, train)
    x = torch.randn(2 * T, 6, 3, 5, dtype=torch.double, requires_grad=True)
    grad = torch.randn(2 * T, 6, dtype=torch.double)
    params = [x] + list(gen.parameters())
    out = calibration_by_linear(gen, x)
    grads = torch.autograd.grad(out, params, grad)
    ref = reference(gen, x)
    ref_grads = torch.autograd.grad(ref, params, grad)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-9)
    # teeth: the calibration is far from 1 and reads the other frames
    assert (out - 1).abs().max() > 0.1
    moved = x.detach().clone()
    moved[1] += 1  # frame 1 of clip 0
    changed = (calibration_by_linear(gen, moved) - out).abs().amax(1)
    assert changed[0] > 1e-3 and changed[T - 1] > 1e-3  # context, clip 0
    if not train:  # in eval, clips stay apart
        assert changed[T:].max() < 1e-12


def test_eager_and_plain_paths_agree_in_float32_and_update_the_same_stats():
    torch.manual_seed(1)
    eager = active_generator(16, (3, 3), True).float()
    plain_gen = active_generator(16, (3, 3), True).float()
    plain_gen.load_state_dict(eager.state_dict())
    x = torch.randn(3 * T, 16, 7, 7)
    out = eager(x)
    ref = plain(plain_gen, x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert (out - 1).abs().max() > 100 * 1e-5
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        torch.testing.assert_close(getattr(eager.bn, name),
                                   getattr(plain_gen.bn, name))


def test_tadaconv2d_same_output_on_both_paths_with_and_without_autograd():
    torch.manual_seed(2)
    conv = TAdaConv2d(8, 5, 3, padding=1, num_segments=T).double().eval()
    torch.nn.init.normal_(conv.calibration.temporal_conv2.weight, std=0.3)
    x = torch.randn(2 * T, 8, 6, 6, dtype=torch.double)
    with torch.no_grad():
        fast = conv(x)
    ref = plain(conv, x.requires_grad_())
    torch.testing.assert_close(fast, ref.detach(), rtol=1e-10, atol=1e-10)
    flat = torch.nn.functional.conv2d(x.detach(), conv.weight, padding=1)
    assert (fast - flat).abs().max() > 0.1  # the calibration is active
