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

# The bundled pipelines, packed by the plugin's PackActionInputs: MMAction2's,
# whose samples always keep `num_clips`/`clip_len` for the plugin's TSMHead and
# Recognizer2D to check against num_segments.
pack = dict(type='tsm_plugin.PackActionInputs')
train_pipeline = [*_base_.train_pipeline[:-1], pack]
val_pipeline = [*_base_.val_pipeline[:-1], pack]
test_pipeline = [*_base_.test_pipeline[:-1], pack]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
