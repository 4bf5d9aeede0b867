# TSM R50 1x1x8 on Kinetics-400 with dense sampling: 8 frames evenly spaced in a
# 64-frame window (random in training, 10 windows at test) instead of one frame
# per eighth of the video.
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

# The base's pipelines with DenseSampleFrames (same arguments).
train_pipeline = [
    dict(step, type='DenseSampleFrames') if step.type == 'SampleFrames' else step
    for step in _base_.train_pipeline
]
val_pipeline = [
    dict(step, type='DenseSampleFrames') if step.type == 'SampleFrames' else step
    for step in _base_.val_pipeline
]
test_pipeline = [
    dict(step, type='DenseSampleFrames') if step.type == 'SampleFrames' else step
    for step in _base_.test_pipeline
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
