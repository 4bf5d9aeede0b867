"""The official TAdaConv repository's networks, written for the tests from
their published description, on the official key names and tensor shapes.

Read from alibaba-mmai-research/TAdaConv at 75b7839 (not copied; the
plugin's own code is not used here):

- TAda2D-R50: ``configs/pool/backbone/tada2d.yaml``, ``models/base/
  backbone.py`` (``ResNet3D``: ``conv1`` = ``Base2DStem``, ``conv2-5`` =
  ``Base3DResStage`` of ``res_i`` = ``Base3DBlock``), ``models/module_zoo/
  branches/tada_branch.py`` (``TAda2DBlock``), ``models/module_zoo/ops/
  tadaconv.py`` (``TAdaConv2d`` cal_dim 'cin', ``RouteFuncMLP``);
- TAdaConvNeXtV2: ``models/base/backbone.py`` (``ConvNeXt``),
  ``models/module_zoo/branches/tadaconvnextv2.py``, ``models/module_zoo/
  ops/tadaconv_v2.py`` (``TAdaConv2dV2`` cal_dim 'cout' with bias
  calibration, ``RouteFuncwTransformer``), ``ops/misc.py`` (channels-first
  ``LayerNorm``, ``QuickGELU``);
- both under ``BaseVideoModel`` (``backbone.``, ``head.``) with
  ``BaseHead`` (global average, dropout, ``out`` linear).

Each TAdaConv builds its per-frame weights explicitly and runs one grouped
conv with ``B*T`` groups, as the official code does. Every function takes
``(B, C, T, H, W)`` clips and returns the head's logits (before softmax).
"""
import json

import torch
import torch.nn.functional as F

V2_ARCHS = {'tiny': ((3, 3, 9, 3), (96, 192, 384, 768), 48),
            'small': ((3, 3, 27, 3), (96, 192, 384, 768), 48),
            'base': ((3, 3, 27, 3), (128, 256, 512, 1024), 64)}


# --- synthetic checkpoints in the official layout ---------------------------

def _bn(state, prefix, channels):
    state[prefix + 'weight'] = torch.rand(channels) + 0.5
    state[prefix + 'bias'] = torch.randn(channels) * 0.1
    state[prefix + 'running_mean'] = torch.randn(channels) * 0.1
    state[prefix + 'running_var'] = torch.rand(channels) + 0.5
    state[prefix + 'num_batches_tracked'] = torch.tensor(1000)


def _w(*shape, fan_in=None, scale=1.0):
    fan_in = fan_in or (shape[1] if len(shape) > 1 else 1)
    return torch.randn(*shape) * scale / fan_in ** 0.5


