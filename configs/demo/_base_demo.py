# Shared by tsm_r18_demo.py and tsn_r18_demo.py, which differ only in
# model.backbone.is_shift. Data: `python -m tsm_plugin.demo.make_data OUT`
# (two classes that differ only in the direction of time).
#
# Other data: mmengine substitutes `data_root` into the three dataloaders below
# when it loads this file, so `data_root = OUT` in a child config changes
# nothing by itself. Set it where the datasets read it, on the command line of
# the stock tools or of `python -m tsm_plugin.demo.run`:
#   --cfg-options train_dataloader.dataset.data_root=OUT \
#       val_dataloader.dataset.data_root=OUT test_dataloader.dataset.data_root=OUT
# or in a child config:
#   data_root = 'OUT'
#   train_dataloader = dict(dataset=dict(data_root=data_root))
#   val_dataloader = dict(dataset=dict(data_root=data_root))
#   test_dataloader = dict(dataset=dict(data_root=data_root))
# (`num_segments` and `crop_size` likewise: override the model and pipelines.)
# Self-contained on purpose: no `mmaction::` base, whose lookup needs
# pkg_resources before custom_imports can repair it (setuptools >= 81 has none).
custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)
default_scope = 'mmaction'

data_root = 'work_dirs/demo/data'
# 4 frames of 32 px: a sixth of the FLOPs of the 8 frames of 56 px of earlier
# versions, and learnt sooner (the frames lie 4 apart in a 16-frame clip: each
# shift sees a longer move); see the figures at max_epochs below.
num_segments = 4  # frames sampled per video, one per segment
crop_size = 32

model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        type='tsm_plugin.ResNetTSM',
        depth=18,
        pretrained=None,  # random init: nothing is downloaded
        num_segments=num_segments,
        is_shift=True,
        shift_div=8),
    cls_head=dict(
        type='tsm_plugin.TSMHead',
        num_classes=2,
        in_channels=512,
        num_segments=num_segments,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.5,
        init_std=0.001,
        average_clips='prob',
        topk=(1, )),  # two classes: the training log's top-5 would be 1.0
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'))

# No horizontal flip: mirroring a video swaps "pan right" and "pan left".
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='RandomCrop', size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1,
         num_clips=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 36)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# What MMAction2's inference_recognizer reads (and test_dataloader uses).
test_pipeline = val_pipeline

# ann_file and data_prefix are relative: the dataset joins them to data_root.
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='VideoDataset',
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(video=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoDataset',
        data_root=data_root,
        ann_file='val.txt',
        data_prefix=dict(video=''),
        pipeline=val_pipeline,
        test_mode=True))
# Test on clips never seen while picking the best epoch on val.
test_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VideoDataset',
        data_root=data_root,
        ann_file='test.txt',
        data_prefix=dict(video=''),
        pipeline=test_pipeline,
        test_mode=True))

# two classes: top-5 would always be 1.0
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', ),
    metric_options=dict(top_k_accuracy=dict(topk=(1, ))))
test_evaluator = val_evaluator

# Trained from scratch, TSM learns the direction in its first 1-3 epochs
# (seeds 0 / 1 / 2, val top-1 by epoch: 90 / 93 / 67%, 84 / 97 / 93%,
# 99 / 98 / 97%, 99 / 99 / 97%; test 95 / 100 / 99%), TAda2D in 2-3 (55 / 53 /
# 50%, 86 / 69 / 94%, 98 / 97 / 90%, 98 / 98 / 93%; test 95 / 100 / 96%), TSN
# not (seed 0: 52, 51, 51, 50%; test 53%); `python -m tsm_plugin.demo.run
# --seed K` on one thread, 2026-12-07. AdamW with a short warm-up; SGD at
# lr 0.05 (as in the ImageNet-pretrained recipe) stayed at chance for 3 epochs.
max_epochs = 4
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
    clip_grad=dict(max_norm=20, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=5, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1,
        save_best='acc/top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_processor = dict(type='LogProcessor', window_size=5, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
