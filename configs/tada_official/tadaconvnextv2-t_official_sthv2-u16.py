# The official TAdaConvNeXtV2-T, Something-Something V2, 16 frames, one per
# segment (TAdaConv repo, configs/projects/tadaconvnextv2/
# tadaconvnextv2_tiny_ssv2_16f.yaml: SAMPLING_MODE segment_based), for the
# authors' checkpoint converted by `python -m tsm_plugin.convert tadaconv`.
# Test: 2 samplings (UniformSample, 2 views) x 3 crops of 256, short side
# 256, RGB, mean 0.45 / std 0.225 on 0-1 pixels (MODEL_ZOO.md "47x3x2").
# Reported top-1: 67.2 (32 frames: 69.8).
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

clip_len = 16
model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(type='tsm_plugin.TAdaConvNeXtV2', arch='tiny',
                  drop_path_rate=0.3, pretrained=None),
    cls_head=dict(type='I3DHead', num_classes=174, in_channels=768,
                  spatial_type='avg', dropout_ratio=0.5, init_std=0.02,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           mean=[114.75, 114.75, 114.75],
                           std=[57.375, 57.375, 57.375],
                           format_shape='NCTHW'))

# "pushing/pulling/moving something from left to right" <-> "right to left"
sthv2_flip_label_map = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv2_flip_label_map),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=2,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 64
base_lr = 5e-4
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=base_lr, betas=(0.9, 0.999),
                   weight_decay=0.02),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'cls_head': dict(lr_mult=10),
            '.calibration.': dict(lr_mult=10),
            '.pool_norm.': dict(lr_mult=10, decay_mult=0.0),
        }))
param_scheduler = [  # 2.5 warm-up epochs from 1e-6, then cosine
    dict(type='LinearLR', start_factor=1e-6 / base_lr, by_epoch=True,
         begin=0, end=2.5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2.5, eta_min=0,
         by_epoch=True, begin=2.5, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=512)
label_file = 'configs/tada_official/labels/sthv2.txt'
