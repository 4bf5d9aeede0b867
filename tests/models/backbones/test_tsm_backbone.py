"""``TSMBackbone`` over MMAction2's own 2D networks (the core install), its
arguments, placement table and refusals; other libraries: test_tsm_backbone_zoo.py."""
import re

import pytest
import torch
from mmaction.registry import MODELS
from tsm_backbone_checks import (T, calibrate_bn, check_clips_stay_apart,
                                 check_reads_only_the_past, check_shift_active,
                                 features)

from tsm_plugin import TemporalShift
from tsm_plugin.models.blocks import find_residual_blocks

NETWORKS = {
    'mmaction-resnet18': dict(type='ResNet', depth=18),
    'mmaction-mobilenetv2': dict(type='MobileNetV2', widen_factor=0.5),
}


def build(network, frames=None, **kwargs):
    backbone = MODELS.build(dict(type='tsm_plugin.TSMBackbone',
                                 backbone=NETWORKS[network], num_segments=T,
                                 **kwargs))
    torch.manual_seed(0)
    return calibrate_bn(backbone, frames if frames is not None
                        else torch.randn(4 * T, 3, 32, 32))


@pytest.mark.parametrize('network', sorted(NETWORKS))
def test_shift_is_active_clips_apart_past_only(network):
    clip = torch.randn(T, 3, 32, 32)
    calibration = torch.randn(4 * T, 3, 32, 32)
    tsn = build(network, calibration, is_shift=False)
    bi = build(network, calibration)
    uni = build(network, calibration, shift_mode='unidirectional')
    for model in (bi, uni):  # same weights as TSN (same seed), shifts only
        model.load_state_dict(bi.state_dict())
    check_shift_active(bi, tsn, clip)
    check_shift_active(uni, tsn, clip)
    check_clips_stay_apart(bi, clip, torch.randn(T, 3, 32, 32))
    check_reads_only_the_past(uni, bi, clip)


def test_resnet_placement_equals_resnet_tsm_with_its_checkpoint():
    """TSMBackbone over MMAction2's ResNet-50 shifts what ResNetTSM shifts:
    ResNetTSM's weights load (names under ``backbone.``), same features."""
    tsm = MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=50,
                            num_segments=T, pretrained2d=False))
    tsm = calibrate_bn(tsm, torch.randn(2 * T, 3, 32, 32))
    ours = MODELS.build(dict(type='tsm_plugin.TSMBackbone', num_segments=T,
                             backbone=dict(type='ResNet', depth=50)))
    ours.backbone.load_state_dict(tsm.state_dict(), strict=True)
    ours.eval()
    clip = torch.randn(2 * T, 3, 32, 32)
    want = features(tsm, clip)
    torch.testing.assert_close(features(ours, clip), want, rtol=0,
                               atol=1e-5 * want.abs().max().item())
    shifted = [n for n, m in ours.backbone.named_modules()
               if isinstance(m, TemporalShift)]
    assert len(shifted) == 16 and shifted[0] == 'layer1.0.conv1.conv'


def test_block_place_and_explicit_modules():
    block = build('mmaction-resnet18', shift_place='block')
    names = [n for n, m in block.backbone.named_modules()
             if isinstance(m, TemporalShift)]
    assert names == [f'layer{s}.{i}' for s in range(1, 5) for i in range(2)]
    explicit = build('mmaction-resnet18', shift_modules=r'layer[34]\.\d\.conv2\.conv')
    names = [n for n, m in explicit.backbone.named_modules()
             if isinstance(m, TemporalShift)]
    assert names == [f'layer{s}.{i}.conv2.conv' for s in (3, 4) for i in (0, 1)]


def test_mobilenet_blocks_are_the_inverted_residuals_with_a_skip():
    net = MODELS.build(NETWORKS['mmaction-mobilenetv2'])
    blocks = find_residual_blocks(net)
    skip = [n for n, m in net.named_modules()
            if getattr(m, 'use_res_connect', False)]
    assert [b.name for b in blocks] == skip and len(skip) == 10
    assert all(b.family == 'inverted_residual' for b in blocks)


def test_placement_table_lists_every_shift_and_the_channels_moved():
    backbone = build('mmaction-resnet18', shift_mode='unidirectional')
    table = backbone.placement_table()
    rows = [line for line in table.splitlines()
            if line.startswith('backbone.layer')]
    assert len(rows) == 8
    assert re.match(r'backbone\.layer1\.0\.conv1\.conv\s+Conv2d\s+64\s+8 from t-1',
                    rows[0])
    assert '8 shifted modules' in table
    assert 'is_shift=False' in build('mmaction-resnet18',
                                     is_shift=False).placement_table()


@pytest.mark.parametrize('shift_div,mode', [(4, 'bidirectional'),
                                             (16, 'unidirectional')])
def test_placement_table_moves_channels_by_the_real_shift_div(shift_div,
                                                             mode):
    """Each row's moved channels are its channels // shift_div, what the
    shift really moves (not the default 8's)."""
    backbone = MODELS.build(dict(
        type='tsm_plugin.TSMBackbone', num_segments=T, shift_div=shift_div,
        shift_mode=mode, backbone=NETWORKS['mmaction-resnet18']))
    rows = [line.split(None, 3) for line in
            backbone.placement_table().splitlines()
            if line.startswith('backbone.layer')]
    assert len(rows) == 8
    for name, _, channels, moved in rows:
        shift = backbone.get_submodule(name)
        assert shift.shift_div == shift_div
        fold = int(channels) // shift_div
        want = (f'{fold} back + {fold} forward' if mode == 'bidirectional'
                else f'{fold} from t-1')
        assert moved.startswith(want + '  '), (name, moved)


