"""2D ImageNet weights (torchvision's layout) inflate into ResNetTSM completely.

The reference is a torchvision-layout ResNet written out here with
``torch.nn.functional`` (there is no torchvision package): its BN statistics
are those of the activations it sees on a calibration batch, so that every BN,
downsample BNs included, shapes the output.
"""
import functools

import pytest
import torch
import torch.nn.functional as F
from live_weights import spread
from mmaction.registry import MODELS

import tsm_plugin  # noqa: F401

ARCH = {18: (False, (2, 2, 2, 2)), 50: (True, (3, 4, 6, 3))}  # bottleneck?


def torchvision_forward(state, x, depth, calibrate=False):
    """torchvision's ResNet (v1.5: stride on the 3x3 conv) up to layer4, in
    eval mode; ``calibrate``: first set each BN's running statistics to those
    of its input."""
    bottleneck, stage_blocks = ARCH[depth]

    def bn(name, x):
        if calibrate:
            state[f'{name}.running_mean'] = x.mean((0, 2, 3))
            state[f'{name}.running_var'] = x.var((0, 2, 3))
        return F.batch_norm(x, state[f'{name}.running_mean'],
                            state[f'{name}.running_var'], state[f'{name}.weight'],
                            state[f'{name}.bias'], False, 0., 1e-5)

    def conv(name, x, stride=1):
        weight = state[f'{name}.weight']
        return F.conv2d(x, weight, stride=stride, padding=weight.shape[-1] // 2)

    x = F.relu(bn('bn1', conv('conv1', x, stride=2)))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, num_blocks in enumerate(stage_blocks, start=1):
        for i in range(num_blocks):
            p = f'layer{stage}.{i}'
            stride = 2 if stage > 1 and i == 0 else 1
            if bottleneck:
                out = F.relu(bn(f'{p}.bn1', conv(f'{p}.conv1', x)))
                out = F.relu(bn(f'{p}.bn2', conv(f'{p}.conv2', out, stride)))
                out = bn(f'{p}.bn3', conv(f'{p}.conv3', out))
            else:
                out = F.relu(bn(f'{p}.bn1', conv(f'{p}.conv1', x, stride)))
                out = bn(f'{p}.bn2', conv(f'{p}.conv2', out))
            if f'{p}.downsample.0.weight' in state:
                x = bn(f'{p}.downsample.1', conv(f'{p}.downsample.0', x, stride))
            x = F.relu(out + x)
    return x


@functools.lru_cache()
def torchvision_state_dict(depth):
    """torchvision's ResNet keys and shapes, every tensor distinct, BN
    statistics calibrated; float64 holding float32 values."""
    bottleneck, stage_blocks = ARCH[depth]
    g = torch.Generator().manual_seed(depth)
    state = {}

    def conv(name, c_out, c_in, k):
        state[f'{name}.weight'] = torch.randn(
            c_out, c_in, k, k, generator=g, dtype=torch.float64) * (
                2 / (c_in * k * k))**0.5

    def bn(name, channels):
        state[f'{name}.weight'] = 0.5 + torch.rand(
            channels, generator=g, dtype=torch.float64)
        state[f'{name}.bias'] = 0.2 * torch.randn(
            channels, generator=g, dtype=torch.float64)
        state[f'{name}.running_mean'] = state[f'{name}.running_var'] = None
        state[f'{name}.num_batches_tracked'] = torch.tensor(len(state))

    conv('conv1', 64, 3, 7)
    bn('bn1', 64)
    expansion = 4 if bottleneck else 1
    inplanes = 64
    for stage, (planes, num_blocks) in enumerate(
            zip((64, 128, 256, 512), stage_blocks), start=1):
        for i in range(num_blocks):
            p = f'layer{stage}.{i}'
            convs = ([(planes, inplanes, 1), (planes, planes, 3),
                      (planes * expansion, planes, 1)] if bottleneck else
                     [(planes, inplanes, 3), (planes, planes, 3)])
            for j, shape in enumerate(convs, start=1):
                conv(f'{p}.conv{j}', *shape)
                bn(f'{p}.bn{j}', shape[0])
            if i == 0 and inplanes != planes * expansion:
                conv(f'{p}.downsample.0', planes * expansion, inplanes, 1)
                bn(f'{p}.downsample.1', planes * expansion)
            inplanes = planes * expansion
    state['fc.weight'] = torch.randn(1000, inplanes, generator=g,
                                     dtype=torch.float64)
    state['fc.bias'] = torch.randn(1000, generator=g, dtype=torch.float64)
    torchvision_forward(state, torch.randn(8, 3, 32, 32, generator=g,
                                           dtype=torch.float64),
                        depth, calibrate=True)
    # float32 values: they load into the float32 model exactly
    return {k: v.float().double() if v.is_floating_point() else v
            for k, v in state.items()}


def inflated(tmp_path, depth, **kwargs):
    path = tmp_path / f'resnet{depth}.pth'
    torch.save(torchvision_state_dict(depth), path)
    model = MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=depth,
                              pretrained=str(path), **kwargs))
    model.init_weights()
    return model


def fingerprint(tensor):
    return tensor.dtype, tuple(tensor.shape), tensor.numpy().tobytes()


@pytest.mark.parametrize('depth,shift_place', [(18, 'blockres'), (18, 'block'),
                                               (50, 'blockres')])
def test_every_tensor_comes_from_the_checkpoint(tmp_path, depth, shift_place):
    """Nothing of the model is left at its initial value, and nothing of the
    checkpoint but the fc goes unused (all its tensors are distinct)."""
    tv = torchvision_state_dict(depth)
    model = inflated(tmp_path, depth, shift_place=shift_place).double()
    source = {fingerprint(v): k for k, v in tv.items()}
    assert len(source) == len(tv)
    found = {key: source.get(fingerprint(value))
             for key, value in model.state_dict().items()}
    assert [k for k, tv_key in found.items() if tv_key is None] == []
    assert sorted(set(tv) - set(found.values())) == ['fc.bias', 'fc.weight']
    assert len(set(found.values())) == len(found)


def test_inflated_without_shift_equals_the_2d_network(tmp_path, depth=18):
    model = inflated(tmp_path, depth, is_shift=False).double().eval()
    x = torch.randn(8, 3, 32, 32, dtype=torch.float64)  # one clip
    with torch.no_grad():
        got = model(x)
    tv = torchvision_state_dict(depth)
    expected = torchvision_forward(tv, x, depth)
    scale = expected.abs().max().item()
    assert spread(got, expected) <= 1e-9 * scale
    # each BN counts: one downsample BN at its initial values moves the output
    name = 'layer2.0.downsample.1'
    ones, zeros = torch.ones_like(tv[f'{name}.weight']), torch.zeros_like(
        tv[f'{name}.weight'])
    untouched = dict(tv, **{f'{name}.weight': ones, f'{name}.bias': zeros,
                            f'{name}.running_mean': zeros,
                            f'{name}.running_var': ones})
    assert spread(torchvision_forward(untouched, x, depth), expected) > \
        1e-2 * scale
