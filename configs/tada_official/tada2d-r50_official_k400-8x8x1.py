# The official TAda2D-R50, Kinetics-400, 8 frames 8 apart, for the authors'
# checkpoint converted by `python -m tsm_plugin.convert tadaconv` (see
# docs/converted_tadaconv.md). The network is ResNetTAda(layout='official'),
# which equals the official TAda2D; the recipe (and the training half of this
# config) is configs/tada/'s. Test as the authors (TAdaConv repo,
# configs/projects/tada/tada2d_k400.yaml, configs/pool/run/training/
# from_scratch_large.yaml, MODEL_ZOO.md): RGB, 0-1 pixels normalised with
# mean 0.45 and std 0.225 (here on 0-255: 114.75, 57.375), short side 256,
# 10 clips x 3 crops of 256. Reported top-1: 76.7.
_base_ = '../tada/tada2d_imagenet-pretrained-r50_8xb16-8x8x1-100e_kinetics400-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),  # the converted checkpoint holds it all
    cls_head=dict(num_classes=400),
    data_preprocessor=dict(mean=[114.75, 114.75, 114.75],
                           std=[57.375, 57.375, 57.375]))
# class names, index order of the checkpoint's head
label_file = 'configs/class_names/kinetics400.txt'
