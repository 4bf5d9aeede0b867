"""``TAdaBackbone`` over MMAction2's own 2D networks (the core install): the
issue's checks, init from a 2D checkpoint, explicit modules, the placement
table, refusals, ONNX parity; other libraries: test_tada_backbone_zoo.py."""
import pytest
import torch
from mmaction.registry import MODELS
from tada_backbone_checks import (one_thread,  # noqa: F401 (autouse)
                                  SIDE, T, build_tada, check_tada_backbone,
                                  perturb_aggregation, perturb_calibration,
                                  reference_2d, tada_convs)
from torch import nn
from tsm_backbone_checks import calibrate_bn, features

import tsm_plugin
from tsm_plugin.models.backbones.tada_backbone import TemporalAggregation

NETWORKS = {
    # name: (config, residual blocks with a spatial conv, aggregations)
    'mmaction-resnet18': (dict(type='ResNet', depth=18), 8, 8),
    'mmaction-resnet50': (dict(type='ResNet', depth=50), 16, 16),
    'mmaction-mobilenetv2': (dict(type='MobileNetV2', widen_factor=0.5), 10,
                             10),
}


@pytest.mark.parametrize('network', sorted(NETWORKS))
def test_fresh_is_2d_calibration_makes_it_temporal_clips_apart(network):
    check_tada_backbone(*NETWORKS[network])


def test_exported_and_registered():
    assert tsm_plugin.TAdaBackbone is MODELS.get('tsm_plugin.TAdaBackbone')
    assert 'TAdaBackbone' in tsm_plugin.__all__


def test_resnet50_places_what_resnet_tada_places():
    """Over MMAction2's ResNet-50, the rule puts TAdaConv2d where ResNetTAda
    (TAda2D) does: each bottleneck's conv2, BN' after its BN."""
    tada = build_tada(dict(type='ResNet', depth=50))
    names = tada_convs(tada)
    assert names == [f'layer{s}.{i}.conv2.conv'
                     for s, n in zip(range(1, 5), (3, 4, 6, 3))
                     for i in range(n)]
    assert [n for n, _ in tada.replaced] == [
        n[:-len('conv')] + 'bn' for n in names]  # layerS.I.conv2.bn


def test_init_weights_loads_a_2d_checkpoint_by_its_names(tmp_path):
    """A 2D ResNet checkpoint (init_cfg Pretrained) loads into the network
    with the aggregations taken out; TAda then starts at identity, so the
    features are the 2D network's."""
    source = MODELS.build(dict(type='ResNet', depth=18))
    calibrate_bn(source, torch.randn(4 * T, 3, SIDE, SIDE))
    with torch.no_grad():
        for name, p in source.named_parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / 'resnet18_2d.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    tada = MODELS.build(dict(
        type='tsm_plugin.TAdaBackbone', num_segments=T,
        backbone=dict(type='ResNet', depth=18,
                      init_cfg=dict(type='Pretrained', checkpoint=str(path)))))
    perturb_aggregation(perturb_calibration(tada))  # init must undo these
    tada.init_weights()
    for key, value in source.state_dict().items():
        name = key
        for norm_name, _ in tada.replaced:  # aggregated norms sit under .net
            if key.startswith(norm_name + '.'):
                name = f'{norm_name}.net.{key[len(norm_name) + 1:]}'
        assert torch.equal(tada.backbone.state_dict()[name], value), key
    clip = torch.randn(2 * T, 3, SIDE, SIDE)
    source.eval(), tada.eval()
    want = features(source, clip)
    torch.testing.assert_close(features(tada, clip), want, rtol=0,
                               atol=1e-5 * want.abs().max().item())


def test_explicit_modules_and_no_aggregation():
    tada = build_tada(dict(type='ResNet', depth=18),
                      tada_modules=r'layer[34]\.\d\.conv2\.conv',
                      aggregation=False)
    assert tada_convs(tada) == [f'layer{s}.{i}.conv2.conv'
                                for s in (3, 4) for i in (0, 1)]
    assert tada.replaced == []
    assert not any(isinstance(m, TemporalAggregation) for m in tada.modules())


def test_placement_table():
    table = build_tada(NETWORKS['mmaction-mobilenetv2'][0]).placement_table()
    lines = table.splitlines()
    assert lines[0].startswith('TAdaBackbone over MobileNetV2 (mmaction), T=4')
    assert lines[3].split()[:4] == ['layer2.1.conv.1.conv', '3x3', 'depthwise',
                                    '96']
    assert "layer2.1.conv.1.bn: BatchNorm2d(y) + BatchNorm2d'(AvgPool_t(y))" \
        in lines[3]
    assert lines[-1] == '10 TAdaConv2d, 10 aggregations'
    assert len(lines) == 3 + 10 + 1


def test_depthwise_tadaconv_calibrates_each_channel_of_its_own_frame():
    """TAdaConv2d with groups=C (depthwise, ConvNeXt/MobileNet) against a
    per-frame reference: frame t convolved with alpha_t * W."""
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=True)
    tada = tsm_plugin.TAdaConv2d.from_conv2d(conv, num_segments=T,
                                             reduction=2).eval()
    with torch.no_grad():
        tada.calibration.temporal_conv2.weight.normal_(0, 0.5)
        x = torch.randn(2 * T, 8, 6, 6)
        alpha = tada.calibration(x)  # (N*T, C)
        assert (alpha - 1).abs().max() > 0.1
        want = torch.stack([
            nn.functional.conv2d(x[i:i + 1], conv.weight * alpha[i].view(8, 1,
                                 1, 1), conv.bias, 1, 1, 1, 8)[0]
            for i in range(2 * T)])
        torch.testing.assert_close(tada(x), want)
        assert (tada(x) - conv(x)).abs().max() > 0.1


