# Online TSM on the demo data with the paper's edge backbone: MobileNetV2 with
# the uni-directional shift, trained from scratch. Streams with
#   python -m tsm_plugin.online configs/demo/tsm_mobilenetv2_online_demo.py CKPT VIDEO
# See _base_demo.py for the data and the recipe, tsm_r18_online_demo.py for
# its 6 epochs.
_base_ = ['./tsm_r18_online_demo.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='tsm_plugin.MobileNetV2TSM',
        pretrained=None,  # random init: nothing is downloaded
        num_segments=_base_.num_segments,
        shift_div=8,
        shift_mode='unidirectional'),
    cls_head=dict(in_channels=1280))
