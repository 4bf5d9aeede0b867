# The official TAda2D-R50, Something-Something V2, 16 segments (TAdaConv
# repo, configs/projects/tada/ssv2/tada2d_16f.yaml); otherwise as
# tada2d-r50_official_sthv2-1x1x8.py. Reported top-1: 65.6.
_base_ = './tada2d-r50_official_sthv2-1x1x8.py'

num_segments = 16
model = dict(backbone=dict(num_segments=num_segments),
             cls_head=dict(num_segments=num_segments))
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, twice_sample=True, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# the same frames for training and validation
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(224, 340)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5,
         flip_label_map={{_base_.sthv2_flip_label_map}}),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
