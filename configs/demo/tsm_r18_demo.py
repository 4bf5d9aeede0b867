# TSM: ResNet-18 with temporal shift (1/8 of the channels each way, inside each
# residual branch), trained from scratch on the demo data. See _base_demo.py.
_base_ = ['./_base_demo.py']

model = dict(backbone=dict(is_shift=True))
