# Online TSM on the demo data: ResNet-18 with the uni-directional shift (1/8 of
# the channels from the previous frame only, inside each residual branch), so
# the trained checkpoint streams frame by frame:
#   python -m tsm_plugin.online configs/demo/tsm_r18_online_demo.py CKPT VIDEO
# See _base_demo.py for the data and the recipe.
_base_ = ['./_base_demo.py']

model = dict(backbone=dict(is_shift=True, shift_mode='unidirectional'))
