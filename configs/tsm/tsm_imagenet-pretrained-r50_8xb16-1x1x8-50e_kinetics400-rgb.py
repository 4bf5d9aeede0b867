# TSM R50, 8 frames (1x1x8), Kinetics-400, ImageNet-pretrained: the plugin's
# main config. Recipe, data and schedule are MMAction2's bundled config of the
# same name; the model is the plugin's, and so is the pipelines' last step.
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

# The bundled pipelines, packed by the plugin's PackActionInputs: MMAction2's,
# whose samples always keep `num_clips`/`clip_len` for the model to check.
pack = dict(type='tsm_plugin.PackActionInputs')
train_pipeline = [*_base_.train_pipeline[:-1], pack]
val_pipeline = [*_base_.val_pipeline[:-1], pack]
test_pipeline = [*_base_.test_pipeline[:-1], pack]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
