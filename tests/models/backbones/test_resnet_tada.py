"""ResNetTAda (TAda2D): structure, equality with the 2D ResNet at init,
gradients into the calibration, ResNet options, errors, MMAction2 heads."""
import re

import pytest
import torch
from mmaction.registry import MODELS
from tada_backbone_checks import one_thread  # noqa: F401 (autouse)
from torch import nn

import tsm_plugin  # noqa: F401
from tsm_plugin.models.backbones.resnet_tada import TAdaConvModule
from tsm_plugin.models.backbones.resnet_tsm import torchvision_to_mmaction
from tsm_plugin.ops import TAdaConv2d

T = 4


def build(**kwargs):
    kwargs.setdefault('num_segments', T)
    return MODELS.build(dict(type='tsm_plugin.ResNetTAda', **kwargs))


def tada_modules(model):
    return {n: m for n, m in model.named_modules()
            if isinstance(m, TAdaConvModule)}


def perturb_tada(model):
    """Non-trivial calibration and aggregation (fresh, both are identity)."""
    with torch.no_grad():
        for m in tada_modules(model).values():
            m.conv.calibration.temporal_conv2.weight.normal_(0, 0.3)
            m.pool_bn.weight.normal_(0, 0.5)
    return model


def mmaction_to_torchvision(key):
    """MMAction2 ResNet key -> torchvision key (the inverse naming, written
    independently of the plugin's loader)."""
    key = key.replace('downsample.conv.', 'downsample.0.')
    key = key.replace('downsample.bn.', 'downsample.1.')
    if key.startswith('conv1.'):
        return key.replace('conv1.conv.', 'conv1.').replace('conv1.bn.', 'bn1.')
    return re.sub(r'\.conv(\d)\.(conv|bn)\.',
                  lambda m: f'.{m.group(2)}{m.group(1)}.', key)


def random_torchvision_file(tmp_path, depth):
    """A torchvision-format 2D ResNet file with random weights and BN stats,
    and MMAction2's ResNet loading it with its own torchvision loader."""
    source = MODELS.build(dict(type='mmaction.ResNet', depth=depth))
    with torch.no_grad():
        for name, t in source.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if 'running_var' in name
                        else torch.randn_like(t) * 0.1)
    state = {mmaction_to_torchvision(k): v for k, v in
             source.state_dict().items()}
    state['fc.weight'] = torch.randn(10, 512 * (1 if depth < 50 else 4))
    path = tmp_path / f'resnet{depth}.pth'
    torch.save(state, path)
    reference = MODELS.build(dict(type='mmaction.ResNet', depth=depth,
                                  pretrained=str(path),
                                  torchvision_pretrain=True))
    reference.init_weights()
    return path, reference


@pytest.mark.parametrize('depth', [18, 50])
def test_inflated_equals_2d_resnet_then_differs_when_calibrated(tmp_path,
                                                                 depth):
    path, resnet2d = random_torchvision_file(tmp_path, depth)
    model = build(depth=depth, pretrained=str(path))
    model.init_weights()
    x = torch.randn(2 * T, 3, 32, 32)
    model.eval(), resnet2d.eval()
    with torch.no_grad():
        ours, ref = model(x), resnet2d(x)
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
        assert ref.abs().max() > 0.1
        # teeth: calibration and aggregation move the output far off
        assert (perturb_tada(model)(x) - ref).abs().max() > 0.1


def test_identity_init_false_starts_tada_active():
    model = build(depth=18, identity_init=False)
    model.init_weights()
    for m in tada_modules(model).values():
        assert torch.equal(m.pool_bn.weight, torch.ones_like(m.pool_bn.weight))
        assert m.conv.calibration.temporal_conv2.weight.abs().min() > 0
    plain = MODELS.build(dict(type='mmaction.ResNet', depth=18))
    plain.load_state_dict(model.state_dict(), strict=False)
    x = torch.randn(2 * T, 3, 32, 32)
    model.eval(), plain.eval()
    with torch.no_grad():
        assert (model(x) - plain(x)).abs().max() > 0.1


