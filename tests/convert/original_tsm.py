"""The original TSM repository's networks, written for the tests from its
published description (mit-han-lab/temporal-shift-module: ``ops/models.py``,
``ops/temporal_shift.py``, ``ops/non_local.py``, ``archs/mobilenet_v2.py``,
``online_demo/mobilenet_v2_tsm.py``), with its module names, so their state
dicts have the published checkpoints' keys. Plain PyTorch, no torchvision:
an independent reference for the converter (nothing of the plugin is used).
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def shift_offline(x, n_segment, fold_div):
    """Channels [0, fold) read frame t+1, [fold, 2 fold) frame t-1; zeros."""
    nt, c, h, w = x.shape
    x = x.view(nt // n_segment, n_segment, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    def __init__(self, net, n_segment, n_div=8):
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x):
        return self.net(shift_offline(x, self.n_segment, self.fold_div))


class TemporalPool(nn.Module):
    def __init__(self, net, n_segment):
        super().__init__()
        self.net, self.n_segment = net, n_segment

    def forward(self, x):
        nt, c, h, w = x.shape
        x = x.view(nt // self.n_segment, self.n_segment, c, h, w)
        x = F.max_pool3d(x.transpose(1, 2), (3, 1, 1), (2, 1, 1), (1, 0, 0))
        return self.net(x.transpose(1, 2).reshape(nt // 2, c, h, w))


class NonLocalBlock3D(nn.Module):
    """Embedded gaussian, no scale; g and phi sub-sampled 2x2; W = conv
    (with bias) + BN, added to the input."""

    def __init__(self, channels):
        super().__init__()
        inter = channels // 2
        self.inter = inter
        pool = nn.MaxPool3d(kernel_size=(1, 2, 2))
        self.g = nn.Sequential(nn.Conv3d(channels, inter, 1), pool)
        self.W = nn.Sequential(nn.Conv3d(inter, channels, 1),
                               nn.BatchNorm3d(channels))
        self.theta = nn.Conv3d(channels, inter, 1)
        self.phi = nn.Sequential(nn.Conv3d(channels, inter, 1), pool)

    def forward(self, x):
        n = x.shape[0]
        g = self.g(x).view(n, self.inter, -1).permute(0, 2, 1)
        theta = self.theta(x).view(n, self.inter, -1).permute(0, 2, 1)
        phi = self.phi(x).view(n, self.inter, -1)
        y = torch.matmul(F.softmax(torch.matmul(theta, phi), -1), g)
        y = y.permute(0, 2, 1).reshape(n, self.inter, *x.shape[2:])
        return self.W(y) + x


class NL3DWrapper(nn.Module):
    def __init__(self, block, n_segment):
        super().__init__()
        self.block = block
        self.nl = NonLocalBlock3D(block.bn3.num_features)
        self.n_segment = n_segment

    def forward(self, x):
        x = self.block(x)
        nt, c, h, w = x.shape
        x = x.view(nt // self.n_segment, self.n_segment, c, h, w)
        x = self.nl(x.transpose(1, 2)).transpose(1, 2)
        return x.reshape(nt, c, h, w)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride, bias=False),
                nn.BatchNorm2d(out))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(y + identity)


class ResNet(nn.Module):
    """torchvision's ResNet (bottleneck), by its module names."""

    def __init__(self, layers):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, n in enumerate(layers):
            planes = 64 * 2**i
            blocks = []
            for j in range(n):
                blocks.append(Bottleneck(inplanes, planes,
                                         2 if j == 0 and i > 0 else 1))
                inplanes = planes * 4
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Dropout(0.5)  # TSN replaces fc with dropout + new_fc

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def make_tsm_resnet(layers, n_segment, place='blockres', shift_div=8,
                    temporal_pool=False, non_local=False, shift=True):
    """``make_temporal_shift`` (+ ``make_non_local``, temporal pool), in the
    original code's order."""
    net = ResNet(layers)
    segments = [n_segment] + [n_segment // 2 if temporal_pool else
                              n_segment] * 3
    every = 2 if len(net.layer3) >= 23 else 1
    for i in range(4) if shift else ():
        stage = getattr(net, f'layer{i + 1}')
        for j, block in enumerate(stage):
            if place == 'block':
                stage[j] = TemporalShift(block, segments[i], shift_div)
            elif j % every == 0:
                block.conv1 = TemporalShift(block.conv1, segments[i],
                                            shift_div)
    if non_local:  # blocks 0, 2 of layer2 and 0, 2, 4 of layer3 (R50)
        for name, picks in (('layer2', (0, 2)), ('layer3', (0, 2, 4))):
            stage = getattr(net, name)
            for j in picks:
                stage[j] = NL3DWrapper(stage[j], n_segment)
    if temporal_pool:
        net.layer2 = TemporalPool(net.layer2, n_segment)
    return net


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(inp, hidden, 1, bias=False),
                       nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden,
                             bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, oup, 1, bias=False),
                   nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x, shift_buffer=None, online=False):
        if not online:  # offline (or not shifted)
            y = self.conv(x)
            return x + y if self.use_res_connect else y
        # online_demo's InvertedResidualWithShift: channels [0, C/8) come
        # from the previous frame's buffer (None: zeros, a stream's start);
        # this frame's go to the next one
        fold = x.shape[1] // 8
        if shift_buffer is None:
            shift_buffer = torch.zeros_like(x[:, :fold])
        y = self.conv(torch.cat((shift_buffer, x[:, fold:]), 1))
        return x + y, x[:, :fold]


SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn(inp, oup, kernel, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2,
                                   bias=False),
                         nn.BatchNorm2d(oup), nn.ReLU6())


class MobileNetV2(nn.Module):
    """archs/mobilenet_v2.py's network (width 1.0); ``online``: forward
    takes and returns the shift buffers as online_demo's does (none given:
    zeros, the start of a stream)."""

    def __init__(self, n_class=1000, online=False):
        super().__init__()
        features, inp = [conv_bn(3, 32, 3, 2)], 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(inp, c, s if i == 0 else 1,
                                                 t))
                inp = c
        features.append(conv_bn(inp, 1280, 1, 1))
        self.features = nn.ModuleList(features) if online else \
            nn.Sequential(*features)
        self.classifier = nn.Linear(1280, n_class)
        self.online = online

    def shifted(self):
        return [i for i, f in enumerate(self.features)
                if isinstance(f, InvertedResidual) and f.use_res_connect
                and len(f.conv) == 8]

    def forward(self, x, *buffers):
        if not self.online:
            return self.classifier(self.features(x).mean(3).mean(2))
        shifted = self.shifted()
        buffers = list(buffers) or [None] * len(shifted)
        out = []
        for i, f in enumerate(self.features):
            if i in shifted:
                x, keep = f(x, buffers.pop(0), online=True)
                out.append(keep)
            else:
                x = f(x)
        return (self.classifier(x.mean(3).mean(2)), *out)


def make_tsm_mobilenet_v2(n_class, n_segment, shift_div=8):
    """ops/models.py's TSM MobileNetV2: conv[0] of each residual block with
    an expansion is shifted (offline)."""
    net = MobileNetV2(n_class)
    for i in net.shifted():
        block = net.features[i]
        block.conv[0] = TemporalShift(block.conv[0], n_segment, shift_div)
    net.classifier = nn.Dropout(0.5)
    return net


class TSN(nn.Module):
    """ops/models.py's TSN: ``base_model`` (its last layer a dropout),
    ``new_fc``, logits averaged over each clip's frames."""

    def __init__(self, base_model, num_class, feature_dim, frames_per_clip):
        super().__init__()
        self.base_model = base_model
        self.new_fc = nn.Linear(feature_dim, num_class)
        self.frames_per_clip = frames_per_clip

    def forward(self, x):
        out = self.new_fc(self.base_model(x))
        return out.view(-1, self.frames_per_clip, out.shape[-1]).mean(1)


def randomise(net, calibration, seed=0):
    """Random weights, BatchNorm statistics measured on ``calibration`` (so
    a deep random net does not saturate), affine BatchNorm parameters and
    biases away from their identity init (the non-local block's W starts
    at zero). Returns ``net`` in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen)
                               * (2 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape,
                                                   generator=gen))
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = None  # cumulative: the batch's statistics
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape,
                                                      generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        net.train()
        net(*calibration)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.1
        if isinstance(m, NonLocalBlock3D):
            # The converter moves W's conv bias into its BatchNorm's running
            # mean, stored in float32. On a grid (bias: 1/64, mean: 1/1024)
            # that difference is exact, so a float64 comparison can be
            # tight: a random non-local net amplifies float32 rounding
            # (1e-6 after layer2 -> 2e-3 after layer3, measured).
            with torch.no_grad():
                m.W[0].bias.copy_(torch.round(m.W[0].bias * 64) / 64)
                m.W[1].running_mean.copy_(
                    torch.round(m.W[1].running_mean * 1024) / 1024)
    return net.eval()


def save_pth_tar(net, path, arch):
    """What the original main.py saves: a DataParallel model's state dict
    (``module.`` keys) in its training-state dict, in the pre-1.6 file
    format (not zip) of the PyTorch the authors used (1.0-1.2, 2019)."""
    state = {f'module.{k}': v for k, v in net.state_dict().items()}
    first = next(iter(net.parameters()))
    torch.save({'epoch': 50, 'arch': arch, 'state_dict': state,
                'optimizer': {'state': {0: {'momentum_buffer':
                                            torch.zeros_like(first)}},
                              'param_groups': [{'lr': 0.02, 'params': [0],
                                                'name': 'first_conv_weight'}]},
                'best_prec1': np.float64(71.2)}, path,
               _use_new_zipfile_serialization=False)
    return str(path)
