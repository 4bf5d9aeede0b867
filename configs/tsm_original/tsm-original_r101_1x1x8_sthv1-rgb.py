# The original TSM repository's TSM ResNet-101, 8 frames, Something-Something V1
# (TSM_something_RGB_resnet101_shift8_blockres_avg_segment8_e45.pth), after
# `python -m tsm_plugin.convert tsm <that file> OUT.pth`. Every other block is
# shifted (layer3 has 23 blocks). Data and test as the R50 8-frame config.
_base_ = './tsm-original_r50_1x1x8_sthv1-rgb.py'

model = dict(backbone=dict(depth=101))
