# The official TAda2D-R50, Kinetics-400, 16 frames 5 apart (TAdaConv repo,
# configs/projects/tada/k400/tada2d_16x5.yaml); otherwise as
# tada2d-r50_official_k400-8x8x1.py. Reported top-1: 77.4.
_base_ = './tada2d-r50_official_k400-8x8x1.py'

num_segments = 16
model = dict(backbone=dict(num_segments=num_segments),
             cls_head=dict(num_segments=num_segments))
test_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=5,
         num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# the same frames for training and validation
train_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=5,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(224, 340)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', io_backend='disk'),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=5,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
