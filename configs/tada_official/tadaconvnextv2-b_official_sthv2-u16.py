# The official TAdaConvNeXtV2-B, Something-Something V2, 16 frames (TAdaConv
# repo, configs/projects/tadaconvnextv2/tadaconvnextv2_base_ssv2_16f.yaml);
# otherwise as tadaconvnextv2-t_official_sthv2-u16.py. The released -B SSV2
# checkpoint has 32 frames (ImageNet-21k + K400 start, top-1 71.1): the
# converter writes clip_len=32 into its config from the checkpoint's cfg.
_base_ = './tadaconvnextv2-t_official_sthv2-u16.py'

model = dict(backbone=dict(arch='base', drop_path_rate=0.6),
             cls_head=dict(in_channels=1024))
