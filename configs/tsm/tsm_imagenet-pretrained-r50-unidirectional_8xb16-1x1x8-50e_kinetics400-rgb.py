# TSM R50 1x1x8 on Kinetics-400 with uni-directional shift: features only move
# from past frames to later ones, so a frame's output never depends on future
# frames (online TSM: run frame by frame, caching the shifted channels).
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

model = dict(backbone=dict(shift_mode='unidirectional'))
