# The official TAdaConvNeXtV2-B, Kinetics-400, 16x5 (TAdaConv repo,
# configs/projects/tadaconvnextv2/tadaconvnextv2_base_k400_16f.yaml);
# otherwise as tadaconvnextv2-t_official_k400-16x5x1.py. Reported top-1:
# 81.4 (32 frames: 82.3; ImageNet-21k start, 32 frames: 83.7).
_base_ = './tadaconvnextv2-t_official_k400-16x5x1.py'

model = dict(backbone=dict(arch='base', drop_path_rate=0.6),
             cls_head=dict(in_channels=1024))
