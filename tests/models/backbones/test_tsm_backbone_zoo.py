"""``TSMBackbone`` over timm's, torchvision's and mmpretrain's networks (the
zoo venv: ``make test`` runs these with torch 2.14.1 + torchvision).

For every network: the rule finds its residual blocks, the shift is active,
clips stay apart, a uni-directional shift never reads later frames, and the
feature map has the channels the backbone reports.
"""
import pytest
import torch
from mmaction.registry import MODELS
from tsm_backbone_checks import (T, calibrate_bn, check_clips_stay_apart,
                                 check_reads_only_the_past, check_shift_active,
                                 features)

from tsm_plugin import TemporalShift
from tsm_plugin.models.blocks import find_residual_blocks

pytestmark = pytest.mark.zoo

# name: (2D backbone config, family found, residual blocks, channels out)
NETWORKS = {
    # timm zero-initialises each branch's last norm (every block an identity,
    # the shift invisible); ConvNeXts scale their branches by 1e-6
    'timm-resnet10t': (dict(type='timm.resnet10t', zero_init_last=False),
                       'resnet', 4, 512),
    'timm-mobilenetv3_small_050': (dict(type='timm.mobilenetv3_small_050'),
                                   'inverted_residual', 7, 288),
    'timm-efficientnet_b0': (dict(type='timm.efficientnet_b0'),
                             'inverted_residual', 9, 1280),
    'timm-convnext_atto': (dict(type='timm.convnext_atto', ls_init_value=1.0),
                           'convnext', 12, 320),
    'timm-regnetx_002': (dict(type='timm.regnetx_002', zero_init_last=False),
                         'resnet', 13, 368),
    'torchvision-resnet18': (dict(type='torchvision.resnet18'), 'resnet', 8,
                             512),
    'torchvision-mobilenet_v3_small': (
        dict(type='torchvision.mobilenet_v3_small'), 'inverted_residual', 6,
        576),
    'torchvision-regnet_x_400mf': (dict(type='torchvision.regnet_x_400mf'),
                                   'regnet', 22, 400),
    'torchvision-convnext_tiny': (
        dict(type='torchvision.convnext_tiny', layer_scale=1.0), 'convnext',
        18, 768),
    'mmpretrain-resnext50': (
        dict(type='mmpretrain.ResNeXt', depth=50, groups=32,
             width_per_group=4), 'resnet', 16, 2048),
    'mmpretrain-mobilenetv3_small': (
        dict(type='mmpretrain.MobileNetV3', arch='small'), 'inverted_residual',
        6, 576),
    'mmpretrain-convnext': (
        dict(type='mmpretrain.ConvNeXt',
             arch=dict(depths=[1, 1, 2, 1], channels=[16, 32, 64, 128]),
             layer_scale_init_value=1.0), 'convnext', 5, 128),
}


def build(network, **kwargs):
    cfg = NETWORKS[network][0]
    torch.manual_seed(0)
    return MODELS.build(dict(type='tsm_plugin.TSMBackbone', backbone=cfg,
                             num_segments=T, **kwargs))


@pytest.mark.parametrize('network', sorted(NETWORKS))
def test_tsm_on_every_family(network):
    _, family, num_blocks, channels = NETWORKS[network]
    calibration = torch.randn(4 * T, 3, 64, 64)
    tsn = calibrate_bn(build(network, is_shift=False), calibration)
    bi = calibrate_bn(build(network), calibration)
    uni = calibrate_bn(build(network, shift_mode='unidirectional'),
                       calibration)
    blocks = find_residual_blocks(tsn.backbone)
    assert len(blocks) == num_blocks
    assert {b.family for b in blocks} == {family}
    shifts = [m for m in bi.modules() if isinstance(m, TemporalShift)]
    assert len(shifts) == num_blocks
    clip = torch.randn(T, 3, 64, 64)
    out = features(bi, clip)
    assert out.shape[:2] == (T, channels) and bi.out_channels == channels
    check_shift_active(bi, tsn, clip)
    check_shift_active(uni, tsn, clip)
    check_clips_stay_apart(bi, clip, torch.randn(T, 3, 64, 64))
    check_reads_only_the_past(uni, bi, clip)


