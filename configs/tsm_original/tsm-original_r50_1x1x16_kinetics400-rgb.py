# The original TSM repository's TSM ResNet-50, 16 frames, Kinetics-400, uniform
# sampling (TSM_kinetics_RGB_resnet50_shift8_blockres_avg_segment16_e50.pth),
# after `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' test_models.py --test_crops=10 (see the 8-frame config).
_base_ = '../tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(average_clips='score'))
