"""Activation memory kept for backward: the shift adds none.

Counted exactly: the unique storages autograd saves during one training
forward (``saved_tensors_hooks``), parameters (and under autocast their
casts) skipped; in float32 and under ``torch.autocast('cpu', bfloat16)``. The ratio to TSN hardly
depends on the resolution (R50, 8 segments, plain shift: 1.254 at 32 px, 1.260
at 112, 1.262 at 224), so a small input shows it.
"""
import contextlib

import pytest
import torch
from mmaction.models import MobileNetV2TSM as MMAction2MobileNetV2TSM
from mmaction.models import ResNetTSM as MMAction2ResNetTSM
from mmaction.registry import MODELS

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.tools.saved_memory import saved_activation_bytes


pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py


def precision(name):
    if name == 'bfloat16-autocast':
        return torch.autocast('cpu', dtype=torch.bfloat16)
    return contextlib.nullcontext()


@pytest.mark.parametrize('mode,prec', [
    ('bidirectional', 'float32'), ('unidirectional', 'float32'),
    ('bidirectional', 'bfloat16-autocast'),  # bfloat16 is slow on CPUs
])
def test_r50_blockres_keeps_no_extra_activation(mode, prec):
    x = torch.randn(8, 3, 32, 32)
    with precision(prec):
        tsn = saved_activation_bytes(ResNetTSM(50, is_shift=False), x)
        lean = saved_activation_bytes(ResNetTSM(50, shift_mode=mode), x)
        # What the lean path avoids: a shifted copy saved in front of each
        # conv1, as the plain path and MMAction2's built-in do.
        plain = saved_activation_bytes(
            ResNetTSM(50, shift_mode=mode, lean_shift=False), x)
        builtin = saved_activation_bytes(
            MMAction2ResNetTSM(50, num_segments=8, pretrained2d=False), x) \
            if mode == 'bidirectional' else plain
    assert lean / tsn <= 1.01
    assert plain / tsn > 1.2
    assert builtin / tsn > 1.2
    if prec != 'float32':  # autocast was on: about half float32's bytes
        assert 0.45 < tsn / saved_activation_bytes(
            ResNetTSM(50, is_shift=False), x) < 0.55


def mobilenet_v2(kind, **kwargs):
    if kind == 'TSMBackbone':
        cfg = dict(type='tsm_plugin.TSMBackbone',
                   backbone=dict(type='MobileNetV2'), **kwargs)
    else:
        cfg = dict(type='tsm_plugin.MobileNetV2TSM', **kwargs)
    return MODELS.build(dict(cfg, num_segments=8))


def test_mobilenet_v2_keeps_no_extra_activation(prec='bfloat16-autocast'):
    # In MobileNetV2 the shifted conv's input (a block's sum, no ReLU) is
    # kept by nothing else: a shifted copy kept instead costs nothing extra,
    # so MMAction2's built-in keeps TSN's bytes as well.
    x = torch.randn(8, 3, 32, 32)
    with precision(prec):
        tsn = saved_activation_bytes(
            mobilenet_v2('TSMBackbone', is_shift=False), x)
        ratios = [saved_activation_bytes(model, x) / tsn for model in (
            mobilenet_v2('TSMBackbone'), mobilenet_v2('MobileNetV2TSM'),
            mobilenet_v2('TSMBackbone', lean_shift=False),
            MMAction2MobileNetV2TSM(num_segments=8, pretrained2d=False))]
    assert all(ratio <= 1.01 for ratio in ratios), ratios
