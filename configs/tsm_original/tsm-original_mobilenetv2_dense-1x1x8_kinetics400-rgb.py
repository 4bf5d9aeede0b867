# The original TSM repository's TSM MobileNetV2, 8 frames, Kinetics-400, dense
# sampling (TSM_kinetics_RGB_mobilenetv2_shift8_blockres_avg_segment8_e100_dense.pth),
# after `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' non-local protocol (test_models.py --dense_sample
# --full_res --test_crops=3): 10 windows x 3 crops of 256, logits averaged.
_base_ = '../mixing/tsm_imagenet-pretrained-mobilenetv2-plugin-head_8xb16-1x1x8-100e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(type='tsm_plugin.MobileNetV2TSM', pretrained=None),
    cls_head=dict(average_clips='score'))

test_pipeline = [
    dict(step, type='DenseSampleFrames') if step.type == 'SampleFrames' else
    dict(type='ThreeCrop', crop_size=256) if 'Crop' in step.type else step
    for step in _base_.test_pipeline
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
