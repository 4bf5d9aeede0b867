# TSM R50 1x1x8 on Kinetics-400 with temporal pooling: time is max-pooled by 2
# before layer2, so layers 2-4 see 4 frames per clip (about half the FLOPs).
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

model = dict(
    backbone=dict(temporal_pool=True), cls_head=dict(temporal_pool=True))
