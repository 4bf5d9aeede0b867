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
them in each data sample's metainfo, where they are checked here. Samples
without them are not checked.
"""
from numbers import Integral


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
