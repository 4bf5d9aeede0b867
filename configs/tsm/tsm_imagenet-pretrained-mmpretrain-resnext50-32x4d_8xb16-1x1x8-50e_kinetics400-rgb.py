# TSM on mmpretrain's ResNeXt-50 (32x4d), 8 frames, Kinetics-400: MMAction2's
# bundled R50 recipe (data, schedule, TSMOptimWrapperConstructor) with
# tsm_plugin.TSMBackbone over the 2D network (shift in front of the first conv
# of each bottleneck's residual branch, as ResNetTSM's 'blockres').
# Needs the zoo extra: pip install -e '.[zoo]' (mmpretrain).
# No checkpoint of this model exists: it starts from mmpretrain's ImageNet
# ResNeXt-50 (its init_cfg, loaded under the 2D network's own names).
_base_ = 'mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'  # noqa: E501

custom_imports = dict(imports=['tsm_plugin'], allow_failed_imports=False)

model = dict(
    type='tsm_plugin.Recognizer2D',
    backbone=dict(
        _delete_=True,  # the base's ResNetTSM arguments
        type='tsm_plugin.TSMBackbone',
        backbone=dict(
            type='mmpretrain.ResNeXt',
            depth=50,
            groups=32,
            width_per_group=4,
            init_cfg=dict(
                type='Pretrained',
                checkpoint='https://download.openmmlab.com/mmclassification/'
                'v0/resnext/resnext50_32x4d_b32x8_imagenet_20210429-56066e27.pth',
                prefix='backbone')),
        num_segments=8,
        shift_div=8),
    cls_head=dict(type='tsm_plugin.TSMHead', num_segments=8, in_channels=2048))
