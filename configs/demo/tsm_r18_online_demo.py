# Online TSM on the demo data: ResNet-18 with the uni-directional shift (1/8 of
# the channels from the previous frame only, inside each residual branch), so
# the trained checkpoint streams frame by frame:
#   python -m tsm_plugin.online configs/demo/tsm_r18_online_demo.py CKPT VIDEO
# See _base_demo.py for the data and the recipe.
_base_ = ['./_base_demo.py']

model = dict(backbone=dict(is_shift=True, shift_mode='unidirectional'))

# 6 epochs, as the online demo's figures were measured (docs/streaming.md,
# docs/deploy_int8.md); the offline demos train 4 (_base_demo.py).
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
