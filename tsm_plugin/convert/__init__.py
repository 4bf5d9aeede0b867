"""Convert the checkpoints the authors published into MMAction2 checkpoints
for the plugin's models: ``python -m tsm_plugin.convert SOURCE IN OUT``.

Each source is one module exposing ``convert(in_path, out_path, **options)``:

- ``tsm``: the original TSM repository's offline models (``tsm_original``);
- ``tsm-online``: its online (live demo) MobileNetV2 (``tsm_original``);
- ``tadaconv``: the official TAdaConv repository (``tadaconv``);
- ``pptsm``: PaddleVideo's PP-TSM ``.pdparams`` (``pptsm``).

``common`` holds what they share: reading the file, filling the model's state
dict with nothing left over on either side, writing the checkpoint.
"""
from .common import ConversionError, convert

__all__ = ['ConversionError', 'convert']
