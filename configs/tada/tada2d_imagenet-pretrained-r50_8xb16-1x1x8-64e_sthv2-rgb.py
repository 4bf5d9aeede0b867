# TAda2D R50, 8 frames (1x1x8, one per segment), Something-Something V2,
# ImageNet-pretrained. Data sets, loaders and runtime: MMAction2's bundled TSM
# SthV2 config. Model and recipe: the official TAda2D SSV2 8f (TAdaConv repo,
# configs/projects/tada/tada2d_ssv2.yaml): SGD with Nesterov momentum 0.9,
# lr 0.48, weight decay 1e-4 (none on norm layers), 64 epochs, 4 warm-up
# epochs from lr 1e-4, cosine; scale jitter [224, 340] + 224 crop + flip that
# swaps the left/right classes; test 2 samplings x 3 crops of 256. Here for a
# batch of 128 (8 GPUs x 16); with another batch, scale lr linearly
# (`--auto-scale-lr`). Reported top-1: 64.0.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

num_segments = 8
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
        num_classes=174,
        num_segments=num_segments,
        is_shift=False,
        dropout_ratio=0.5,
        average_clips='prob'))

file_client_args = dict(io_backend='disk')
pack_meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'num_clips',
                  'clip_len')
# "pushing/pulling/moving something from left to right" <-> "right to left"
sthv2_flip_label_map = {86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='RandomRescale', scale_range=(224, 340)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5, flip_label_map=sthv2_flip_label_map),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, twice_sample=True, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='ThreeCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=pack_meta_keys)
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 64
warmup_epochs = 4
base_lr = 0.48
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, nesterov=True,
                   weight_decay=1e-4),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4 / base_lr, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=128)
