# The original TSM repository's TSM ResNet-101, 8 frames, Something-Something V2
# (TSM_somethingv2_RGB_resnet101_shift8_blockres_avg_segment8_e45.pth), after
# `python -m tsm_plugin.convert tsm <that file> OUT.pth`. Every other block is
# shifted (layer3 has 23 blocks), as in the original code.
# Test as the authors' accurate setting (see the R50 8-frame config).
_base_ = '../tsm/tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(average_clips='score'))
