# TSM R50, 8 frames (1x1x8), Kinetics-400, ImageNet-pretrained: the plugin's
# main config. Recipe, data and schedule are MMAction2's bundled config of the
# same name; only the model is the plugin's. (Its PackActionInputs, once the
# plugin is imported, is tsm_plugin's: samples keep `num_clips`/`clip_len`,
# which tsm_plugin.Recognizer2D checks against the model's num_segments.)
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

# `_base_` model dicts carry `_scope_='mmaction'`: name plugin types with scope.
model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        type='tsm_plugin.ResNetTSM',
        pretrained='torchvision://resnet50',  # from the local torch hub cache
        num_segments=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8))
