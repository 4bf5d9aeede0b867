"""Behavioural checks of ``TAdaBackbone`` for any 2D network (core and zoo
tests share them). Built on the TSMBackbone checks (calibrated BN
statistics, time reversal, clips kept apart)."""
import pytest
import torch
from mmaction.registry import MODELS
from tsm_backbone_checks import T, calibrate_bn, features, reversal_gap, scale

from tsm_plugin.models.backbones.tada_backbone import TemporalAggregation
from tsm_plugin.models.blocks import find_residual_blocks
from tsm_plugin.models.zoo import build_2d_backbone, feature_map
from tsm_plugin.ops import TAdaConv2d

SIDE = 32
LAYER_SCALES = ('gamma', 'layer_scale')  # timm/mmpretrain, torchvision


# import it into a test module: one thread per test (small nets, 2 shared
# cores)
@pytest.fixture(autouse=True, scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def set_layer_scales(network, value=1.0):
    """ConvNeXt's layer scales (1e-6 fresh) near 1: else every block is an
    identity and a check that calibration matters is blind."""
    with torch.no_grad():
        for name, p in network.named_parameters():
            if name.rsplit('.', 1)[-1] in LAYER_SCALES:
                p.fill_(value)


def remeasure_bn(tada):
    """BN statistics (the generators' too) measured on a fixed batch."""
    generator = torch.Generator().manual_seed(1)
    return calibrate_bn(tada, torch.randn(4 * T, 3, SIDE, SIDE,
                                          generator=generator))


def build_tada(cfg, **kwargs):
    torch.manual_seed(0)
    tada = MODELS.build(dict(type='tsm_plugin.TAdaBackbone', backbone=cfg,
                             num_segments=T, **kwargs))
    set_layer_scales(tada.backbone)
    return remeasure_bn(tada)


def reference_2d(tada, cfg):
    """The 2D network, built by its library, with the TAdaBackbone's weights
    loaded by name (the names a 2D checkpoint has): only the calibration
    generators are extra."""
    network, source = build_2d_backbone(cfg)
    with tada.original_modules():
        state = tada.backbone.state_dict()
    result = network.load_state_dict(state, strict=False)
    assert not result.missing_keys, result.missing_keys
    assert result.unexpected_keys and all(
        '.calibration.' in k for k in result.unexpected_keys)
    network.eval()  # (MMAction2's MobileNetV2.train returns None)
    return network, source


def tada_convs(tada):
    return [n for n, m in tada.backbone.named_modules()
            if isinstance(m, TAdaConv2d)]


def perturb_calibration(tada, std=0.01):
    """Calibration away from 1 (the generators' last convs), aggregations
    still at zero; re-measure BN statistics after. Small: with random
    weights, a calibration grows with its input's scale (the generator's BN
    is in eval mode), so y ~ x^2 per TAdaConv and a deep random net blows up
    on inputs unlike the measuring batch."""
    with torch.no_grad():
        for m in tada.modules():
            if isinstance(m, TAdaConv2d):
                m.calibration.temporal_conv2.weight.normal_(0, std)
    return tada


def perturb_aggregation(tada, std=0.5):
    with torch.no_grad():
        for m in tada.modules():
            if isinstance(m, TemporalAggregation):
                m.pool_norm.weight.normal_(0, std)
    return tada


def check_clips_stay_apart(tada, clip, tolerance):
    """Clip A's features do not depend on the clip batched after it (another
    clip of the same statistics: a scaled one would blow up, see
    ``perturb_calibration``), whose own features do move."""
    a1 = features(tada, torch.cat([clip, torch.randn_like(clip)]))
    a2 = features(tada, torch.cat([clip, torch.randn_like(clip)]))
    torch.testing.assert_close(a1[:T], a2[:T], rtol=0,
                               atol=tolerance * scale(a1))
    assert (a1[T:] - a2[T:]).abs().max() > 1000 * tolerance * scale(a1)


def check_frames_mix(tada, clip, tolerance):
    changed = clip.clone()
    changed[1] = torch.randn_like(changed[1])
    a, b = features(tada, clip), features(tada, changed)
    assert (a[0] - b[0]).abs().max() > 1000 * tolerance * scale(a)


def check_tada_backbone(cfg, num_blocks, aggregations, tolerance=1e-5):
    """The issue's checks for one network:

    - one TAdaConv2d per residual block, at the block's spatial conv;
    - fresh, it equals its 2D network frame by frame (same features as the
      library's network with the same weights), so reversing a clip's frames
      reverses its features;
    - moving the calibration alone makes it temporal: reversal no longer
      commutes, by far more than the tolerance; moving the aggregation alone
      makes a frame depend on its neighbour;
    - clips stay apart.
    """
    tada = build_tada(cfg)
    network, source = reference_2d(tada, cfg)
    blocks = [b for b in find_residual_blocks(network)
              if b.spatial_conv is not None]
    assert len(blocks) == num_blocks
    assert tada_convs(tada) == [b.spatial_conv for b in blocks]
    assert len(tada.replaced) == aggregations
    clip = torch.randn(2 * T, 3, SIDE, SIDE)
    ours = features(tada, clip)
    with torch.no_grad():
        want = feature_map(network, source, clip)
    assert ours.shape[0] == 2 * T and scale(want) > 0.1
    torch.testing.assert_close(ours, want, rtol=0,
                               atol=tolerance * scale(want))
    assert reversal_gap(tada, clip) < tolerance
    remeasure_bn(perturb_calibration(tada))
    assert reversal_gap(tada, clip) > 1000 * tolerance
    check_clips_stay_apart(tada, clip[:T], tolerance)
    if aggregations:
        for m in tada.modules():  # calibration 1 again
            if isinstance(m, TAdaConv2d):
                m.calibration.reset_to_identity()
        remeasure_bn(perturb_aggregation(tada))
        # (a symmetric average pool commutes with time reversal: instead,
        # frame 0 now depends on frame 1 of its clip)
        check_frames_mix(tada, clip[:T], tolerance)
    return tada

