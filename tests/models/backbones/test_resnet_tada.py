"""ResNetTAda (TAda2D): structure, equality with the 2D ResNet at init,
gradients into the calibration, ResNet options, errors, MMAction2 heads."""
import re

import pytest
import torch
from mmaction.registry import MODELS
from torch import nn

import tsm_plugin  # noqa: F401
from tsm_plugin.models.backbones.resnet_tada import TAdaConvModule
from tsm_plugin.ops import TAdaConv2d

T = 4
pytestmark = pytest.mark.usefixtures('one_thread')


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
