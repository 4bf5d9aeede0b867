# TAda2D: the same ResNet-18, the first 3x3 conv of every block made
# temporally adaptive (TAdaConv2d + temporal aggregation), trained from scratch
# on the demo data. See _base_demo.py.
# Not in `make demo`'s default set: it has not beaten TSN (see README).
# - identity_init=False: from scratch, at TAda's identity start (calibration 1,
#   BN' 0) neither part alone can tell frame orders apart.
# - 32 px crops and 8 epochs: more steps, at a third of the pixels, to stay
#   within the demo's time.
_base_ = ['./_base_demo.py']

crop_size = 32
max_epochs = 8

model = dict(
    backbone=dict(
        _delete_=True,
        type='tsm_plugin.ResNetTAda',
        depth=18,
        pretrained=None,  # random init: nothing is downloaded
        num_segments={{_base_.num_segments}},
        identity_init=False))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips={{_base_.num_segments}}),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='RandomCrop', size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips={{_base_.num_segments}}, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = val_pipeline  # read by MMAction2's inference API
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
