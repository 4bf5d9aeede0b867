# The original TSM repository's TSM ResNet-50, 8 frames, Something-Something
# V2 (TSM_somethingv2_RGB_resnet50_shift8_blockres_avg_segment8_e45.pth), after
# `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' accurate setting (test_models.py --twice_sample
# --full_res --test_crops=3): 8 frames at the segment centres and 8 at
# their starts (2 clips), shorter side 256, 3 crops of 256x256; RGB, ImageNet
# mean/std; logits averaged over the 6 views.
_base_ = '../tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(average_clips='score'))
