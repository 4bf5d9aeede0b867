# TSM R50, 16 frames (1x1x16), Kinetics-400: the 1x1x8 config with 16 segments
# per video. Unlike MMAction2's bundled config of this name, the val pipeline's
# DecordDecode gets no file-client arguments (its TypeError).
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

model = dict(backbone=dict(num_segments=16), cls_head=dict(num_segments=16))

# The base's three pipelines, sampling 16 frames.
train_pipeline, val_pipeline, test_pipeline = (
    [dict(step, num_clips=16) if 'num_clips' in step else step
     for step in pipeline] for pipeline in
    (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
