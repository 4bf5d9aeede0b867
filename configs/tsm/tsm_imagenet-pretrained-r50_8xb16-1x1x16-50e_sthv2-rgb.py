# TSM R50, 16 frames (1x1x16), Something-Something V2: the 1x1x8 config with 16
# segments per video. Unlike MMAction2's bundled config of this name, the test
# pipeline and test_mode sit inside test_dataloader.dataset, where the dataset
# reads them.
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py']

model = dict(backbone=dict(num_segments=16), cls_head=dict(num_segments=16))

# The base's three pipelines, sampling 16 frames.
train_pipeline, val_pipeline, test_pipeline = (
    [dict(step, num_clips=16) if 'num_clips' in step else step
     for step in pipeline] for pipeline in
    (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, test_mode=True))