R18 = dict(type='ResNet', depth=18)


class PlainConvNet(nn.Module):
    """No residual block: the rule finds nothing to replace."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


MODELS.register_module('TAdaTestPlainConvNet', module=PlainConvNet,
                       force=True)


@pytest.mark.parametrize('kwargs,match', [
    (dict(backbone=dict(type='TAdaTestPlainConvNet')),
     'found no residual block .*tada_modules='),
    (dict(backbone=R18, tada_modules=r'nothing'),
     "tada_modules='nothing' matches no module"),
    (dict(backbone=dict(type='TAdaTestPlainConvNet'), tada_modules='conv2',
          calibration_reduction=1),
     "cannot make 'conv2' .*k > 1"),
    (dict(backbone=R18, tada_modules='layer1'),
     "cannot make 'layer1' \\(Sequential\\)"),
    (dict(backbone=R18, calibration_reduction=128),
     "TAdaConv2d at 'layer1.0.conv1.conv': reduction=128 leaves no hidden"),
    (dict(backbone=R18, calibration_reduction=0),
     'reduction must be an int'),
    (dict(backbone=R18, calibration_kernels=(2, 3)),
     'kernels must be two odd'),
    (dict(backbone=R18, pool_kernel=4),
     'pool_kernel must be an odd positive int, got 4'),
    (dict(backbone=R18, aggregation='yes'),
     "aggregation must be a bool, got 'yes'"),
    (dict(backbone=R18, tada_modules=3),
     'tada_modules must be None or a regular expression'),
    (dict(backbone=R18, num_segments=0),
     'num_segments must be a positive int'),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    kwargs.setdefault('num_segments', T)
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='tsm_plugin.TAdaBackbone', **kwargs))


def test_plain_conv_net_with_explicit_modules_runs():
    tada = build_tada(dict(type='TAdaTestPlainConvNet'), tada_modules='conv1',
                      calibration_reduction=1)  # 3 input channels
    assert tada_convs(tada) == ['conv1'] and tada.replaced == []
    network, source = reference_2d(tada, dict(type='TAdaTestPlainConvNet'))
    clip = torch.randn(T, 3, SIDE, SIDE)
    torch.testing.assert_close(features(tada, clip), network(clip))


def test_input_not_whole_clips_is_refused():
    tada = build_tada(dict(type='ResNet', depth=18))
    with pytest.raises(ValueError, match='not a multiple of num_segments=4'):
        tada(torch.randn(T + 1, 3, SIDE, SIDE))


def test_onnx_offline_export_matches_pytorch(tmp_path):
    """A Recognizer2D over a TAdaBackbone (calibration and aggregation
    active) exports to an offline ONNX graph that ONNX Runtime runs like
    PyTorch, on a batch of 3 clips (traced with 1)."""
    from tsm_plugin.deploy.export import (OfflineGraph, export_module,
                                   offline_inputs, run_onnx, verify_offline)
    torch.manual_seed(0)
    recognizer = MODELS.build(dict(
        type='mmaction.Recognizer2D',
        backbone=dict(type='tsm_plugin.TAdaBackbone', num_segments=T,
                      backbone=dict(type='ResNet', depth=18)),
        cls_head=dict(type='mmaction.TSNHead', num_classes=5,
                      in_channels=512, average_clips='prob'),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    tada = recognizer.backbone
    perturb_aggregation(perturb_calibration(tada))
    calibrate_bn(tada, torch.randn(4 * T, 3, SIDE, SIDE))
    graph = OfflineGraph(recognizer).eval()
    path = str(tmp_path / 'tada.onnx')
    export_module(graph, (offline_inputs(graph, SIDE, SIDE), ), path,
                  ['frames'], ['scores'])
    assert verify_offline(graph, path, SIDE, SIDE, num_clips=3) < 1e-4
    # teeth: the same graph without its calibration answers differently
    frames = offline_inputs(graph, SIDE, SIDE, 3)
    onnx_scores = torch.from_numpy(run_onnx(path, [frames])[0])
    for m in tada.modules():
        if isinstance(m, tsm_plugin.TAdaConv2d):
            m.calibration.reset_to_identity()
    with torch.no_grad():
        assert (graph(frames) - onnx_scores).abs().max() > 1e-3


@pytest.mark.parametrize('backbone', [
    dict(type='tsm_plugin.TAdaBackbone', num_segments=T,
         backbone=dict(type='MobileNetV2', widen_factor=0.5)),
    dict(type='tsm_plugin.ResNetTAda', depth=18, num_segments=T),
])
def test_streaming_refuses_tada_models(backbone):
    """TAdaConv's generator reads the neighbouring frames (temporal kernel 3)
    and a clip-wide descriptor: no frame-by-frame streaming."""
    from tsm_plugin.online import StreamingRecognizer
    recognizer = MODELS.build(dict(
        type='mmaction.Recognizer2D', backbone=backbone,
        cls_head=dict(type='mmaction.TSNHead', num_classes=5,
                      in_channels=1280 if 'backbone' in backbone else 512),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    with pytest.raises(ValueError, match='TAdaConv: its calibration reads '
                       'the neighbouring'):
        StreamingRecognizer(recognizer)