def official_tada2d_state(num_classes=400, blocks=(3, 4, 6, 3)):
    """``model_state`` of the official TAda2D-R50, random values."""
    s = {}
    s['backbone.conv1.a.weight'] = _w(64, 3, 1, 7, 7, fan_in=3 * 49)
    _bn(s, 'backbone.conv1.a_bn.', 64)
    dim_in = 64
    for stage, n in enumerate(blocks, 2):
        inner = 64 * 2 ** (stage - 2)
        out = 4 * inner
        for i in range(1, n + 1):
            p = f'backbone.conv{stage}.res_{i}.'
            if i == 1:
                s[p + 'short_cut.weight'] = _w(out, dim_in, 1, 1, 1)
                _bn(s, p + 'short_cut_bn.', out)
            b = p + 'conv_branch.'
            s[b + 'a.weight'] = _w(inner, dim_in, 1, 1, 1)
            _bn(s, b + 'a_bn.', inner)
            s[b + 'b.weight'] = _w(1, 1, inner, inner, 3, 3,
                                   fan_in=inner * 9)
            s[b + 'b_rf.g.weight'] = _w(inner, inner, 1, 1, 1)
            s[b + 'b_rf.g.bias'] = torch.randn(inner) * 0.1
            s[b + 'b_rf.a.weight'] = _w(inner // 4, inner, 3, 1, 1,
                                        fan_in=3 * inner)
            s[b + 'b_rf.a.bias'] = torch.randn(inner // 4) * 0.1
            _bn(s, b + 'b_rf.bn.', inner // 4)
            s[b + 'b_rf.b.weight'] = _w(inner, inner // 4, 3, 1, 1,
                                        fan_in=3 * inner // 4, scale=0.3)
            _bn(s, b + 'b_bn.', inner)
            _bn(s, b + 'b_avgpool_bn.', inner)
            s[b + 'c.weight'] = _w(out, inner, 1, 1, 1)
            _bn(s, b + 'c_bn.', out)
            dim_in = out
    s['head.out.weight'] = _w(num_classes, 2048)
    s['head.out.bias'] = torch.randn(num_classes) * 0.1
    return s


def _ln(state, prefix, channels):
    state[prefix + 'weight'] = 1 + torch.randn(channels) * 0.1
    state[prefix + 'bias'] = torch.randn(channels) * 0.1


def official_v2_state(arch='tiny', num_classes=400):
    """``model_state`` of the official TAdaConvNeXtV2, random values (layer
    scales near 1, calibrations and LN' active)."""
    depths, dims, _ = V2_ARCHS[arch]
    s = {}
    p = 'backbone.downsample_layers.'
    s[p + '0.0.weight'] = _w(dims[0], 3, 3, 4, 4, fan_in=3 * 48)
    s[p + '0.0.bias'] = torch.randn(dims[0]) * 0.1
    _ln(s, p + '0.1.', dims[0])
    for i in range(1, 4):
        _ln(s, f'{p}{i}.0.', dims[i - 1])
        s[f'{p}{i}.1.weight'] = _w(dims[i], dims[i - 1], 1, 2, 2,
                                   fan_in=4 * dims[i - 1])
        s[f'{p}{i}.1.bias'] = torch.randn(dims[i]) * 0.1
    for i, (n, c) in enumerate(zip(depths, dims)):
        h = c // 2
        for j in range(n):
            b = f'backbone.stages.{i}.{j}.'
            s[b + 'dwconv.weight'] = _w(1, 1, c, 1, 7, 7, fan_in=49)
            s[b + 'dwconv.bias'] = torch.randn(1, 1, c) * 0.1
            r = b + 'dwconv_rf.'
            s[r + 'a.weight'] = _w(h, c, 3, 1, 1, fan_in=3 * c)
            s[r + 'a.bias'] = torch.randn(h) * 0.1
            _ln(s, r + 'norm.', h)
            _ln(s, r + 'norm_transformer.', h)
            s[r + 'qkv_proj.weight'] = _w(3 * h, h, 1, 1, 1)
            s[r + 'qkv_proj.bias'] = torch.randn(3 * h) * 0.1
            s[r + 'attn_out.weight'] = _w(h, h, 1, 1, 1)
            s[r + 'attn_out.bias'] = torch.randn(h) * 0.1
            s[r + 'b.weight'] = _w(c, h, 3, 1, 1, fan_in=3 * h, scale=0.3)
            s[r + 'b_bias.weight'] = _w(c, h, 3, 1, 1, fan_in=3 * h,
                                        scale=0.3)
            _ln(s, b + 'norm.', c)
            _ln(s, b + 'norm_avgpool.', c)
            s[b + 'pwconv1.weight'] = _w(4 * c, c)
            s[b + 'pwconv1.bias'] = torch.randn(4 * c) * 0.1
            s[b + 'pwconv2.weight'] = _w(c, 4 * c)
            s[b + 'pwconv2.bias'] = torch.randn(c) * 0.1
            s[b + 'gamma'] = torch.rand(c) * 0.5 + 0.5
    _ln(s, 'backbone.norm.', dims[-1])
    s['head.out.weight'] = _w(num_classes, dims[-1])
    s['head.out.bias'] = torch.randn(num_classes) * 0.1
    return s


def official_checkpoint(state, cfg=None, epoch=99):
    """The dict ``save_checkpoint`` writes (tadaconv/utils/checkpoint.py):
    ``cfg`` is ``Config.dump()``, JSON text."""
    params = list(range(4))
    optimizer = {'state': {k: {'momentum_buffer': torch.randn(3)}
                           for k in params},
                 'param_groups': [{'lr': 0.0, 'momentum': 0.9,
                                   'weight_decay': 1e-4, 'params': params}]}
    return {'epoch': epoch, 'model_state': state,
            'optimizer_state': optimizer,
            'cfg': json.dumps(cfg if cfg is not None else {})}


# --- the networks ------------------------------------------------------------

def batch_norm(x, s, p):
    """BatchNorm3d in training mode (batch statistics over B, T, H, W)."""
    return F.batch_norm(x, None, None, s[p + 'weight'], s[p + 'bias'], True,
                        0., 1e-5)


def route_func_mlp(x, s, p):
    """``RouteFuncMLP``: ``b(relu(bn(a(avg_hw(x) + g(avg_thw(x)))))) + 1``."""
    g = F.conv3d(x.mean((2, 3, 4), keepdim=True), s[p + 'g.weight'],
                 s[p + 'g.bias'])
    h = F.conv3d(x.mean((3, 4), keepdim=True) + g, s[p + 'a.weight'],
                 s[p + 'a.bias'], padding=(1, 0, 0))
    h = torch.relu(batch_norm(h, s, p + 'bn.'))
    return F.conv3d(h, s[p + 'b.weight'], padding=(1, 0, 0)) + 1


def official_tada2d(s, clips, blocks=(3, 4, 6, 3)):
    """The official TAda2D-R50 (BN with batch statistics): logits."""
    x = F.conv3d(clips, s['backbone.conv1.a.weight'], stride=(1, 2, 2),
                 padding=(0, 3, 3))
    x = torch.relu(batch_norm(x, s, 'backbone.conv1.a_bn.'))
    for stage, n in enumerate(blocks, 2):
        for i in range(1, n + 1):
            p = f'backbone.conv{stage}.res_{i}.'
            b = p + 'conv_branch.'
            stride = 2 if i == 1 else 1  # DOWNSAMPLING: [true] * 5
            y = torch.relu(batch_norm(F.conv3d(x, s[b + 'a.weight']), s,
                                      b + 'a_bn.'))
            alpha = route_func_mlp(y, s, b + 'b_rf.')
            n_, c, t, h, w = y.shape
            weight = (alpha.permute(0, 2, 1, 3, 4).unsqueeze(2)
                      * s[b + 'b.weight']).reshape(-1, c, 3, 3)
            y = F.conv2d(y.permute(0, 2, 1, 3, 4).reshape(1, -1, h, w),
                         weight, None, stride, 1, 1, n_ * t)
            y = y.view(n_, t, -1, *y.shape[-2:]).permute(0, 2, 1, 3, 4)
            pooled = F.avg_pool3d(y, (3, 1, 1), 1, (1, 0, 0))
            y = torch.relu(batch_norm(y, s, b + 'b_bn.')
                           + batch_norm(pooled, s, b + 'b_avgpool_bn.'))
            y = batch_norm(F.conv3d(y, s[b + 'c.weight']), s, b + 'c_bn.')
            shortcut = x
            if p + 'short_cut.weight' in s:
                shortcut = batch_norm(F.conv3d(
                    x, s[p + 'short_cut.weight'], stride=(1, stride, stride)),
                    s, p + 'short_cut_bn.')
            x = torch.relu(shortcut + y)
    return F.linear(x.mean((2, 3, 4)), s['head.out.weight'],
                    s['head.out.bias'])


def layer_norm_channels_first(x, s, p):
    """``ops/misc.py LayerNorm(data_format='channels_first')``."""
    u = x.mean(1, keepdim=True)
    var = (x - u).pow(2).mean(1, keepdim=True)
    x = (x - u) / torch.sqrt(var + 1e-6)
    shape = (1, -1) + (1, ) * (x.dim() - 2)
    return s[p + 'weight'].view(shape) * x + s[p + 'bias'].view(shape)


def layer_norm_last(x, s, p):
    return F.layer_norm(x, x.shape[-1:], s[p + 'weight'], s[p + 'bias'],
                        1e-6)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def route_func_transformer(x, s, p, head_dim):
    """``RouteFuncwTransformer`` (zero_init_cal, bias calibration): the
    weight and bias calibrations, each ``(B, C, T, 1, 1)``."""
    h = F.conv3d(x.mean((3, 4), keepdim=True), s[p + 'a.weight'],
                 s[p + 'a.bias'], padding=(1, 0, 0))
    h = quick_gelu(layer_norm_channels_first(h, s, p + 'norm.'))
    y = layer_norm_channels_first(h, s, p + 'norm_transformer.')
    b, c, t = y.shape[:3]
    qkv = F.conv3d(y, s[p + 'qkv_proj.weight'], s[p + 'qkv_proj.bias'])
    qkv = qkv[:, :, :, 0, 0].view(b, 3, head_dim, c // head_dim, t)
    q, k, v = qkv.permute(1, 0, 3, 4, 2)
    attn = ((q @ k.transpose(-2, -1)) * c ** -0.5).softmax(-1)
    out = (attn @ v).transpose(-2, -1).reshape(b, c, t)[:, :, :, None, None]
    h = h + F.conv3d(out, s[p + 'attn_out.weight'], s[p + 'attn_out.bias'])
    return (F.conv3d(h, s[p + 'b.weight'], padding=(1, 0, 0)) + 1,
            F.conv3d(h, s[p + 'b_bias.weight'], padding=(1, 0, 0)) + 1)


def tadaconv2d_v2(x, w_alpha, b_alpha, weight, bias):
    """``TAdaConv2dV2`` cal_dim 'cout', depthwise 7x7: per-frame weights and
    biases, one grouped conv over all frames."""
    b, c, t, h, w = x.shape
    weights = (w_alpha.permute(0, 2, 1, 3, 4).unsqueeze(3)
               * weight).reshape(-1, 1, 7, 7)
    biases = (b_alpha.permute(0, 2, 1, 3, 4).reshape(b, t, c)
              * bias).reshape(-1)
    out = F.conv2d(x.permute(0, 2, 1, 3, 4).reshape(1, -1, h, w), weights,
                   biases, padding=3, groups=b * t * c)
    return out.view(b, t, c, h, w).permute(0, 2, 1, 3, 4)


def v2_block(x, s, p, head_dim):
    """``TAdaConvNeXtV2Block`` (eval: no drop path)."""
    w_alpha, b_alpha = route_func_transformer(x, s, p + 'dwconv_rf.',
                                              head_dim)
    y = tadaconv2d_v2(x, w_alpha, b_alpha, s[p + 'dwconv.weight'],
                      s[p + 'dwconv.bias'])
    pooled = F.avg_pool3d(y, (3, 1, 1), 1, (1, 0, 0))
    y = layer_norm_last(y.permute(0, 2, 3, 4, 1), s, p + 'norm.') \
        + layer_norm_last(pooled.permute(0, 2, 3, 4, 1), s,
                          p + 'norm_avgpool.')
    y = F.linear(quick_gelu(F.linear(y, s[p + 'pwconv1.weight'],
                                     s[p + 'pwconv1.bias'])),
                 s[p + 'pwconv2.weight'], s[p + 'pwconv2.bias'])
    return x + (s[p + 'gamma'] * y).permute(0, 4, 1, 2, 3)


def v2_stem(s, clips):
    """Stem: 3D conv (3, 4, 4) stride (2, 4, 4) padding (1, 0, 0), LN."""
    x = F.conv3d(clips, s['backbone.downsample_layers.0.0.weight'],
                 s['backbone.downsample_layers.0.0.bias'], (2, 4, 4),
                 (1, 0, 0))
    return layer_norm_channels_first(x, s, 'backbone.downsample_layers.0.1.')


def official_tadaconvnext_v2_features(s, clips, arch='tiny'):
    """The official ``ConvNeXt`` backbone: ``(B, C)`` features."""
    depths, _, head_dim = V2_ARCHS[arch]
    x = v2_stem(s, clips)
    for i, n in enumerate(depths):
        if i:
            p = f'backbone.downsample_layers.{i}.'
            x = layer_norm_channels_first(x, s, p + '0.')
            x = F.conv3d(x, s[p + '1.weight'], s[p + '1.bias'], (1, 2, 2))
        for j in range(n):
            x = v2_block(x, s, f'backbone.stages.{i}.{j}.', head_dim)
    return layer_norm_last(x.mean((2, 3, 4)), s, 'backbone.norm.')


def official_tadaconvnext_v2(s, clips, arch='tiny'):
    """The official TAdaConvNeXtV2: logits of ``BaseHead`` (eval)."""
    return F.linear(official_tadaconvnext_v2_features(s, clips, arch),
                    s['head.out.weight'], s['head.out.bias'])
