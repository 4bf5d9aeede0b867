# TSN on the same MobileNetV2 as tsm_mobilenetv2_demo.py: no shift, per-frame
# features averaged over time. The demo data differs only in time order, so
# TSN should stay at chance (50%). See _base_demo.py.
_base_ = ['./tsm_mobilenetv2_demo.py']

model = dict(backbone=dict(is_shift=False))
