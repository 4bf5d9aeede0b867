# Mixing: the plugin's ResNetTSM backbone under MMAction2's stock TSNHead.
# TSNHead averages the frame features of each sample (all its frames at test
# time, crops included) before its fc; TSMHead averages scores per 8-frame view.
_base_ = ['../tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

model = dict(
    cls_head=dict(
        _delete_=True,
        type='mmaction.TSNHead',
        num_classes=400,
        in_channels=2048,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.5,
        init_std=0.001,
        average_clips='prob'))
