# The original TSM repository's TSN baseline: ResNet-50 without shifts,
# Kinetics-400 (TSM_kinetics_RGB_resnet50_avg_segment5_e50.pth: trained on 5
# segments, tested by the authors on 8), after `python -m tsm_plugin.convert
# tsm <that file> OUT.pth`. Each frame is scored alone and the scores averaged.
# Test as the authors' test_models.py --test_segments=8 --test_crops=10.
_base_ = './tsm-original_r50_1x1x8_kinetics400-rgb.py'

model = dict(
    backbone=dict(is_shift=False), cls_head=dict(is_shift=False))
