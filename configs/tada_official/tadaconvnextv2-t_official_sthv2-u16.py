# The official TAdaConvNeXtV2-T, Something-Something V2, 16 frames, one per
# segment (TAdaConv repo, configs/projects/tadaconvnextv2/
# tadaconvnextv2_tiny_ssv2_16f.yaml: SAMPLING_MODE segment_based), for the
# authors' checkpoint converted by `python -m tsm_plugin.convert tadaconv`.
# Test: 2 samplings (UniformSample, 2 views) x 3 crops of 256, short side
# 256, RGB, mean 0.45 / std 0.225 on 0-1 pixels (MODEL_ZOO.md "47x3x2").
# Reported top-1: 67.2 (32 frames: 69.8). Optimiser and schedule (their
# AdamW recipe) from the base, the plugin's TAdaConvNeXt-T SSV2 config (its
# mmpretrain model replaced here).
_base_ = '../tada/tadaconvnext-t_imagenet-pretrained_8xb16-1x1x16-64e_sthv2-rgb.py'  # noqa: E501

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

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='UniformSample', clip_len=clip_len, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5,
         flip_label_map={{_base_.sthv2_flip_label_map}}),
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

label_file = 'configs/class_names/sthv2.txt'
