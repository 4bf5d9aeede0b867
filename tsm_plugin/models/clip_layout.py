"""Check that the data pipeline and the model agree on frames per clip.

A TSM cuts its input into groups of ``num_segments`` frames and shifts features
within each group. The batch of one sample holds ``views x num_clips x
clip_len`` frames (views: ``twice_sample``, ``ThreeCrop``/``TenCrop``, dense
sampling positions), each view ``num_clips x clip_len`` frames long. When that
length is not ``num_segments``, the model silently regroups frames across
views, unless the total happens not to divide, e.g. 2 views x 12 frames with
``num_segments=8`` runs and mixes frames of both views.

``SampleFrames`` and its variants record ``num_clips`` and ``clip_len`` in the
results; ``PackActionInputs(meta_keys=(..., 'num_clips', 'clip_len'))`` keeps
them in each data sample's metainfo, where they are checked here; the
plugin's ``PackActionInputs`` (``tsm_plugin.datasets``), which
``type='PackActionInputs'`` builds once the plugin is imported, always keeps
them.
Samples without them cannot be checked: the first such batch logs one warning
(per process) saying so.
"""
import logging
from numbers import Integral

from mmengine.logging import print_log

# Warnings already logged in this process (each is logged once).
_warned = set()


def warn_once(message):
    """Log ``message`` as a warning, the first time only."""
    if message not in _warned:
        _warned.add(message)
        print_log(message, logger='current', level=logging.WARNING)


def frames_per_view(data_sample):
    """``num_clips * clip_len`` from the metainfo, or None if not recorded."""
    meta = getattr(data_sample, 'metainfo', None) or {}
    num_clips, clip_len = meta.get('num_clips'), meta.get('clip_len')
    if all(isinstance(v, Integral) and not isinstance(v, bool)
           for v in (num_clips, clip_len)):
        return int(num_clips), int(clip_len)
    return None


def check_clip_layout(data_samples, num_segments, owner):
    """Raise ``ValueError`` if a sample's view length differs from ``num_segments``.

    Args:
        data_samples (list[ActionDataSample] | None): the batch's samples.
        num_segments (int | None): frames per clip of the model; None: no check.
        owner (str): the module that expects ``num_segments``, for the message.
    """
    if num_segments is None:
        return
    for sample in data_samples or ():
        layout = frames_per_view(sample)
        if layout is None:
            warn_once(
                'tsm_plugin: the data samples do not record num_clips and '
                'clip_len, so the model cannot check that the pipeline '
                f'samples num_segments={num_segments} frames per view. End '
                "the pipelines with dict(type='tsm_plugin.PackActionInputs') "
                "(or add 'num_clips' and 'clip_len' to PackActionInputs' "
                'meta_keys).')
            continue
        num_clips, clip_len = layout
        # clip_len == num_segments: each clip is a view (multi-clip testing
        # of dense clips, e.g. SampleFrames(clip_len=8, num_clips=10))
        if num_segments not in (num_clips * clip_len, clip_len):
            raise ValueError(
                f'the data pipeline sampled num_clips={num_clips} x clip_len='
                f'{clip_len} = {num_clips * clip_len} frames per view, but the '
                f'{owner} has num_segments={num_segments}: it would regroup '
                'frames across views. Make them agree, e.g. SampleFrames('
                f'clip_len=1, num_clips={num_segments}) in every pipeline, or '
                f'num_segments={num_clips * clip_len} in backbone and head.')
