# TSM R50 1x1x8 fine-tuned on UCF-101 (split 1) from the Kinetics-400 TSM of
# tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py (`load_from`):
# the whole network starts from that checkpoint except the 101-class fc, which
# is newly initialised (its 400-class weights do not fit and are skipped).
# Recipe of MMAction2's 0.x tsm_k400_pretrained_r50_1x1x8_25e_ucf101_rgb.
_base_ = ['./tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py']

model = dict(
    backbone=dict(pretrained=None),  # every backbone weight comes from load_from
    cls_head=dict(num_classes=101))

load_from = 'https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth'  # noqa: E501

dataset_type = 'VideoDataset'
data_root = 'data/ucf101/videos'
split = 1  # official train/test splits: 1, 2 or 3
ann_file_train = f'data/ucf101/ucf101_train_split_{split}_videos.txt'
ann_file_val = f'data/ucf101/ucf101_val_split_{split}_videos.txt'

# One centre crop at test time, as in validation (the base tests 10 crops).
test_pipeline = _base_.val_pipeline

train_dataloader = dict(
    batch_size=12,
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root)))
val_dataloader = dict(
    batch_size=12,
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root)))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        pipeline=test_pipeline))

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=25, val_begin=1, val_interval=1)
param_scheduler = [
    dict(
        type='MultiStepLR',
        begin=0,
        end=25,
        by_epoch=True,
        milestones=[10, 20],
        gamma=0.1)
]
# 8 GPUs x 12 videos; fc gets 5x lr (TSMOptimWrapperConstructor, fc_lr5)
optim_wrapper = dict(optimizer=dict(lr=0.0015))
auto_scale_lr = dict(enable=False, base_batch_size=96)
