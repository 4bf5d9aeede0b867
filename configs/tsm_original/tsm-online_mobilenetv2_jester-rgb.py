# The original TSM repository's online hand-gesture model: MobileNetV2 with the
# uni-directional shift (channels [0, C/8) from the previous frame), 27 Jester
# classes (online_demo's mobilenetv2_jester_online.pth.tar), after
# `python -m tsm_plugin.convert tsm-online <that file> OUT.pth`. It streams:
#   python -m tsm_plugin.online THIS_CONFIG OUT.pth 0 --frame-step 2 \
#       --average-last 12 --label-map configs/class_names/jester.txt
# Preprocessing as online_demo/main.py: shorter side 256, centre crop 224, RGB
# in [0, 1] normalised by ImageNet's mean/std (here on [0, 255]: the same).
# (The demo converts OpenCV's BGR camera frames with PIL's .convert('RGB'),
# which keeps the channels as they are: it feeds BGR. The model was trained on
# RGB frames, and tsm_plugin.online feeds RGB.)
# Offline test: 8 frames at the segment centres, one centre crop.
# Training does not flip: left and right gestures are different classes.
_base_ = '../online/tsm_imagenet-pretrained-mobilenetv2-unidirectional_8xb16-1x1x8-100e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the weights: the converted checkpoint
    cls_head=dict(num_classes=27, average_clips='score'))

data_root = 'data/jester/videos'
ann_file_train = 'data/jester/jester_train_list_videos.txt'
ann_file_val = 'data/jester/jester_val_list_videos.txt'

train_pipeline = [step for step in _base_.train_pipeline if step.type != 'Flip']
test_pipeline = [
    dict(type='CenterCrop', crop_size=224) if 'Crop' in step.type else step
    for step in _base_.test_pipeline
]
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root),
                 pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root),
                 pipeline=test_pipeline))
