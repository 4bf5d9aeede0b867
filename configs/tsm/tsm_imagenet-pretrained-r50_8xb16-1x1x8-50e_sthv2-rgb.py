# TSM R50, 8 frames (1x1x8), Something-Something V2, ImageNet-pretrained.
# MMAction2's bundled recipe; horizontal flips swap the left/right classes
# (flip_label_map); testing averages 2 samplings x 3 crops = 6 views.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

# `_base_` model dicts carry `_scope_='mmaction'`: name plugin types with scope.
model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        type='tsm_plugin.ResNetTSM',
        pretrained='torchvision://resnet50',  # from the local torch hub cache
        num_segments=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8))
