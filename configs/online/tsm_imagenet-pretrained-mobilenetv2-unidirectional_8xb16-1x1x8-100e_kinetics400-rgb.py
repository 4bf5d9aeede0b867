# Online TSM on Kinetics-400: the plugin's MobileNetV2TSM (the paper's
# online/edge backbone) with the uni-directional shift, so the trained
# checkpoint streams frame by frame (`python -m tsm_plugin.online`).
# Recipe, data and schedule: MMAction2's bundled MobileNetV2 TSM config (via the
# mixing config, which keeps num_clips/clip_len in the data samples). Its
# ImageNet weights ('mmcls://mobilenet_v2') are fetched by mmengine into the
# torch hub cache; offline, set model.backbone.pretrained=None (random init).
_base_ = '../mixing/tsm_imagenet-pretrained-mobilenetv2-plugin-head_8xb16-1x1x8-100e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(type='tsm_plugin.MobileNetV2TSM',
                  shift_mode='unidirectional'))
