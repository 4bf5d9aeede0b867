# The official TAdaConvNeXtV2-T, Kinetics-400, 16 frames 5 apart, for the
# authors' checkpoint converted by `python -m tsm_plugin.convert tadaconv`
# (docs/converted_tadaconv.md). Network: tsm_plugin.TAdaConvNeXtV2 (the
# official one: 3D stem halving the frames, TAdaConv V2 depthwise convs,
# final norm after the global average) on (N, 3, T, H, W) clips, so
# MMAction2's Recognizer3D and I3DHead (dropout 0.5, linear). Test as the
# authors (TAdaConv repo, configs/projects/tadaconvnextv2/
# tadaconvnextv2_tiny_k400_16f.yaml, configs/pool/run/training/
# from_scratch_large.yaml, MODEL_ZOO.md "47x3x4"): RGB, 0-1 pixels with mean
# 0.45 and std 0.225 (here on 0-255: 114.75, 57.375), short side 256,
# 4 clips x 3 crops of 256. Reported top-1: 79.6 (32 frames: 80.8).
# Training from ImageNet: backbone.pretrained = a local 2D ConvNeXt-T file
# (the official recipe starts from convnext_tiny_1k_224_ema.pth); the
# optimiser and schedule are their AdamW recipe, which the base (the
# plugin's TAdaConvNeXt-T config; its mmpretrain model is replaced here)
# already holds.
_base_ = '../tada/tadaconvnext-t_imagenet-pretrained_8xb16-16x5x1-100e_kinetics400-rgb.py'  # noqa: E501

clip_len = 16
frame_interval = 5
model = dict(
    _delete_=True,
    type='Recognizer3D',
    backbone=dict(type='tsm_plugin.TAdaConvNeXtV2', arch='tiny',
                  drop_path_rate=0.2, pretrained=None),
    cls_head=dict(type='I3DHead', num_classes=400, in_channels=768,
                  spatial_type='avg', dropout_ratio=0.5, init_std=0.02,
                  average_clips='prob'),
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           mean=[114.75, 114.75, 114.75],
                           std=[57.375, 57.375, 57.375],
                           format_shape='NCTHW'))

train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=4, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

label_file = 'configs/class_names/kinetics400.txt'
