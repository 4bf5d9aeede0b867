# TSM on a small non-ResNet backbone, through tsm_plugin.TSMBackbone: MMAction2's
# own MobileNetV2 (widen_factor 0.5), a shift in front of the first conv of each
# inverted residual with a skip (found by the block rule), trained from scratch
# on the demo data. Core install only. The TAda2D demo's 32 px crops and 8
# epochs (a 56 px iteration took 3-4x as long on the shared 2-core machine).
# See _base_demo.py, tada_r18_demo.py and tsn_mobilenetv2_demo.py (the same
# network without the shift); figures in docs/backbones.md.
_base_ = ['./tada_r18_demo.py']

model = dict(
    backbone=dict(
        _delete_=True,  # the base's ResNetTAda arguments
        type='tsm_plugin.TSMBackbone',
        backbone=dict(type='MobileNetV2', widen_factor=0.5),  # random init
        num_segments={{_base_.num_segments}},
        shift_div=8,
        is_shift=True),
    cls_head=dict(in_channels=1280))
