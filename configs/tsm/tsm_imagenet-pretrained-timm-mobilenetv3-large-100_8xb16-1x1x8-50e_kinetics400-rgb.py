# TSM on timm's MobileNetV3-Large (mobilenetv3_large_100), 8 frames,
# Kinetics-400: MMAction2's bundled R50 recipe (data, schedule,
# TSMOptimWrapperConstructor) with tsm_plugin.TSMBackbone over the 2D network
# (shift in front of the first conv of each inverted residual with a skip).
# Needs the zoo extra: pip install -e '.[zoo]' (timm).
# No checkpoint of this model exists: it starts from timm's ImageNet weights
# (pretrained=True: timm fetches them from the Hugging Face hub at build time,
# or reads its local cache; testing a trained checkpoint needs no download:
# --cfg-options model.backbone.backbone.pretrained=False). The head sees
# forward_features: 960 channels.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        _delete_=True,  # the base's ResNetTSM arguments
        type='tsm_plugin.TSMBackbone',
        backbone=dict(type='timm.mobilenetv3_large_100', pretrained=True),
        num_segments=8,
        shift_div=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8, in_channels=960))
