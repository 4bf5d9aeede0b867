# The original TSM repository's TSM ResNet-50, 8 frames, Kinetics-400, uniform
# sampling (TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment8_e50.pth),
# after `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' test_models.py --test_crops=10: 8 frames, the centre of
# each eighth of the video; shorter side 256, 5 crops of 224 and their flips;
# RGB, ImageNet mean/std; the logits (not probabilities) averaged over views.
# Training recipe and data layout: the plugin's config this one inherits.
_base_ = '../tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(average_clips='score'))
