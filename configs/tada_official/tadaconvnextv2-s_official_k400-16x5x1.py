# The official TAdaConvNeXtV2-S, Kinetics-400, 16x5 (TAdaConv repo,
# configs/projects/tadaconvnextv2/tadaconvnextv2_small_k400_16f.yaml);
# otherwise as tadaconvnextv2-t_official_k400-16x5x1.py. Reported top-1:
# 80.8 (32 frames: 81.9; ImageNet-21k start, 32 frames: 82.9).
_base_ = './tadaconvnextv2-t_official_k400-16x5x1.py'

model = dict(backbone=dict(arch='small', drop_path_rate=0.4))