def test_placement_command_prints_the_table(tmp_path, capsys):
    from tsm_plugin.tools.placement import main
    config = tmp_path / 'tsm_mbv2.py'
    config.write_text(
        "custom_imports = dict(imports=['tsm_plugin'])\n"
        "model = dict(type='tsm_plugin.Recognizer2D', backbone=dict("
        "type='tsm_plugin.TSMBackbone', num_segments=8, backbone=dict("
        "type='MobileNetV2', widen_factor=0.5)), cls_head=dict("
        "type='tsm_plugin.TSMHead', num_classes=3, in_channels=1280, "
        "num_segments=8))\n")
    main([str(config)])
    out = capsys.readouterr().out
    assert 'MobileNetV2' in out and '10 shifted modules' in out


@pytest.mark.parametrize('kwargs,message', [
    (dict(shift_modules=r'nothing\.here'), "shift_modules='nothing.*matches no module"),
    (dict(shift_modules=r'layer1\.0\.conv1\.bn'), 'holds no Conv2d'),
    (dict(shift_modules='('), 'not a regular expression'),
    (dict(shift_modules=3), 'shift_modules must be None or a regular'),
    (dict(shift_place='middle'), "shift_place must be one of.*'middle'"),
    (dict(shift_mode='both'), "shift_mode must be one of.*'both'"),
    (dict(shift_div=128), r'shift in front of .layer1\.0\.conv1\.conv.*shift_div=128'),
    (dict(num_segments=0), 'num_segments must be a positive int, got 0'),
    (dict(is_shift='yes'), "is_shift must be True or False, got 'yes'"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    cfg = dict(type='tsm_plugin.TSMBackbone', num_segments=T,
               backbone=NETWORKS['mmaction-resnet18'])
    with pytest.raises(ValueError, match=message):
        MODELS.build({**cfg, **kwargs})


def test_a_network_without_residual_blocks_is_refused_not_a_silent_tsn():
    from torch import nn

    from tsm_plugin.models import TSMBackbone
    from tsm_plugin.registry import MODELS as PLUGIN

    @PLUGIN.register_module(force=True)
    class PlainConvs(nn.Sequential):  # a VGG-like net: no skip anywhere
        def __init__(self):
            super().__init__(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(16, 32, 3, padding=1))

    with pytest.raises(ValueError, match="no residual block in backbone "
                       "'tsm_plugin.PlainConvs'.*shift_modules"):
        TSMBackbone(dict(type='tsm_plugin.PlainConvs'), num_segments=T)
    explicit = TSMBackbone(dict(type='tsm_plugin.PlainConvs'),
                           num_segments=T, shift_modules='2')
    assert isinstance(explicit.backbone[2], TemporalShift)


def test_input_must_hold_whole_clips():
    backbone = build('mmaction-resnet18')
    with pytest.raises(ValueError, match='not a multiple of num_segments=4'):
        backbone(torch.randn(6, 3, 32, 32))


def test_recognizer_checks_head_channels_against_the_feature_map():
    cfg = dict(type='tsm_plugin.Recognizer2D',
               backbone=dict(type='tsm_plugin.TSMBackbone', num_segments=T,
                             backbone=NETWORKS['mmaction-mobilenetv2']),
               cls_head=dict(type='tsm_plugin.TSMHead', num_classes=3,
                             in_channels=2048, num_segments=T),
               data_preprocessor=dict(type='mmaction.ActionDataPreprocessor'))
    with pytest.raises(ValueError, match='in_channels=2048.*outputs 1280'):
        MODELS.build(cfg)


def test_init_weights_loads_a_2d_checkpoint_by_its_own_names(tmp_path):
    """An init_cfg checkpoint of the 2D network loads although the shifted
    convs now sit under ``.net``; train() returns the module."""
    net = MODELS.build(dict(type='ResNet', depth=18))
    path = tmp_path / 'r18.pth'
    torch.save({'state_dict': net.state_dict()}, path)
    backbone = MODELS.build(dict(
        type='tsm_plugin.TSMBackbone', num_segments=T,
        backbone=dict(type='ResNet', depth=18, init_cfg=dict(
            type='Pretrained', checkpoint=str(path)))))
    backbone.init_weights()
    assert backbone.train() is backbone
    shifted = backbone.backbone.layer2[0].conv1.conv
    assert isinstance(shifted, TemporalShift)
    torch.testing.assert_close(shifted.net.weight,
                               net.layer2[0].conv1.conv.weight, rtol=0, atol=0)


@pytest.mark.parametrize('config', [
    'configs/tada/tada2d_imagenet-pretrained-r50_8xb16-1x1x8-64e_sthv2-rgb.py',
    'configs/demo/tsm_r18_demo.py',
])
def test_placement_command_on_shipped_configs(config, capsys):
    from pathlib import Path

    from tsm_plugin.tools.placement import main
    main([str(Path(__file__).resolve().parents[3] / config)])
    out = capsys.readouterr().out
    assert ('16 TAdaConv2d' in out) if 'tada' in config \
        else ('8 shifted modules' in out)
