# TAda2D R50, 8 frames 8 apart (8x8x1), Kinetics-400, ImageNet-pretrained.
# Data sets, loaders and runtime: MMAction2's bundled TSM K400 config. Model
# and recipe: the official TAda2D 8x8 (TAdaConv repo, configs/projects/tada/
# tada2d_k400.yaml): batch 128 (8 GPUs x 16), SGD with Nesterov momentum 0.9,
# lr 0.24, weight decay 1e-4 (none on norm layers), 100 epochs, 8 warm-up
# epochs from lr 0.01, cosine; scale jitter [224, 340] + 224 crop + flip;
# test 10 clips x 3 crops of 256. Reported top-1: 76.7.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

num_segments = 8  # frames per clip: clip_len below
# `_base_` model dicts carry `_scope_='mmaction'`: name plugin types with scope.
model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        _delete_=True,
        type='tsm_plugin.ResNetTAda',
        depth=50,
        # the official TAda2D-R50: stem without max-pool, layer1.0 strided,
        # the official generator init (see docs/tadaconv_backbones.md)
        layout='official',
        pretrained='torchvision://resnet50',  # from the local torch hub cache
        num_segments=num_segments),
    cls_head=dict(
        type='tsm_plugin.TSMHead',
        num_segments=num_segments,
        is_shift=False,
        dropout_ratio=0.5,
        average_clips='prob'))

file_client_args = dict(io_backend='disk')
pack_meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips',
                  'clip_len')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=8,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(224, 340)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=8,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=num_segments, frame_interval=8,
         num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 100
warmup_epochs = 8
base_lr = 0.24
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01 / base_lr, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=5, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=128)
