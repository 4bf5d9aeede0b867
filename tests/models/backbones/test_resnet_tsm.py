"""ResNetTSM: structure, arguments, errors, 2D weight inflation."""
import pytest
import torch
from mmaction.registry import MODELS
from torch import nn

import tsm_plugin  # noqa: F401
from tsm_plugin.models.backbones.resnet_tsm import (NonLocalWrapper,
                                                    TemporalPool)
from tsm_plugin.ops import TemporalShift


def build(**kwargs):
    return MODELS.build(dict(type='tsm_plugin.ResNetTSM', **kwargs))


def shifts(model):
    return {name: m for name, m in model.named_modules()
            if isinstance(m, TemporalShift)}


@pytest.mark.parametrize('depth,blocks', [(18, 8), (34, 16), (50, 16),
                                          (101, 18), (152, 26)])
def test_blockres_shifts_conv1_of_blocks(depth, blocks):
    model = build(depth=depth)
    found = shifts(model)
    assert len(found) == blocks
    assert all(name.endswith('.conv1.conv') for name in found)
    if depth >= 101:  # every other block (layer3 has >= 23 blocks)
        assert 'layer3.0.conv1.conv' in found
        assert 'layer3.1.conv1.conv' not in found
        assert 'layer1.1.conv1.conv' not in found


def test_fewer_stages_build_and_shift():
    model = build(depth=18, num_stages=2, out_indices=(1, ), strides=(1, 2),
                  dilations=(1, 1),
                  non_local=((0, 0), (0, 0)))
    assert len(shifts(model)) == 4
    assert model(torch.randn(8, 3, 32, 32)).shape == (8, 128, 4, 4)


def test_block_place_wraps_whole_blocks():
    model = build(depth=18, shift_place='block')
    found = shifts(model)
    assert sorted(found) == sorted(f'layer{s}.{i}' for s in range(1, 5)
                                   for i in range(2))


def test_is_shift_false_is_plain_resnet_keys():
    model = build(depth=50, is_shift=False)
    plain = MODELS.build(dict(type='mmaction.ResNet', depth=50))
    assert not shifts(model)
    assert list(model.state_dict()) == list(plain.state_dict())


@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_shift_mode_and_div_reach_every_shift(mode):
    model = build(depth=18, shift_mode=mode, shift_div=4)
    assert {(m.mode, m.shift_div) for m in shifts(model).values()} == {(mode, 4)}


def test_output_shape_and_temporal_pool_halves_time():
    x = torch.randn(2 * 8, 3, 32, 32)
    assert build(depth=18).eval()(x).shape == (16, 512, 1, 1)
    model = build(depth=18, temporal_pool=True).eval()
    assert isinstance(model.layer2, TemporalPool)
    assert model(x).shape == (8, 512, 1, 1)
    # layers after the pool shift over 4 frames
    assert shifts(model)['layer3.0.conv1.conv'].num_segments == 4
    assert shifts(model)['layer1.0.conv1.conv'].num_segments == 8


def test_temporal_pool_is_max_over_neighbouring_frames():
    pool = TemporalPool(nn.Identity(), num_segments=4)
    x = torch.arange(8.).view(8, 1, 1, 1)  # 2 clips, frame value = index
    assert pool(x).flatten().tolist() == [1., 3., 5., 7.]


def test_unidirectional_backbone_is_causal():
    model = build(depth=18, shift_mode='unidirectional').eval()
    x = torch.randn(8, 3, 32, 32)
    changed = x.clone()
    changed[5:] = torch.randn(3, 3, 32, 32)  # change the future of frame 4
    with torch.no_grad():
        a, b = model(x), model(changed)
    torch.testing.assert_close(a[:5], b[:5])
    assert not torch.allclose(a[5:], b[5:])


def test_bidirectional_backbone_mixes_frames_but_not_clips():
    model = build(depth=18).eval()
    x = torch.randn(16, 3, 32, 32)
    changed = x.clone()
    changed[3] = torch.randn(3, 32, 32)
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert not torch.allclose(a[2], b[2])  # neighbours see frame 3
    torch.testing.assert_close(a[8:], b[8:])  # the other clip does not


@pytest.mark.parametrize('mode', ['embedded_gaussian', 'dot_product', 'gaussian'])
def test_non_local_modes_and_pattern(mode):
    pattern = ((0, 0), (1, 0), (0, 1), (0, 0))
    model = build(depth=18, non_local=pattern,
                  non_local_cfg=dict(mode=mode, sub_sample=True,
                                     norm_cfg=dict(type='BN3d')))
    wrapped = {n for n, m in model.named_modules()
               if isinstance(m, NonLocalWrapper)}
    assert wrapped == {'layer2.0', 'layer3.1'}
    assert model.layer3[1].non_local_block.in_channels == 256
    assert model.eval()(torch.randn(8, 3, 32, 32)).shape == (8, 512, 1, 1)


def test_non_local_under_temporal_pool_groups_pooled_frames():
    pattern = ((0, 0), (1, 0), (0, 0), (0, 0))
    model = build(depth=18, temporal_pool=True, non_local=pattern,
                  non_local_cfg=dict(mode='dot_product'))
    assert model.layer2.net[0].num_segments == 4
    # one clip: MMAction2 would view 4 pooled frames as 8 and fail
    assert model.eval()(torch.randn(8, 3, 32, 32)).shape == (4, 512, 1, 1)


