# The original TSM repository's TSM ResNet-50 with non-local blocks, 8 frames,
# Kinetics-400, dense sampling
# (TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_dense_nl.pth),
# after `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Its non-local blocks (ops/non_local.py) follow blocks 0 and 2 of layer2 and
# 0, 2, 4 of layer3: embedded gaussian without the 1/sqrt(C) scale, g and phi
# max-pooled 2x2 in space. (Their output conv's bias lives in the BatchNorm's
# running mean after conversion: tsm_plugin/convert/tsm_original.py.)
# Test as the dense config this one inherits (non-local protocol, 30 views).
_base_ = './tsm-original_r50_dense-1x1x8_kinetics400-rgb.py'

model = dict(
    backbone=dict(
        non_local=((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)),
        non_local_cfg=dict(
            mode='embedded_gaussian',
            use_scale=False,
            sub_sample=True,
            norm_cfg=dict(type='BN3d', requires_grad=True))))
