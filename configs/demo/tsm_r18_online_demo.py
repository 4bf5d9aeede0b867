# Online TSM on the demo data: ResNet-18 with the uni-directional shift (1/8 of
# the channels from the previous frame only, inside each residual branch), so
# the trained checkpoint streams frame by frame:
#   python -m tsm_plugin.online configs/demo/tsm_r18_online_demo.py CKPT VIDEO
# See _base_demo.py for the data and the recipe.
#
# 8 frames of 56 px and 6 epochs, as the online demo's figures were measured
# (docs/streaming.md, docs/deploy_int8.md); the offline demos train on 4 frames
# of 32 px for 4 epochs (_base_demo.py). 8 frames of a 16-frame clip lie 2
# apart, as the frames the streaming demo reads with --frame-step 2.
_base_ = ['./_base_demo.py']

num_segments = 8
crop_size = 56

model = dict(
    backbone=dict(is_shift=True, shift_mode='unidirectional',
                  num_segments=num_segments),
    cls_head=dict(num_segments=num_segments))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='RandomCrop', size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = val_pipeline  # read by MMAction2's inference API
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