def test_block_place_with_non_local_builds():
    model = build(depth=50, shift_place='block',
                  non_local=((0, 0, 0), (1, 0, 0, 0), (0,) * 6, (0, 0, 0)))
    assert isinstance(model.layer2[0].block, TemporalShift)
    assert model.layer2[0].non_local_block.in_channels == 512


def test_train_returns_self_and_resnet_options_hold():
    model = build(depth=18, frozen_stages=1, norm_eval=True, out_indices=(2, 3))
    assert model.train() is model
    assert not model.layer1[0].conv1.conv.net.weight.requires_grad
    assert model.layer2[0].conv1.conv.net.weight.requires_grad
    assert not model.layer3[0].conv1.bn.training
    outs = model(torch.randn(8, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512]


def test_partial_bn_keeps_first_bn_training():
    model = build(depth=18, partial_bn=True).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns[0].training and not any(bn.training for bn in bns[1:])


def test_with_cp_gives_same_gradients():
    plain = build(depth=50)  # MMAction2's BasicBlock has no with_cp
    checkpointed = build(depth=50, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(8, 3, 32, 32)
    plain(x).sum().backward()
    checkpointed(x).sum().backward()
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


@pytest.mark.parametrize('kwargs,match', [
    (dict(shift_place='blockres2'), 'shift_place'),
    (dict(shift_mode='bi'), 'shift_mode'),
    (dict(shift_div=0), 'shift_div'),
    (dict(shift_div=128), 'leaves no channel'),
    (dict(num_segments=0), 'num_segments'),
    (dict(temporal_pool=True, num_segments=1), 'temporal_pool'),
    (dict(temporal_pool=True, num_segments=5), 'temporal_pool'),
    (dict(non_local=((0, 0), (1, 0, 1), (0, 0), (0, 0))), r'non_local\[1\]'),
    (dict(non_local=(0, 0, 0)), 'one entry per stage'),
])
def test_bad_arguments_raise_value_error_at_build(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(depth=18, **kwargs)


def test_input_not_whole_clips_is_refused_before_any_conv():
    model = build(depth=18, num_segments=8)
    with pytest.raises(ValueError, match='12 frames.*num_segments=8'):
        model(torch.randn(12, 3, 32, 32))


def torchvision_resnet18_state_dict():
    """A state dict with torchvision's ResNet-18 key names and shapes."""
    state = {'conv1.weight': torch.randn(64, 3, 7, 7), 'fc.weight': torch.randn(
        1000, 512), 'fc.bias': torch.randn(1000)}

    def bn(prefix, channels):
        for key in ('weight', 'bias', 'running_mean', 'running_var'):
            state[f'{prefix}.{key}'] = torch.randn(channels)
        state[f'{prefix}.num_batches_tracked'] = torch.tensor(5)

    bn('bn1', 64)
    inplanes = 64
    for stage, planes in enumerate((64, 128, 256, 512), start=1):
        for i in range(2):
            prefix = f'layer{stage}.{i}'
            state[f'{prefix}.conv1.weight'] = torch.randn(planes, inplanes, 3, 3)
            state[f'{prefix}.conv2.weight'] = torch.randn(planes, planes, 3, 3)
            bn(f'{prefix}.bn1', planes)
            bn(f'{prefix}.bn2', planes)
            if i == 0 and stage > 1:
                state[f'{prefix}.downsample.0.weight'] = torch.randn(
                    planes, inplanes, 1, 1)
                bn(f'{prefix}.downsample.1', planes)
            inplanes = planes
    return state


@pytest.mark.parametrize('shift_place', ['blockres', 'block'])
def test_pretrained_torchvision_file_is_inflated(tmp_path, shift_place):
    tv = torchvision_resnet18_state_dict()
    path = tmp_path / 'resnet18.pth'
    torch.save(tv, path)
    model = build(depth=18, pretrained=str(path), shift_place=shift_place)
    model.init_weights()
    block = model.layer2[0].net if shift_place == 'block' else model.layer2[0]
    conv1 = block.conv1.conv
    conv1 = conv1.net if shift_place == 'blockres' else conv1
    assert torch.equal(conv1.weight, tv['layer2.0.conv1.weight'])
    assert torch.equal(block.conv1.bn.running_var, tv['layer2.0.bn1.running_var'])
    assert torch.equal(block.downsample.conv.weight,
                       tv['layer2.0.downsample.0.weight'])
    assert torch.equal(model.conv1.bn.weight, tv['bn1.weight'])


def test_torchvision_url_resolves_in_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    model = build(depth=18, pretrained='torchvision://resnet18')
    with pytest.raises(FileNotFoundError, match='resnet18-.*pth.*checkpoints'):
        model.init_weights()
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    tv = torchvision_resnet18_state_dict()
    torch.save(tv, tmp_path / 'hub' / 'checkpoints' / 'resnet18-f37072fd.pth')
    model = build(depth=18, pretrained='torchvision://resnet18')
    model.init_weights()
    assert torch.equal(model.layer4[1].conv2.conv.weight,
                       tv['layer4.1.conv2.weight'])


def test_pretrained_none_is_random_init_without_flags():
    model = build(depth=18)
    model.init_weights()  # MMAction2's own crashes here unless pretrained2d=False
    assert model.layer1[0].conv1.conv.net.weight.std() > 0


def test_pretrained_own_checkpoint_with_pretrained2d_false(tmp_path):
    source = build(depth=18)
    source.init_weights()
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    model = build(depth=18, pretrained=str(path), pretrained2d=False)
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
