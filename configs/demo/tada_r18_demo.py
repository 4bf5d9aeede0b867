# TAda2D: the same ResNet-18, the first 3x3 conv of every block made
# temporally adaptive (TAdaConv2d + temporal aggregation), trained from scratch
# (identity start, as TAda2D) on the demo data, with the data and recipe of
# the TSM and TSN demos. See _base_demo.py.
_base_ = ['./_base_demo.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='tsm_plugin.ResNetTAda',
        depth=18,
        pretrained=None,  # random init: nothing is downloaded
        num_segments={{_base_.num_segments}}))
