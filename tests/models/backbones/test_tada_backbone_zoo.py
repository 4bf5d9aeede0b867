"""``TAdaBackbone`` over timm's, torchvision's and mmpretrain's networks (the
zoo extra): the issue's checks (tada_backbone_checks.check_tada_backbone),
the LayerNorm aggregation of ConvNeXt, timm's BatchNormAct2d, and the names
a library checkpoint has. Small networks at 32 px, 4 frames."""
import pytest
import torch
from tada_backbone_checks import (one_thread,  # noqa: F401 (autouse)
                                  T, build_tada, check_tada_backbone,
                                  perturb_aggregation, remeasure_bn)
from tsm_backbone_checks import features

from tsm_plugin.models.backbones.tada_backbone import TemporalAggregation

pytestmark = pytest.mark.zoo

NETWORKS = {
    # name: (config, residual blocks with a spatial conv, aggregations)
    'timm-convnext_atto': (dict(type='timm.convnext_atto'), 12, 12),
    'timm-mobilenetv3_small_050': (
        dict(type='timm.mobilenetv3_small_050'), 7, 7),
    'torchvision-resnet18': (dict(type='torchvision.resnet18'), 8, 8),
    'torchvision-convnext_tiny': (dict(type='torchvision.convnext_tiny'), 18,
                                  18),
    'mmpretrain-convnext_atto': (dict(type='mmpretrain.ConvNeXt', arch='atto'),
                                 12, 12),
    'mmpretrain-resnet18': (dict(type='mmpretrain.ResNet', depth=18), 8, 8),
}


@pytest.mark.parametrize('network', sorted(NETWORKS))
def test_fresh_is_2d_calibration_makes_it_temporal_clips_apart(network):
    check_tada_backbone(*NETWORKS[network])


@pytest.mark.parametrize('network,norm,depthwise', [
    ('mmpretrain-convnext_atto', 'LayerNorm2d', True),
    ('torchvision-convnext_tiny', 'LayerNorm', True),  # after a Permute
    ('timm-mobilenetv3_small_050', 'BatchNormAct2d', True),
    ('torchvision-resnet18', 'BatchNorm2d', False),
])
def test_aggregation_follows_the_norm_of_each_family(network, norm, depthwise):
    tada = build_tada(NETWORKS[network][0])
    wrappers = [m for m in tada.modules()
                if isinstance(m, TemporalAggregation)]
    assert wrappers and all(type(w.net).__name__ == norm for w in wrappers)
    convs = [m for m in tada.modules() if hasattr(m, 'calibration')]
    assert all((c.groups == c.in_channels) == depthwise for c in convs)
    table = tada.placement_table()
    assert f'{len(convs)} TAdaConv2d, {len(wrappers)} aggregations' in table


def test_norm_act_sums_before_its_activation():
    """timm's BatchNormAct2d: act(BN(y) + BN'(pool)), as TAda2D's
    relu(BN(y) + BN'(pool)); not act(BN(y)) + BN'(pool)."""
    tada = build_tada(NETWORKS['timm-mobilenetv3_small_050'][0])
    remeasure_bn(perturb_aggregation(tada))
    wrapper = next(m for m in tada.modules()
                   if isinstance(m, TemporalAggregation))
    assert wrapper.norm_act
    y = torch.randn(2 * T, wrapper.net.num_features, 4, 4)
    with torch.no_grad():
        pooled = wrapper.pool_norm(
            torch.nn.functional.avg_pool3d(
                y.view(2, T, *y.shape[1:]).transpose(1, 2), (3, 1, 1), 1,
                (1, 0, 0)).transpose(1, 2).reshape_as(y))
        plain_bn = torch.nn.functional.batch_norm(
            y, wrapper.net.running_mean, wrapper.net.running_var,
            wrapper.net.weight, wrapper.net.bias, False, 0., wrapper.net.eps)
        want = wrapper.net.act(plain_bn + pooled)
        torch.testing.assert_close(wrapper(y), want)
        assert (wrapper(y) - (wrapper.net(y) + pooled)).abs().max() > 0.1


def test_mmpretrain_checkpoint_names_load_through_init_weights(tmp_path):
    """mmpretrain's ConvNeXt with an init_cfg checkpoint (its classifier's
    names, prefix 'backbone.'): init_weights loads every tensor, TAda then
    starts as the 2D network."""
    from mmpretrain.registry import MODELS as PRETRAIN
    source = PRETRAIN.build(dict(type='ConvNeXt', arch='atto',
                                 gap_before_final_norm=False,
                                 _scope_='mmpretrain'))
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    path = tmp_path / 'convnext_atto.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in source.state_dict().items()}}, path)
    cfg = dict(type='mmpretrain.ConvNeXt', arch='atto',
               init_cfg=dict(type='Pretrained', checkpoint=str(path),
                             prefix='backbone.'))
    tada = build_tada(cfg)
    tada.init_weights()
    with tada.original_modules():
        ours = tada.backbone.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(ours[key], value), key
    clip = torch.randn(T, 3, 32, 32)
    source.eval(), tada.eval()
    with torch.no_grad():
        want = source(clip)[-1]
    torch.testing.assert_close(features(tada, clip), want, rtol=0,
                               atol=1e-5 * want.abs().max().item())
