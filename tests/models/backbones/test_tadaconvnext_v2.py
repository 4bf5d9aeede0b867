"""TAdaConvNeXtV2: structure, the official init, the ImageNet start from a 2D
ConvNeXt (official release, mmpretrain and timm names) against the official
inflation recipe on the official network (tests/official_tadaconv.py),
drop path per clip, errors. Equality with the official network on trained
(random) weights: tests/convert/test_tadaconv_convert.py."""
import re

import pytest
import torch
from mmaction.registry import MODELS
from official_tadaconv import (official_tadaconvnext_v2_features,
                               official_v2_state)
from tada_backbone_checks import one_thread  # noqa: F401 (autouse)

from tsm_plugin.models.backbones.tadaconvnext_v2 import (
    TAdaConvNeXtV2Block, drop_path_per_clip)
from tsm_plugin.ops import TAdaConv2dV2


def build(**kwargs):
    return MODELS.build(dict(type='tsm_plugin.TAdaConvNeXtV2', **kwargs))


@pytest.mark.parametrize('arch,blocks,channels', [
    ('tiny', 18, 768), ('small', 36, 768), ('base', 36, 1024)])
def test_structure(arch, blocks, channels):
    model = build(arch=arch)
    assert sum(isinstance(m, TAdaConv2dV2) for m in model.modules()) == blocks
    assert model.out_channels == channels
    stem = model.downsample_layers[0][0]
    assert (stem.kernel_size, stem.stride, stem.padding) == \
        ((3, 4, 4), (2, 4, 4), (1, 0, 0))


def test_the_stem_halves_the_frames_and_the_output_is_pooled():
    model = build(arch='tiny').eval()
    seen = []
    model.stages[0][0].register_forward_pre_hook(
        lambda m, args: seen.append((args[0].shape[0], args[1])))
    with torch.no_grad():
        out = model(torch.randn(2, 3, 8, 32, 32))
    assert seen == [(2 * 4, 4)]  # 2 clips of 4 frames
    assert out.shape == (2, 768, 1, 1, 1)


def test_official_init_from_scratch():
    model = build(arch='tiny')
    model.init_weights()
    for name, m in model.named_modules():
        if isinstance(m, TAdaConvNeXtV2Block):
            assert m.pool_norm.weight.abs().max() == 0, name
            assert torch.equal(m.gamma, torch.full_like(m.gamma, 1e-6))
            gen = m.depthwise_conv.calibration
            assert gen.temporal_conv2.weight.abs().max() == 0
            assert gen.temporal_conv2_bias.weight.abs().max() == 0
            assert gen.qkv.bias.abs().max() == 0
        elif isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) \
                and not re.search('temporal_conv2', name):
            assert abs(m.weight.std().item() - 0.02) < 0.004, name


def fb_convnext_2d(official):
    """A 2D ConvNeXt in the official ConvNeXt release's names, from the 2D
    parts of an official TAdaConvNeXtV2 state (random values)."""
    state = {}
    for key, value in official.items():
        if '.dwconv_rf.' in key or '.norm_avgpool.' in key:
            continue
        key = key.replace('backbone.', '').replace('head.out.', 'head.')
        if key == 'downsample_layers.0.0.weight':
            value = value[:, :, 1]
        elif re.match(r'downsample_layers\.[1-3]\.1\.weight', key):
            value = value[:, :, 0]
        elif key.endswith('dwconv.weight') or key.endswith('dwconv.bias'):
            value = value[0, 0]
        state[key] = value
    return state


def mmpretrain_names(fb):
    out = {}
    for key, value in fb.items():
        if key.startswith('head.'):
            out['head.fc.' + key[5:]] = value
            continue
        key = key.replace('.dwconv.', '.depthwise_conv.')
        key = key.replace('.pwconv1.', '.pointwise_conv1.')
        key = key.replace('.pwconv2.', '.pointwise_conv2.')
        key = 'norm3.' + key[5:] if key.startswith('norm.') else key
        out['backbone.' + key] = value
    return {'state_dict': out}