def reference_shift(x, fold):
    """The bi-directional shift written out frame by frame (T frames)."""
    out = x.clone()
    for t in range(T):
        out[t, :fold] = x[t + 1, :fold] if t + 1 < T else 0
        out[t, fold:2 * fold] = x[t - 1, fold:2 * fold] if t > 0 else 0
    return out


def reference_resnet18_blockres(net, x):
    """torchvision's ResNet-18 with a shift in front of each block's conv1,
    written by hand from TSM's description (identity path unshifted)."""
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            identity = x if block.downsample is None else block.downsample(x)
            out = block.conv1(reference_shift(x, x.shape[1] // 8))
            out = block.relu(block.bn1(out))
            out = block.bn2(block.conv2(out))
            x = block.relu(out + identity)
    return x


def test_torchvision_resnet18_placement_equals_a_hand_written_blockres():
    import torchvision
    torch.manual_seed(0)
    reference = calibrate_bn(torchvision.models.resnet18(),
                             torch.randn(4 * T, 3, 64, 64))
    ours = build('torchvision-resnet18')
    trunk = {k: v for k, v in reference.state_dict().items()
             if not k.startswith('fc.')}
    with ours.original_modules() as network:  # names as torchvision's
        network.load_state_dict(trunk, strict=True)
    ours.eval()
    clip = torch.randn(T, 3, 64, 64)
    with torch.no_grad():
        want = reference_resnet18_blockres(reference, clip)
    got = features(ours, clip)
    torch.testing.assert_close(got, want, rtol=0,
                               atol=1e-5 * want.abs().max().item())
    with torch.no_grad():  # the reference without shifts is far away
        plain = reference.layer4(reference.layer3(reference.layer2(
            reference.layer1(reference.maxpool(reference.relu(
                reference.bn1(reference.conv1(clip))))))))
    assert (plain - want).abs().max() > 1e-2 * want.abs().max()


def test_timm_pretrained_file_loads_with_its_names(tmp_path):
    """timm's own weights path (``pretrained=True`` + a local file, as timm
    reads its cache): the shifted convs hold the file's tensors."""
    import timm
    source = timm.create_model('resnet10t')
    path = tmp_path / 'resnet10t.pth'
    torch.save(source.state_dict(), path)
    backbone = MODELS.build(dict(
        type='tsm_plugin.TSMBackbone', num_segments=T, backbone=dict(
            type='timm.resnet10t', pretrained=True,
            pretrained_cfg_overlay=dict(file=str(path)))))
    shifted = backbone.backbone.layer3[0].conv1
    assert isinstance(shifted, TemporalShift)
    torch.testing.assert_close(shifted.net.weight, source.layer3[0].conv1.weight,
                               rtol=0, atol=0)


def test_mmpretrain_init_cfg_checkpoint_loads_under_the_shifts(tmp_path):
    from mmpretrain.registry import MODELS as PRETRAIN
    # its own scope: an earlier test may leave MMAction2's as the default
    source = PRETRAIN.build(dict(type='MobileNetV3', arch='small',
                                 _scope_='mmpretrain'))
    path = tmp_path / 'mbv3.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    backbone = MODELS.build(dict(
        type='tsm_plugin.TSMBackbone', num_segments=T, backbone=dict(
            type='mmpretrain.MobileNetV3', arch='small',
            init_cfg=dict(type='Pretrained', checkpoint=str(path)))))
    backbone.init_weights()
    name = find_residual_blocks(source)[0].branch_conv
    shifted = backbone.backbone.get_submodule(name)
    assert isinstance(shifted, TemporalShift)
    torch.testing.assert_close(shifted.net.weight,
                               source.get_submodule(name).weight, rtol=0, atol=0)


def test_mmpretrain_convnext_gives_a_feature_map_not_its_pooled_vector():
    backbone = build('mmpretrain-convnext')
    assert features(backbone.eval(), torch.randn(T, 3, 64, 64)).dim() == 4
    with pytest.raises(ValueError, match='2-D output.*not a feature map'):
        MODELS.build(dict(type='tsm_plugin.TSMBackbone', num_segments=T,
                          backbone=dict(NETWORKS['mmpretrain-convnext'][0],
                                        gap_before_final_norm=True)))
