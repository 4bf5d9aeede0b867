# TAdaConvNeXt-T, 16 frames (1x1x16, one per segment), Something-Something
# V2, ImageNet-1k pretrained: the Kinetics-400 config's model (mmpretrain's
# ConvNeXt-T, 18 depthwise TAdaConv2d, LN(y) + LN'(AvgPool_t(y)); see there)
# with 174 classes. Recipe: the same authors' TAdaConvNeXtV2-T SSV2 recipe
# (TAdaConv repo at af7519e, configs/projects/tadaconvnextv2/
# tadaconvnextv2_tiny_ssv2_16f.yaml), from ImageNet-1k (INIT: in1k there):
# AdamW lr 5e-4, weight decay 0.02, 64 epochs, 2.5 warm-up epochs from 1e-6,
# cosine; drop path 0.3, head dropout 0.5; random resized crop 224 + the flip
# that swaps the left/right classes; test 2 samplings x 3 crops of 256. Not
# reproduced: RandAugment, colour/grayscale jitter, the temporally strided
# stem. Needs the zoo extra (mmpretrain): pip install -e '.[zoo]'. See
# docs/tadaconv_backbones.md.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

num_segments = 16
convnext_tiny_in1k = ('https://download.openmmlab.com/mmclassification/v0/'
                      'convnext/convnext-tiny_32xb128_in1k_20221207-998cf3e9'
                      '.pth')
model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        _delete_=True,
        type='tsm_plugin.TAdaBackbone',
        backbone=dict(
            type='mmpretrain.ConvNeXt',
            arch='tiny',
            drop_path_rate=0.3,
            init_cfg=dict(type='Pretrained', checkpoint=convnext_tiny_in1k,
                          prefix='backbone.')),
        num_segments=num_segments,
        calibration_reduction=4,
        calibration_kernels=(3, 3),
        pool_kernel=3),
    cls_head=dict(
        type='tsm_plugin.TSMHead',
        num_classes=174,
        in_channels=768,
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
    dict(type='RandomResizedCrop', area_range=(0.08, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
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
warmup_epochs = 2.5
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
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / base_lr, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=4, max_keep_ckpts=3))
auto_scale_lr = dict(enable=False, base_batch_size=128)
