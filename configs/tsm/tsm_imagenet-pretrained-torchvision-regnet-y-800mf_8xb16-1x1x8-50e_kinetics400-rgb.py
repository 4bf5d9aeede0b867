# TSM on torchvision's RegNetY-800MF, 8 frames, Kinetics-400: MMAction2's
# bundled R50 recipe (data, schedule, TSMOptimWrapperConstructor) with
# tsm_plugin.TSMBackbone over the 2D network (shift in front of the first conv
# of each ResBottleneckBlock's residual branch).
# Needs the zoo extra: pip install -e '.[zoo]' (torchvision).
# No checkpoint of this model exists: it starts from torchvision's ImageNet
# weights (weights='IMAGENET1K_V2': torchvision fetches them at build time, or
# reads the torch hub cache; testing a trained checkpoint needs no download:
# --cfg-options model.backbone.backbone.weights=None). The head sees the
# trunk's 784 channels.
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        _delete_=True,  # the base's ResNetTSM arguments
        type='tsm_plugin.TSMBackbone',
        backbone=dict(type='torchvision.regnet_y_800mf',
                      weights='IMAGENET1K_V2'),
        num_segments=8,
        shift_div=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8, in_channels=784))
