"""A TAdaConvNeXt-T config's model trains a step under bfloat16 autocast
(what ``--amp`` does on a GPU): inside each ConvNeXt block the depthwise
TAdaConv2d reads the float32 residual stream while the rest runs in
bfloat16 (the case that crashed in backward). Needs the zoo extra."""
import pytest
import torch
from cfg_helpers import CONFIG_DIR, build_model, data_samples, load

from tsm_plugin.ops import TAdaConv2d

pytestmark = pytest.mark.zoo

CONFIG = CONFIG_DIR / 'tada' / \
    'tadaconvnext-t_imagenet-pretrained_8xb16-1x1x16-64e_sthv2-rgb.py'
T = 4


def test_tadaconvnext_trains_a_step_under_autocast():
    torch.set_num_threads(1)
    cfg = load(CONFIG)
    cfg.model.cls_head.num_segments = T
    torch.manual_seed(0)
    model = build_model(cfg.model, num_segments=T)
    depthwise_inputs = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('gamma'):  # layer scales 1e-6 fresh: identity
                p.fill_(1.0)
            if 'calibration.temporal_conv2' in name:  # off identity
                p.normal_(0, 0.1)
    for m in model.modules():
        if isinstance(m, TAdaConv2d):
            m.register_forward_pre_hook(
                lambda m, args: depthwise_inputs.append(args[0].dtype))
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(torch.randn(2, T, 3, 32, 32),
                       data_samples(2, 1, T, label=1), mode='loss')
    losses['loss_cls'].backward()
    assert torch.float32 in depthwise_inputs  # the residual stream
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all()
               for g in grads.values())
    assert all(grads[n].abs().sum() > 0 for n in grads
               if 'calibration.temporal_conv2' in n)
    optimizer.step()
    moved = [not torch.equal(p, before[n])
             for n, p in model.named_parameters()
             if n.endswith('depthwise_conv.weight')]
    assert len(moved) == 18 and all(moved)
