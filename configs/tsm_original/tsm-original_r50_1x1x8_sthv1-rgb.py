# The original TSM repository's TSM ResNet-50, 8 frames, Something-Something V1
# (TSM_something_RGB_resnet50_shift8_blockres_avg_segment8_e45.pth), after
# `python -m tsm_plugin.convert tsm <that file> OUT.pth`.
# Test as the authors' accurate setting (test_models.py --twice_sample
# --full_res --test_crops=3): 2 clips x 3 crops of 256, logits averaged; the
# val pipeline is their efficient setting (1 clip, centre crop 224).
# Data: V1 is published as JPEG frames; this config reads videos (one .webm or
# .mp4 per clip, listed as `<file> <label>`), labels in the authors' order
# (the 174 class names sorted: configs/class_names/sthv1.txt). Training does not flip:
# the original code does not flip Something-Something.
_base_ = './tsm-original_r50_1x1x8_sthv2-rgb.py'

data_root = 'data/sthv1/videos'
ann_file_train = 'data/sthv1/sthv1_train_list_videos.txt'
ann_file_val = 'data/sthv1/sthv1_val_list_videos.txt'

train_pipeline = [step for step in _base_.train_pipeline if step.type != 'Flip']
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root),
                 pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
