"""Activation memory kept for backward: the shift adds none.

Counted exactly: the unique storages autograd saves during one training
forward (``saved_tensors_hooks``), parameters skipped. The ratio to TSN hardly
depends on the resolution (R50, 8 segments, plain shift: 1.254 at 32 px, 1.260
at 112, 1.262 at 224), so a small input shows it.
"""
import pytest
import torch
from mmaction.models import ResNetTSM as MMAction2ResNetTSM

from tsm_plugin.models.backbones.resnet_tsm import ResNetTSM
from tsm_plugin.tools.saved_memory import saved_activation_bytes


pytestmark = pytest.mark.usefixtures('one_thread')  # conftest.py


@pytest.mark.parametrize('mode', ['bidirectional', 'unidirectional'])
def test_r50_blockres_keeps_no_extra_activation(mode):
    x = torch.randn(8, 3, 32, 32)
    tsn = saved_activation_bytes(ResNetTSM(50, is_shift=False), x)
    lean = saved_activation_bytes(ResNetTSM(50, shift_mode=mode), x)
    assert lean / tsn <= 1.01
    # What the lean path avoids: a shifted copy saved in front of each conv1,
    # as the plain path and MMAction2's built-in do.
    plain = saved_activation_bytes(
        ResNetTSM(50, shift_mode=mode, lean_shift=False), x)
    assert plain / tsn > 1.2
    if mode == 'bidirectional':
        builtin = saved_activation_bytes(
            MMAction2ResNetTSM(50, num_segments=8, pretrained2d=False), x)
        assert builtin / tsn > 1.2
