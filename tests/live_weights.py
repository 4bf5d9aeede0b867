"""Random weights that keep the signal alive through every layer.

Equivalence tests are only as good as their inputs: with BatchNorm statistics
drawn at random, each BN shrinks the signal and the output hardly depends on
the input at all, so two models that differ in their forward pass still agree.
``wake`` gives every conv and linear layer fan-in scaled weights, every norm a
random affine map (non-zero: MMAction2 zero-inits the last BN of each residual
branch and of each non-local block, which would hide them), and sets each BN's
running statistics to those of the activations it sees on a calibration batch,
so that every layer passes on an O(1) signal in eval mode.

Imported by tests anywhere under ``tests/`` (pytest puts ``tests/`` on the path).
"""
import torch
from mmcv.cnn import NonLocal3d
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd


def wake(model, *inputs):
    """Randomise ``model`` and match its BN statistics to ``model(*inputs)``
    (no inputs: randomise only; for a model without BN)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (_ConvNd, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, (2 / fan_in)**0.5)
                if m.bias is not None:
                    m.bias.normal_(0, 0.1)
            elif isinstance(m, _BatchNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.reset_running_stats()
                m.momentum = None  # one batch: running stats = batch stats
        for m in model.modules():
            if isinstance(m, NonLocal3d) and m.mode != 'gaussian':
                # attention logits sum inter_channels products: keep them O(1),
                # as a saturated softmax turns float rounding into O(1) changes
                for part in m.theta, m.phi:
                    for conv in part.modules():
                        if isinstance(conv, _ConvNd):
                            conv.weight.mul_(m.inter_channels**-0.25 / 2)
        model.train()
        if inputs:
            model(*inputs)
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.momentum = 0.1
        model.train(False)
    return model


def spread(a, b):
    """Largest absolute difference between two outputs."""
    return (a - b).abs().max().item()
