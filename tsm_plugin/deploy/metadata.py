"""What a runner needs to prepare frames for an exported graph, read from the
config, for the graph's metadata (``tsm_plugin/deploy/runner.py`` reads it).

Keys (JSON values):

- ``channel_order``: ``'RGB'`` (frames as decoded, RGB) or ``'BGR'`` (the
  data preprocessor's ``to_rgb`` swaps them);
- ``pipeline``: the test pipeline's image steps in order, each a dict:
  ``Resize`` (``scale``, ``keep_ratio``, ``interpolation``: MMAction2's
  arguments), ``CenterCrop`` / ``ThreeCrop`` / ``TenCrop`` (``crop_size``
  ``[w, h]``: MMAction2 sizes are (w, h));
- ``pipeline_unsupported``: steps a runner cannot reproduce (their names);
  a runner refuses the graph when this is not empty;
- ``sample_frames``: the test pipeline's ``SampleFrames`` arguments (which
  frames of a video make the clip(s) of the offline graph);
- ``average_clips``: how the head averages views (``'prob'``, ``'score'``);
- ``frame_step`` / ``frame_step_from``: every how many frames a stream feeds
  one, and where that figure comes from; ``average_last``: the window of the
  running average the live command labels (``num_segments``);
- ``class_names`` (when given).
"""
import os.path as osp
import statistics

# Steps that read whole videos: the runner decodes itself.
DECODE_STEPS = {'DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode',
                'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode',
                'RawFrameDecode'}
CROPS = ('CenterCrop', 'ThreeCrop', 'TenCrop')
SAMPLE_DEFAULTS = dict(clip_len=1, frame_interval=1, num_clips=1,
                       twice_sample=False, out_of_bound_opt='loop',
                       test_mode=False)
# SampleFrames arguments the runner does not reproduce (when set)
SAMPLE_UNSUPPORTED = ('temporal_jitter', 'target_fps')


def pair(size):
    """MMAction2's ``_pair``: an int ``s`` is ``[s, s]``."""
    return [int(size), int(size)] if isinstance(size, int) else \
        [int(s) for s in size]


def translate_pipeline(pipeline):
    """``(steps, sample_frames, unsupported)`` of a test pipeline."""
    steps, sample, unsupported = [], None, []
    for step in pipeline:
        kind = str(step['type']).split('.')[-1]
        if kind in DECODE_STEPS or kind == 'PackActionInputs':
            continue
        if kind == 'SampleFrames':
            sample = {k: step.get(k, d) for k, d in SAMPLE_DEFAULTS.items()}
            unsupported += [f'SampleFrames({k}={step[k]!r})'
                            for k in SAMPLE_UNSUPPORTED if step.get(k)]
        elif kind == 'FormatShape':
            if step.get('input_format') != 'NCHW':
                unsupported.append(
                    f"FormatShape(input_format={step.get('input_format')!r})")
        elif kind == 'Resize':
            scale = step['scale']
            steps.append(dict(
                type='Resize',
                scale=float(scale) if isinstance(scale, (int, float))
                else [int(s) for s in scale],
                keep_ratio=bool(step.get('keep_ratio', True)),
                interpolation=step.get('interpolation', 'bilinear')))
        elif kind in CROPS:
            steps.append(dict(type=kind, crop_size=pair(step['crop_size'])))
        else:
            unsupported.append(kind)
    return steps, sample, unsupported


def median_video_length(videos, limit=8):
    """Median frame count of the first ``limit`` readable ``videos``, or
    None."""
    try:
        import decord
    except ImportError:
        return None
    lengths = []
    for path, _ in videos[:limit]:
        if osp.isfile(path):
            try:
                lengths.append(len(decord.VideoReader(path)))
            except Exception:  # a broken video says nothing about the others
                continue
    return statistics.median(lengths) if lengths else None


def streaming_frame_step(config, sample, data_root=None):
    """``(frame_step, where from)``: the frame spacing of the test pipeline's
    clips, to stream at the rate the model was trained on."""
    if sample is None:
        return 1, 'default (the test pipeline has no SampleFrames)'
    if sample['clip_len'] > 1:
        return int(sample['frame_interval']), \
            "the test pipeline's SampleFrames frame_interval"
    from .quantize import split_videos
    for split in ('test', 'val'):
        try:
            length = median_video_length(split_videos(config, split,
                                                      data_root))
        except (ValueError, OSError):
            continue
        if length:
            step = max(1, round(length / sample['num_clips']))
            return step, (f'the {split} videos: median {length:g} frames / '
                          f"{sample['num_clips']} sampled")
    return 1, ('default: no test/val video found to measure the spacing of '
               'the sampled frames; pass frame_step')


def runner_metadata(config, recognizer, online, frame_step=None,
                    class_names=None, data_root=None):
    """The metadata keys of the module doc for ``config``'s test pipeline."""
    from ..online.frames import config_test_pipeline
    steps, sample, unsupported = translate_pipeline(
        config_test_pipeline(config))
    preprocessor = config.get('model', {}).get('data_preprocessor') or {}
    head = getattr(recognizer, 'cls_head', None)
    metadata = dict(
        channel_order='BGR' if preprocessor.get('to_rgb') else 'RGB',
        pipeline=steps, pipeline_unsupported=unsupported,
        sample_frames=sample,
        average_clips=getattr(head, 'average_clips', 'prob'))
    if online:
        if frame_step is None:
            frame_step, where = streaming_frame_step(config, sample,
                                                     data_root)
        else:
            where = 'given at export'
        metadata.update(frame_step=int(frame_step), frame_step_from=where,
                        average_last=int(recognizer.backbone.num_segments))
    if class_names is not None:
        metadata['class_names'] = [str(name) for name in class_names]
    return metadata
