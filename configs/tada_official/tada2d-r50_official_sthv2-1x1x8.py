# The official TAda2D-R50, Something-Something V2, 8 segments, for the
# authors' checkpoint converted by `python -m tsm_plugin.convert tadaconv`
# (docs/converted_tadaconv.md). Network ResNetTAda(layout='official'); recipe
# from configs/tada/. Test as the authors (TAdaConv repo,
# configs/projects/tada/tada2d_ssv2.yaml, MODEL_ZOO.md): RGB, mean 0.45 and
# std 0.225 on 0-1 pixels, short side 256, 2 samplings x 3 crops of 256.
# Reported top-1: 64.2.
_base_ = '../tada/tada2d_imagenet-pretrained-r50_8xb16-1x1x8-64e_sthv2-rgb.py'  # noqa: E501

model = dict(
    backbone=dict(pretrained=None),
    cls_head=dict(num_classes=174),
    data_preprocessor=dict(mean=[114.75, 114.75, 114.75],
                           std=[57.375, 57.375, 57.375]))
label_file = 'configs/class_names/sthv2.txt'
