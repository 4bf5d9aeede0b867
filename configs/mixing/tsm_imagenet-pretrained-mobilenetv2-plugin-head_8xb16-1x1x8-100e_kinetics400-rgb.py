# Mixing: MMAction2's stock MobileNetV2TSM backbone with the plugin's TSMHead and
# Recognizer2D, on MMAction2's bundled MobileNetV2 TSM recipe. Its ImageNet
# weights ('mmcls://mobilenet_v2') are fetched by mmengine into the torch hub
# cache; offline, set model.backbone.pretrained=None and pretrained2d=False
# (random init).
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-mobilenetv2_8xb16-1x1x8-100e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(type='mmaction.MobileNetV2TSM', num_segments=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8))