def timm_names(fb):
    out = {}
    for key, value in fb.items():
        m = re.match(r'downsample_layers\.(\d)\.(\d)\.(.*)', key)
        if m and m.group(1) == '0':
            key = f'stem.{m.group(2)}.{m.group(3)}'
        elif m:
            key = f'stages.{m.group(1)}.downsample.{m.group(2)}.{m.group(3)}'
        m = re.match(r'stages\.(\d)\.(\d+)\.(.*)', key)
        if m:
            rest = m.group(3).replace('dwconv', 'conv_dw').replace(
                'pwconv', 'mlp.fc')
            key = f'stages.{m.group(1)}.blocks.{m.group(2)}.{rest}'
        key = 'head.norm.' + key[5:] if key.startswith('norm.') else key
        key = 'head.fc.' + key[5:] if re.match(r'head\.(weight|bias)',
                                               key) else key
        out[key] = value
    return out


def official_inflation(official):
    """What the official ``convert_convnext_weights`` makes of the 2D
    weights: the stem kernel at the centre of its 3 frames (zeros around),
    and, not in the 2D file, the calibrations' last convs and LN' at zero
    (their other generator weights then do not matter)."""
    state = dict(official)
    stem = state['backbone.downsample_layers.0.0.weight']
    centred = torch.zeros_like(stem)
    centred[:, :, 1] = stem[:, :, 1]
    state['backbone.downsample_layers.0.0.weight'] = centred
    for key in state:
        if re.search(r'dwconv_rf\.b(_bias)?\.weight|norm_avgpool\.', key):
            state[key] = torch.zeros_like(state[key])
    return state


def loaded_from(tmp_path, content):
    path = tmp_path / 'convnext_tiny.pth'
    torch.save(content, path)
    model = build(arch='tiny', pretrained=str(path))
    model.init_weights()
    return model


def test_imagenet_start_is_the_official_inflation(tmp_path):
    official = official_v2_state('tiny', num_classes=1000)
    model = loaded_from(tmp_path, {'model': fb_convnext_2d(official)})
    expected = official_inflation({k: v.double() for k, v in
                                   official.items()})
    clips = torch.randn(1, 3, 6, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        ours = model.double().eval()(clips).flatten(1)
        ref = official_tadaconvnext_v2_features(expected, clips)
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
        # teeth: the 2D stem kernel on the first of its frames instead
        shifted = dict(expected)
        stem = expected['backbone.downsample_layers.0.0.weight']
        shifted['backbone.downsample_layers.0.0.weight'] = stem.roll(1, 2)
        assert (official_tadaconvnext_v2_features(shifted, clips)
                - ref).abs().max() > 0.01


@pytest.mark.parametrize('names', [mmpretrain_names, timm_names])
def test_imagenet_start_reads_mmpretrain_and_timm_names(tmp_path, names):
    """The same 2D weights under mmpretrain's or timm's names load into the
    same state as under the official release's."""
    fb = fb_convnext_2d(official_v2_state('tiny', num_classes=1000))
    torch.manual_seed(1)  # the same init for what the file does not hold
    expected = loaded_from(tmp_path, {'model': fb}).state_dict()
    torch.manual_seed(1)
    got = loaded_from(tmp_path, names(fb)).state_dict()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in expected)


def test_drop_path_drops_whole_clips():
    torch.manual_seed(1)
    x = torch.ones(64 * 4, 3, 2, 2)
    out = drop_path_per_clip(x, 0.5, 4, training=True).view(64, -1)
    per_clip = out.amin(1), out.amax(1)
    assert torch.equal(*per_clip)  # one value per clip
    assert set(per_clip[0].tolist()) == {0.0, 2.0}
    assert drop_path_per_clip(x, 0.5, 4, training=False) is x


@pytest.mark.parametrize('kwargs,match', [
    (dict(arch='huge'), "arch must be one of"),
    (dict(arch=dict(depths=(1, 1, 1))), 'arch as a dict needs'),
    (dict(drop_path_rate=1.0), 'drop_path_rate must be in'),
    (dict(stem_temporal_kernel=2), 'stem_temporal_kernel must be an odd'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_frames_input_is_refused_with_the_layout_it_needs():
    model = build(arch='tiny')
    with pytest.raises(ValueError, match=r"clips \(N, 3, T, H, W\).*NCTHW"):
        model(torch.randn(8, 3, 32, 32))
