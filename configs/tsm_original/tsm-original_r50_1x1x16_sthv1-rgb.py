# The original TSM repository's TSM ResNet-50, 16 frames, Something-Something V1
# (TSM_something_RGB_resnet50_shift8_blockres_avg_segment16_e45.pth), after
# `python -m tsm_plugin.convert tsm <that file> OUT.pth`. Data and test as the
# 8-frame config, with 16 frames per clip.
_base_ = './tsm-original_r50_1x1x8_sthv1-rgb.py'

model = dict(backbone=dict(num_segments=16), cls_head=dict(num_segments=16))


def _frames(pipeline, num_clips=16):
    return [dict(step, num_clips=num_clips) if 'num_clips' in step else step
            for step in pipeline]


train_pipeline = _frames(_base_.train_pipeline)
val_pipeline = _frames(_base_.val_pipeline)
# inference_recognizer reads the top-level test_pipeline
test_pipeline = _frames(_base_.test_pipeline)
train_dataloader = dict(
    dataset=dict(pipeline=_frames(_base_.train_dataloader.dataset.pipeline)))
val_dataloader = dict(
    dataset=dict(pipeline=_frames(_base_.val_dataloader.dataset.pipeline)))
test_dataloader = dict(
    dataset=dict(pipeline=_frames(_base_.test_dataloader.dataset.pipeline)))
