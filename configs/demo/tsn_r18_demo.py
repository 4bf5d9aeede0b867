# TSN: the same ResNet-18 without temporal shift, i.e. per-frame features
# averaged over time. The demo data differs only in time order, so TSN should
# stay at chance (50%). See _base_demo.py.
_base_ = ['./_base_demo.py']

model = dict(backbone=dict(is_shift=False))
