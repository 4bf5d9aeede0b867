# TSM on a small non-ResNet backbone, through tsm_plugin.TSMBackbone: MMAction2's
# own MobileNetV2 (widen_factor 0.5), a shift in front of the first conv of each
# inverted residual with a skip (found by the block rule), trained from scratch
# on the demo data. Core install only. The data and recipe of the R18 demos,
# but 12 epochs: it learns late (seed 0: val top-1 50, 50, 54, 50% in 4 epochs;
# at best 65% in 8 (test 58%); 79% by epoch 11 of 12, test 80%).
# See _base_demo.py and tsn_mobilenetv2_demo.py (the same network without the
# shift); figures in docs/backbones.md.
_base_ = ['./_base_demo.py']

model = dict(
    backbone=dict(
        _delete_=True,  # the base's ResNetTSM arguments
        type='tsm_plugin.TSMBackbone',
        backbone=dict(type='MobileNetV2', widen_factor=0.5),  # random init
        num_segments={{_base_.num_segments}},
        shift_div=8,
        is_shift=True),
    cls_head=dict(in_channels=1280))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