def test_random_init_equals_2d_resnet_with_same_weights():
    model = build(depth=18)
    model.init_weights()
    # ResNet's init puts every BatchNorm2d to 1: BN' must be zero again
    assert all(m.pool_bn.weight.abs().max() == 0
               for m in tada_modules(model).values())
    plain = MODELS.build(dict(type='mmaction.ResNet', depth=18))
    result = plain.load_state_dict(model.state_dict(), strict=False)
    assert not result.missing_keys
    x = torch.randn(2 * T, 3, 32, 32)
    model.train(), plain.train()  # batch statistics too
    torch.testing.assert_close(model(x), plain(x), rtol=0, atol=0)


@pytest.mark.parametrize('depth,count,name', [
    (18, 8, 'conv1'), (50, 16, 'conv2'), (101, 33, 'conv2')])
def test_shapes_and_every_block_is_tada(depth, count, name):
    model = build(depth=depth).eval()
    found = tada_modules(model)
    assert len(found) == count
    assert all(n.endswith(name) for n in found)
    strided = found[f'layer2.0.{name}'].conv
    assert isinstance(strided, TAdaConv2d) and strided.stride == (2, 2)
    with torch.no_grad():
        out = model(torch.randn(2 * T, 3, 32, 32))
    assert out.shape == (2 * T, 512 if depth < 50 else 2048, 1, 1)


def test_gradients_reach_the_calibration_and_aggregation():
    model = build(depth=18)
    model.init_weights()
    model(torch.randn(2 * T, 3, 32, 32)).pow(2).sum().backward()
    for name, m in tada_modules(model).items():
        # fresh: the zero-initialised layers get gradient, and pass it on
        # once they are not zero
        assert m.conv.calibration.temporal_conv2.weight.grad.abs().max() > 0, \
            name
        assert m.pool_bn.weight.grad.abs().max() > 0, name
    perturb_tada(model).zero_grad()
    model(torch.randn(2 * T, 3, 32, 32)).pow(2).sum().backward()
    for name, m in tada_modules(model).items():
        for p_name, p in m.conv.calibration.named_parameters():
            assert p.grad.abs().max() > 0, f'{name}.{p_name}'


def test_frames_mix_within_clips_only():
    model = perturb_tada(build(depth=18)).eval()
    x = torch.randn(2 * T, 3, 32, 32)
    changed = x.clone()
    changed[1] = torch.randn(3, 32, 32)
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert not torch.allclose(a[3], b[3])  # another frame of clip 0
    assert torch.equal(a[T:], b[T:])  # clip 1


