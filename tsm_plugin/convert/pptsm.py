"""``pptsm``: PaddleVideo's PP-TSM (ResNet-50-vd, ``.pdparams``). Not
supported yet: the converter refuses with the reason rather than loading the
weights into a network that computes something else.

PP-TSM's backbone (PaddleVideo, ``paddlevideo/modeling/backbones/
resnet_tweaks_tsm.py``, ``ResNetTweaksTSM``) differs from every network the
plugin (or MMAction2) builds: LeakyReLU activations throughout, the shift in
the opposite direction with a fraction of ``1 / num_seg``, the ResNet-D stem
and average-pool shortcuts. See docs/converted_tadaconv.md ("PP-TSM").
"""
import os.path as osp

from .common import ConversionError

REASON = (
    "PP-TSM's ResNet-50-vd (PaddleVideo ResNetTweaksTSM) uses LeakyReLU "
    'activations and shifts channels the other way (first fold from frame '
    't-1, fraction 1/num_seg); no plugin network computes that yet, so its '
    'weights cannot be converted faithfully (docs/converted_tadaconv.md, '
    '"PP-TSM")')


def convert(in_path, out_path, *, source='pptsm', num_segments=None,
            dataset=None, num_classes=None):
    if not osp.isfile(in_path):
        raise FileNotFoundError(f'{in_path}: no such file (expected a '
                                'PaddleVideo PP-TSM .pdparams file)')
    raise ConversionError(f'{in_path}: the pptsm source is not supported: '
                          f'{REASON}')
