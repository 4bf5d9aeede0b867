# The official TAdaConvNeXtV2-S, Something-Something V2, 16 frames (TAdaConv
# repo, configs/projects/tadaconvnextv2/tadaconvnextv2_small_ssv2_16f.yaml);
# otherwise as tadaconvnextv2-t_official_sthv2-u16.py. Reported top-1: 68.4
# (32 frames: 70.0; ImageNet-21k start, 32 frames: 70.6).
_base_ = './tadaconvnextv2-t_official_sthv2-u16.py'

model = dict(backbone=dict(arch='small', drop_path_rate=0.5))