def test_resnet_options_frozen_stages_norm_eval_train_returns_self():
    model = build(depth=18, frozen_stages=1, norm_eval=True, out_indices=(2, 3))
    assert model.train() is model
    frozen = model.layer1[0].conv1
    assert not any(p.requires_grad for p in frozen.parameters())
    assert all(p.requires_grad for p in model.layer2[0].conv1.parameters())
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert not any(bn.training for bn in bns)  # BN, BN', calibration BN
    outs = model(torch.randn(2 * T, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512]


def test_with_cp_gives_same_gradients():
    plain = perturb_tada(build(depth=50))
    checkpointed = build(depth=50, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2 * T, 3, 32, 32)
    plain(x).sum().backward()
    checkpointed(x).sum().backward()
    for (name, p), q in zip(plain.named_parameters(),
                            checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_own_checkpoint_loads_every_tensor(tmp_path):
    source = perturb_tada(build(depth=18))
    path = tmp_path / 'tada.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    model = build(depth=18, pretrained=str(path), pretrained2d=False)
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('head', [
    dict(type='mmaction.TSNHead', num_classes=5, in_channels=512,
         average_clips='prob'),
    dict(type='tsm_plugin.TSMHead', num_classes=5, in_channels=512,
         num_segments=T, is_shift=False, average_clips='prob'),
])
def test_recognizer2d_with_tsn_or_tsm_head(head):
    from mmaction.structures import ActionDataSample
    model = MODELS.build(dict(
        type='mmaction.Recognizer2D',
        backbone=dict(type='tsm_plugin.ResNetTAda', depth=18, num_segments=T),
        cls_head=head,
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW')))
    samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
    losses = model(torch.randn(2, T, 3, 32, 32), samples, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    with torch.no_grad():
        pred = model(torch.randn(2, 2 * T, 3, 32, 32), samples, mode='predict')
    assert pred[0].pred_score.shape == (5, )


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=20), 'depth must be one of'),
    (dict(depth=18, num_segments=0), 'num_segments must be a positive int'),
    (dict(depth=18, calibration_reduction=0), 'reduction must be an int'),
    (dict(depth=18, calibration_reduction=128), 'leaves no hidden channel'),
    (dict(depth=18, calibration_kernels=(3, 4)), 'kernels must be two odd'),
    (dict(depth=18, pool_kernel=2), 'pool_kernel must be an odd positive int'),
])
def test_bad_arguments_raise_value_error_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_input_not_whole_clips_is_refused_before_any_conv():
    model = build(depth=18, num_segments=8)
    model.conv1.register_forward_pre_hook(
        lambda *_: pytest.fail('the stem ran'))
    with pytest.raises(ValueError, match='12 frames.*num_segments=8'):
        model(torch.randn(12, 3, 32, 32))


# ---------------------------------------------------------------------------
# layout='official': TAda2D-R50 as the official code builds it. The reference
# below is written from the official code's description (TAdaConv repo at
# 75b7839: configs/pool/backbone/tada2d.yaml, models/base/base_blocks.py
# Base2DStem / Base3DBlock, models/module_zoo/branches/tada_branch.py,
# models/module_zoo/ops/tadaconv.py), on (B, C, T, H, W) clips as there: stem
# conv 7x7/2 + BN + ReLU and no max-pool; every stage's first block at stride
# 2 in its 3x3 and its shortcut (DOWNSAMPLING: [true] * 5); the 3x3 a TAdaConv
# whose N*T per-frame weights alpha_t * W run as one grouped conv; the
# aggregation b_bn(y) + b_avgpool_bn(AvgPool3d((3, 1, 1), 1, (1, 0, 0))(y)).

def ref_bn(x, state, prefix):
    """BatchNorm3d in training mode: statistics over (B, T, H, W)."""
    return torch.nn.functional.batch_norm(
        x, None, None, state[prefix + 'weight'], state[prefix + 'bias'], True,
        0., 1e-5)


def ref_conv(x, weight, stride=1):
    """A [1, k, k] Conv3d with padding [0, k // 2, k // 2]."""
    k = weight.shape[-1]
    return torch.nn.functional.conv3d(x, weight[:, :, None], None,
                                      (1, stride, stride), (0, k // 2, k // 2))


def ref_route_func(x, state, prefix):
    """The official RouteFuncMLP: alpha (B, C, T, 1, 1)."""
    g = state[prefix + 'global_proj.weight'][..., None, None]
    a = state[prefix + 'temporal_conv1.weight'][..., None, None]
    b = state[prefix + 'temporal_conv2.weight'][..., None, None]
    F = torch.nn.functional
    pooled = x.mean((3, 4), keepdim=True)
    glob = x.mean((2, 3, 4), keepdim=True)
    glob = F.conv3d(glob, g, state[prefix + 'global_proj.bias'])
    h = F.conv3d(pooled + glob, a, state[prefix + 'temporal_conv1.bias'],
                 padding=(a.shape[2] // 2, 0, 0))
    h = torch.relu(ref_bn(h, state, prefix + 'bn.'))
    return F.conv3d(h, b, None, padding=(b.shape[2] // 2, 0, 0)) + 1


def ref_tadaconv2d(x, alpha, weight, stride):
    """The official TAdaConv2d (cal_dim='cin'): per-frame weights
    alpha_t * W, one conv with groups = B * T."""
    b, c_in, t, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    frames = x.permute(0, 2, 1, 3, 4).reshape(1, -1, h, w)
    weights = (alpha.permute(0, 2, 1, 3, 4).unsqueeze(2)
               * weight[None, None]).reshape(-1, c_in, kh, kw)
    out = torch.nn.functional.conv2d(frames, weights, None, stride, kh // 2,
                                     1, b * t)
    return out.view(b, t, c_out, *out.shape[-2:]).permute(0, 2, 1, 3, 4)


def official_tada2d_r50(state, clips, blocks=(3, 4, 6, 3)):
    """The official TAda2D-R50 on (B, 3, T, H, W) with the weights ``state``
    (read by name; strides from the official config, not from the model)."""
    x = torch.relu(ref_bn(ref_conv(clips, state['conv1.conv.weight'], 2),
                          state, 'conv1.bn.'))
    for stage, num_blocks in enumerate(blocks, 1):
        for i in range(num_blocks):
            p = f'layer{stage}.{i}.'
            stride = 2 if i == 0 else 1
            y = torch.relu(ref_bn(ref_conv(x, state[p + 'conv1.conv.weight']),
                                  state, p + 'conv1.bn.'))
            alpha = ref_route_func(y, state, p + 'conv2.conv.calibration.')
            y = ref_tadaconv2d(y, alpha, state[p + 'conv2.conv.weight'],
                               stride)
            pooled = torch.nn.functional.avg_pool3d(y, (3, 1, 1), 1,
                                                    (1, 0, 0))
            y = torch.relu(ref_bn(y, state, p + 'conv2.bn.')
                           + ref_bn(pooled, state, p + 'conv2.pool_bn.'))
            y = ref_bn(ref_conv(y, state[p + 'conv3.conv.weight']), state,
                       p + 'conv3.bn.')
            shortcut = x
            if i == 0:  # channels change (and stride 2) in every first block
                shortcut = ref_bn(ref_conv(
                    x, state[p + 'downsample.conv.weight'], stride), state,
                    p + 'downsample.bn.')
            x = torch.relu(shortcut + y)
    return x


def randomise(model):
    """Random weights, BN statistics and affines everywhere (TAda active)."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if 'running_var' in name:
                t.copy_(torch.rand_like(t) + 0.5)
            elif name.endswith('bn.weight') or 'pool_bn.weight' in name:
                t.copy_(torch.rand_like(t) + 0.5)
            elif t.dim() > 1:  # conv weights: keep the activations O(1)
                fan_in = t[0].numel()
                t.copy_(torch.randn_like(t) * (1.0 / fan_in) ** 0.5)
            else:
                t.copy_(torch.randn_like(t) * 0.1)
    return model


def test_official_layout_structure():
    model = build(depth=50, layout='official')
    assert isinstance(model.maxpool, nn.Identity)
    assert model.conv1.conv.stride == (2, 2)
    first = model.layer1[0]
    assert first.conv2.conv.stride == (2, 2)
    assert first.downsample.conv.stride == (2, 2)
    assert first.conv1.conv.stride == (1, 1)
    assert all(getattr(model, f'layer{i}')[0].conv2.conv.stride == (2, 2)
               for i in (2, 3, 4))
    # same parameter names and shapes as MMAction2's layout (and as the
    # torchvision ResNet-50 those are mapped from)
    mm = build(depth=50)
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in mm.state_dict().items()}
    with torch.no_grad():
        assert model.eval()(torch.randn(T, 3, 64, 64)).shape == \
            mm.eval()(torch.randn(T, 3, 64, 64)).shape == (T, 2048, 2, 2)


def test_official_layout_equals_the_official_network_description():
    torch.manual_seed(0)
    # training mode: BN normalises with batch statistics (random running
    # statistics let the calibrated activations grow without bound)
    model = randomise(build(depth=50, layout='official')).train()
    state = model.state_dict()
    clips = torch.randn(2, 3, T, 32, 32, dtype=torch.float64)
    frames = clips.transpose(1, 2).reshape(2 * T, 3, 32, 32)
    state64 = {k: v.double() for k, v in state.items()}
    with torch.no_grad():
        ref = official_tada2d_r50(state64, clips)  # B, C, T, h, w
        ours = model.double()(frames)
        ref = ref.transpose(1, 2).reshape_as(ours)
        torch.testing.assert_close(ours, ref, rtol=1e-9, atol=1e-9)
        assert ref.abs().max() > 0.1
        # teeth: the same weights in MMAction2's layout: another function
        mm = build(depth=50).double().train()
        mm.load_state_dict(state64)
        assert (mm(frames) - ref).abs().mean() > 0.5 * ref.abs().mean()
        # and the calibration matters in the reference: alpha = 1 is far off
        flat = {k: (torch.zeros_like(v) if 'temporal_conv2' in k else v)
                for k, v in state64.items()}
        assert (official_tada2d_r50(flat, clips).transpose(1, 2)
                .reshape_as(ours) - ref).abs().mean() > 0.1 * ref.abs().mean()


def kaiming_normal_fan_out_std(weight):
    return (2.0 / (weight.shape[0] * weight[0, 0].numel())) ** 0.5


def test_official_init_from_scratch():
    """Official init (init_helper._init_convnet_weights on an nn.Module
    TAdaConv2d): generator convs Kaiming-normal fan out with zero bias;
    base 3x3 weight kaiming_uniform(a=sqrt(5)) on its (1, 1, C_out, C_in,
    3, 3) tensor, i.e. U(-b, b) with b = 1 / sqrt(numel); every other conv
    Kaiming-normal fan out; calibration 1 and BN' 0."""
    torch.manual_seed(0)
    model = build(depth=50, layout='official')
    model.init_weights()
    mm = build(depth=50, layout='official', tada_init='mmaction')
    mm.init_weights()
    for name, m in tada_modules(model).items():
        gen = m.conv.calibration
        for conv in (gen.global_proj, gen.temporal_conv1):
            assert torch.equal(conv.bias, torch.zeros_like(conv.bias)), name
            std = kaiming_normal_fan_out_std(conv.weight)
            assert abs(conv.weight.std().item() / std - 1) < 0.15, name
        assert gen.temporal_conv2.weight.abs().max() == 0
        assert m.pool_bn.weight.abs().max() == 0
        assert m.bn.weight.min() == 1 == m.bn.weight.max()
        w = m.conv.weight
        bound = w.numel() ** -0.5
        assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound, name
        assert abs(w.std().item() / (bound / 3 ** 0.5) - 1) < 0.1, name
        # MMAction2's init: the generator's Conv1ds keep PyTorch's default
        # (non-zero uniform bias), the base weight is Kaiming normal
        mm_m = tada_modules(mm)[name]
        assert mm_m.conv.calibration.global_proj.bias.abs().max() > 0
        mm_std = kaiming_normal_fan_out_std(mm_m.conv.weight)
        assert abs(mm_m.conv.weight.std().item() / mm_std - 1) < 0.15
        assert mm_std > 5 * bound
    for name, m in model.named_modules():  # all other convs: as MMAction2
        if isinstance(m, nn.Conv2d) and not isinstance(m, TAdaConv2d):
            std = kaiming_normal_fan_out_std(m.weight)
            assert abs(m.weight.std().item() / std - 1) < 0.15, name


def test_official_layout_loads_torchvision_weights_keeps_official_init(
        tmp_path):
    path, _ = random_torchvision_file(tmp_path, 50)
    state = torch.load(path)
    model = build(depth=50, layout='official', pretrained=str(path))
    model.init_weights()
    own = model.state_dict()
    # every torchvision tensor lands under its MMAction2 name
    keys = [k for k in state if not k.startswith('fc.')]
    assert len(keys) > 300
    for key in keys:
        assert torch.equal(own[torchvision_to_mmaction(key)], state[key]), key
    for name, m in tada_modules(model).items():
        conv = m.conv.calibration.temporal_conv1
        assert torch.equal(conv.bias, torch.zeros_like(conv.bias))
        assert m.pool_bn.weight.abs().max() == 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(depth=50, layout='tada'), "layout must be one of"),
    (dict(depth=50, tada_init='kaiming'), "tada_init must be one of"),
    (dict(depth=18, layout='official'), "needs a bottleneck depth.*depth=18"),
    (dict(depth=50, layout='official', strides=(1, 2, 2, 2)),
     "fixes strides"),
])
def test_bad_layout_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)
