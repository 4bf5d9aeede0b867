# TSM R101, 8 frames (1x1x8), Something-Something V2. For depth 101 the shift
# goes into every other residual block, as in MMAction2's R101 TSM.
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py']

model = dict(
    backbone=dict(depth=101, pretrained='torchvision://resnet101'))
