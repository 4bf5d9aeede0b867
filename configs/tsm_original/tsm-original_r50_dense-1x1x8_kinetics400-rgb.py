# The original TSM repository's TSM ResNet-50, 8 frames, Kinetics-400, dense
# sampling (TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e100_dense.pth),
# after `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' non-local protocol (test_models.py --dense_sample
# --full_res --test_crops=3): 10 windows of 64 frames evenly placed in the
# video, 8 frames 8 apart in each; shorter side 256, 3 crops of 256x256 along
# the longer side; RGB, ImageNet mean/std; logits averaged over the 30 views.
_base_ = '../tsm/tsm_imagenet-pretrained-r50_8xb16-dense-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(average_clips='score'))

test_pipeline = [
    dict(type='ThreeCrop', crop_size=256) if step.type == 'TenCrop' else step
    for step in _base_.test_pipeline
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
