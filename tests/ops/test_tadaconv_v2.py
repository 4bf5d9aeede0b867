"""TAdaConv2dV2 (cal_dim 'cout', bias calibration, attention generator)
against the official formulation written from its description
(tests/official_tadaconv.py: per-frame weights, one grouped conv)."""
import pytest
import torch
import torch.nn.functional as F
from official_tadaconv import route_func_transformer, tadaconv2d_v2

from tsm_plugin.ops import TAdaConv2dV2
from tsm_plugin.ops.tadaconv_v2 import quick_gelu

C, T = 32, 4


def official_names(conv):
    """Our parameters under the official names and shapes (``dwconv`` and
    ``dwconv_rf`` of ``TAdaConvNeXtV2Block``)."""
    g = conv.calibration
    s = {'dwconv.weight': conv.weight[None, None],
         'dwconv.bias': conv.bias[None, None]}
    for ours, theirs in [('temporal_conv1', 'a'), ('qkv', 'qkv_proj'),
                         ('attn_out', 'attn_out'), ('temporal_conv2', 'b'),
                         ('temporal_conv2_bias', 'b_bias')]:
        module = getattr(g, ours)
        s[f'dwconv_rf.{theirs}.weight'] = module.weight[..., None, None]
        if module.bias is not None:
            s[f'dwconv_rf.{theirs}.bias'] = module.bias
    for ours, theirs in [('norm', 'norm'), ('attn_norm', 'norm_transformer')]:
        s[f'dwconv_rf.{theirs}.weight'] = getattr(g, ours).weight
        s[f'dwconv_rf.{theirs}.bias'] = getattr(g, ours).bias
    return s


def randomised(head_dim=8):
    conv = TAdaConv2dV2(C, C, 7, padding=3, groups=C, head_dim=head_dim)
    with torch.no_grad():
        for name, p in conv.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if 'temporal_conv2' in name
                                           else 1.0) / p[0].numel() ** 0.5
                    + (1 if name.endswith('norm.weight') else 0))
    return conv.double()


def official(conv, clips, head_dim=8):
    s = official_names(conv)
    w_alpha, b_alpha = route_func_transformer(clips, s, 'dwconv_rf.',
                                              head_dim)
    return tadaconv2d_v2(clips, w_alpha, b_alpha, s['dwconv.weight'],
                         s['dwconv.bias'])


def test_equals_the_official_formulation_outputs_and_gradients():
    conv = randomised()
    clips = torch.randn(2, C, T, 9, 9, dtype=torch.float64,
                        requires_grad=True)
    frames = clips.transpose(1, 2).reshape(2 * T, C, 9, 9)
    ours = conv(frames, T)
    ref = official(conv, clips).transpose(1, 2).reshape_as(ours)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    grad = torch.randn_like(ours)
    params = [clips] + list(conv.parameters())
    ours_grads = torch.autograd.grad(ours, params, grad, retain_graph=True)
    ref_grads = torch.autograd.grad(ref, params, grad)
    for g_ours, g_ref in zip(ours_grads, ref_grads):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-9, atol=1e-10)
    # teeth: the calibrations matter (both last convs at zero: far off)
    with torch.no_grad():
        conv.calibration.reset_to_identity()
        flat = conv(frames, T)
        assert (flat - ref).abs().max() > 0.05 * ref.abs().max()


def test_fresh_it_is_its_2d_conv_and_frames_mix_within_clips_only():
    conv = TAdaConv2dV2(C, C, 7, padding=3, groups=C, head_dim=8)
    x = torch.randn(2 * T, C, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(conv(x, T), F.conv2d(
            x, conv.weight, conv.bias, padding=3, groups=C))
        conv = randomised().float()
        changed = x.clone()
        changed[1] += torch.randn(C, 9, 9)  # a frame of the first clip
        out, moved = conv(x, T), conv(changed, T)
        assert (out[T:] - moved[T:]).abs().max() == 0
        assert (out[0] - moved[0]).abs().max() > 1e-3  # via the generator


def test_quick_gelu():
    x = torch.linspace(-4, 4, 9)
    torch.testing.assert_close(quick_gelu(x), x / (1 + torch.exp(-1.702 * x)))


@pytest.mark.parametrize('kwargs,call,match', [
    (dict(head_dim=12), None, 'head_dim=12 must divide the hidden channels'),
    (dict(out_channels=64, groups=1), None, 'in_channels .* must equal'),
    (dict(), 6, '6 frames, not a multiple of num_segments=4'),
])
def test_bad_arguments(kwargs, call, match):
    args = dict(in_channels=C, out_channels=C, kernel_size=3, groups=C,
                head_dim=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        TAdaConv2dV2(**args)(torch.randn(call or 8, C, 5, 5), T)
