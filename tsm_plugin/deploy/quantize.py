"""INT8 export: ONNX Runtime static quantization (QDQ) of the exported TSM
graphs, calibrated on the config's own videos, checked against the float graph.

Calibration data come from a split of the config's data (``val`` by default:
its annotation file and data root) prepared by the config's test pipeline:

- offline graph: the clips ``inference_recognizer`` would build (the test
  pipeline, then the model's data preprocessor), one clip per view;
- streaming graph: each video's frames (every ``frame_step``-th, as the live
  command feeds them) streamed through the FLOAT graph from zero buffers; the
  inputs of every step, frame and buffers, are the calibration samples. So
  every buffer input is calibrated on the values it holds in a real stream,
  not only on the zeros that start one (a calibrator that sees only zero
  buffers measures min = max = 0 for all of them; ONNX Runtime then gives
  them the scale 1.0 and rounds every later buffer to integers).

Tensors whose calibrated range is min = max = 0 (the zeros of the shift's
first frame) get a valid scale (ONNX Runtime uses 1.0 and zero point 0, which
holds 0 exactly); ``check_scales`` refuses a model with a zero, negative or
non-finite scale anyway, with the tensor's name.

The quantized graph is then run beside the float graph on held-out videos of
the same split (the ones after the calibration videos): top-1 agreement and
the largest difference of the class probabilities are printed, and below
``min_agreement`` or above ``max_score_difference`` the export fails with
the figures (``Int8MismatchError``).

Settings (ONNX Runtime's recommendation for x86 CPUs with VNNI): activations
uint8 (asymmetric, MinMax calibration), weights int8, symmetric, per output
channel; the graph is first optimised by ``quant_pre_process`` (shape
inference, BatchNorm folded into the convolutions).
"""
import os.path as osp
import tempfile

import numpy as np

DEFAULT_CALIBRATION_VIDEOS = 32
DEFAULT_CHECK_VIDEOS = 16
# An int8 graph must give the float graph's top-1 on at least this share of
# held-out clips / stream steps, and probabilities within this much.
MIN_AGREEMENT = 0.9
MAX_SCORE_DIFFERENCE = 0.25


class Int8MismatchError(RuntimeError):
    """The int8 graph answers too differently from the float graph."""


def softmax(scores):
    scores = np.asarray(scores, dtype=np.float64)
    exp = np.exp(scores - scores.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def split_videos(config, split, data_root=None):
    """``[(video path, label)]`` of ``config``'s ``{split}_dataloader``."""
    from ..online.evaluate import read_annotations
    key = f'{split}_dataloader'
    dataset = config.get(key, {}).get('dataset')
    if not dataset or 'ann_file' not in dataset:
        raise ValueError(
            f'calibration_split {split!r}: the config has no {key}.dataset '
            'with an ann_file to read calibration videos from')
    return read_annotations(dataset, data_root)


def pick_videos(videos, split, num_calibration, num_check):
    """The first ``num_calibration`` videos calibrate, the next
    ``num_check`` (at least 1) check; a ValueError when the split is short."""
    for name, value in (('calibration_videos', num_calibration),
                        ('check_videos', num_check)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be an int >= 1, got {value!r}')
    if len(videos) < num_calibration + 1:
        raise ValueError(
            f'calibration_split {split!r} lists {len(videos)} videos: need '
            f'calibration_videos={num_calibration} plus at least one held-out '
            'video to check the int8 graph on')
    return (videos[:num_calibration],
            videos[num_calibration:num_calibration + num_check])


def offline_clips(recognizer, config, videos, layout='NTCHW'):
    """Per video: the offline graph's input ``(V, T, 3, H, W)`` float32 (V
    views; ``(V*T, 3, H, W)`` for ``'NCHW'``), as ``inference_recognizer``
    prepares it: the test pipeline, then the model's data preprocessor."""
    import torch
    from mmengine.dataset import Compose, pseudo_collate

    from ..online.frames import config_test_pipeline
    pipeline = Compose(config_test_pipeline(config))
    t = recognizer.backbone.num_segments
    for path, label in videos:
        data = pipeline(dict(filename=path, label=label, start_index=0,
                             modality='RGB'))
        with torch.no_grad():
            inputs = recognizer.data_preprocessor(
                pseudo_collate([data]), training=False)['inputs'][0]
        inputs = inputs.reshape((-1, t) + inputs.shape[-3:])
        if layout == 'NCHW':
            inputs = inputs.flatten(0, 1)
        yield np.ascontiguousarray(inputs.numpy(), dtype=np.float32)


def video_frames(recognizer, config, path, frame_step=1):
    """Every ``frame_step``-th frame of a video, ``(1, 3, h, w)`` float32,
    as the live command prepares it (``FramePreprocessor``)."""
    import torch

    from ..online.frames import FramePreprocessor, VideoFile
    preprocess = FramePreprocessor(recognizer, config)
    video = VideoFile(path)
    for _, rgb in video.frames(range(0, len(video), frame_step)):
        with torch.no_grad():
            yield np.ascontiguousarray(preprocess(rgb).numpy(),
                                       dtype=np.float32)


def stream_session(session, frames):
    """Stream ``frames`` through an ONNX Runtime session of a streaming
    graph from zero buffers: per step, ``(inputs dict, scores)``."""
    inputs = session.get_inputs()
    names = [i.name for i in inputs]
    buffers = None
    for frame in frames:
        if buffers is None:
            buffers = [np.zeros((frame.shape[0], ) + tuple(i.shape[1:]),
                                np.float32) for i in inputs[1:]]
        feed = dict(zip(names, [frame] + buffers))
        scores, *buffers = session.run(None, feed)
        yield feed, scores


class ListReader:
    """ONNX Runtime ``CalibrationDataReader`` over a list of input dicts."""

    def __init__(self, samples):
        self.samples = iter(samples)

    def get_next(self):
        return next(self.samples, None)

    def rewind(self):  # not needed by MinMax; kept for other calibrators
        pass


def calibration_samples(float_path, recognizer, config, videos, online,
                        layout='NTCHW', frame_step=1):
    """Input dicts of the float graph for calibration (see module doc)."""
    from .onnx_runtime import onnx_session
    if online:
        session = onnx_session(float_path)
        return [feed for path, _ in videos for feed, _ in stream_session(
            session, video_frames(recognizer, config, path, frame_step))]
    return [{'frames': clip} for clip in
            offline_clips(recognizer, config, videos, layout)]


def quantize_graph(float_path, out, samples, per_channel=True):
    """QDQ static quantization of ``float_path`` into ``out``, calibrated
    (MinMax) on ``samples`` (input dicts). Returns ``out``."""
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quant_pre_process,
                                          quantize_static)
    with tempfile.TemporaryDirectory() as folder:
        prepared = osp.join(folder, 'prepared.onnx')
        quant_pre_process(float_path, prepared)
        quantize_static(
            prepared, out, ListReader(samples), quant_format=QuantFormat.QDQ,
            per_channel=per_channel, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options=dict(WeightSymmetric=True,
                               ActivationSymmetric=False))
    check_scales(out)
    return out


def check_scales(path):
    """Every quantization scale of the graph at ``path`` is finite and > 0;
    else a ValueError naming the tensors. Returns the number of scales."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    initializers = {i.name: i for i in model.graph.initializer}
    scales, bad = 0, []
    for node in model.graph.node:
        if node.op_type not in ('QuantizeLinear', 'DequantizeLinear'):
            continue
        scale = initializers.get(node.input[1])
        if scale is None:
            continue
        scales += 1
        value = numpy_helper.to_array(scale)
        if not np.all(np.isfinite(value)) or np.any(value <= 0):
            bad.append(f'{node.input[0]} (scale {value.ravel()[:4]})')
    if bad:
        raise ValueError(f'int8 graph {path}: invalid quantization scales '
                         f'for {", ".join(bad[:5])}')
    return scales


def agreement(float_scores, int8_scores):
    """``(top-1 agreement, largest probability difference)`` of two score
    arrays ``(M, num_classes)`` (logits, or probabilities)."""
    p_float, p_int8 = softmax(float_scores), softmax(int8_scores)
    same = float(np.mean(p_float.argmax(-1) == p_int8.argmax(-1)))
    return same, float(np.abs(p_float - p_int8).max())


def offline_scores(session, clips):
    """Per clip: the views' probabilities averaged (``average_clips='prob'``),
    as ``inference_recognizer`` scores a video; returned as logits-like log
    probabilities so that ``agreement`` softmaxes them back."""
    name = session.get_inputs()[0].name
    out = []
    for clip in clips:
        (scores, ) = session.run(None, {name: clip})
        out.append(np.log(softmax(scores).mean(0) + 1e-30))
    return np.stack(out)


def running_scores(session, frames, average_last):
    """Per step: the mean of the last ``average_last`` per-frame scores
    (what the live command labels)."""
    per_frame = [scores[0] for _, scores in stream_session(session, frames)]
    return np.stack([np.mean(per_frame[max(0, t + 1 - average_last):t + 1], 0)
                     for t in range(len(per_frame))])


def compare_graphs(float_path, int8_path, recognizer, config, videos, online,
                   layout='NTCHW', frame_step=1, average_last=None):
    """Top-1 agreement and largest probability difference of the int8 graph
    with the float graph on ``videos``: per video (offline) or per stream
    step (streaming, running-average label). Returns a dict of figures."""
    from .onnx_runtime import onnx_session
    sessions = [onnx_session(p) for p in (float_path, int8_path)]
    if online:
        average_last = average_last or recognizer.backbone.num_segments
        scores = [np.concatenate([running_scores(
            s, video_frames(recognizer, config, path, frame_step),
            average_last) for path, _ in videos]) for s in sessions]
        units = 'stream steps'
    else:
        clips = list(offline_clips(recognizer, config, videos, layout))
        scores = [offline_scores(s, clips) for s in sessions]
        units = 'clips'
    same, worst = agreement(*scores)
    labels = np.array([label for _, label in videos])
    figures = dict(top1_agreement=same, max_score_difference=worst,
                   num_checked=len(scores[0]), units=units,
                   num_videos=len(videos))
    if not online:
        figures.update(
            float_top1=float(np.mean(scores[0].argmax(-1) == labels)),
            int8_top1=float(np.mean(scores[1].argmax(-1) == labels)))
    return figures


def describe(figures):
    text = (f"int8 vs float on {figures['num_checked']} held-out "
            f"{figures['units']} ({figures['num_videos']} videos): top-1 "
            f"agreement {100 * figures['top1_agreement']:.1f}%, max "
            f"probability difference {figures['max_score_difference']:.3g}")
    if 'float_top1' in figures:
        text += (f"; top-1 float {100 * figures['float_top1']:.1f}%, int8 "
                 f"{100 * figures['int8_top1']:.1f}%")
    return text


def check_figures(figures, min_agreement=MIN_AGREEMENT,
                  max_score_difference=MAX_SCORE_DIFFERENCE):
    """``Int8MismatchError`` with the figures when they miss the bounds."""
    if figures['top1_agreement'] < min_agreement or \
            figures['max_score_difference'] > max_score_difference:
        raise Int8MismatchError(
            f'bad int8 quantization: {describe(figures)} (needed: agreement '
            f'>= {100 * min_agreement:.0f}%, probability difference <= '
            f'{max_score_difference:g}); calibrate on more or other videos '
            '(--calibration-videos, --calibration-split) or keep float32')


def calibration_videos(config, split='val', num_calibration=None,
                       num_check=None, data_root=None):
    """``(calibration videos, check videos)`` of ``split``; a ValueError or
    FileNotFoundError naming the argument when they cannot be had."""
    if num_calibration is None:
        num_calibration = DEFAULT_CALIBRATION_VIDEOS
    if num_check is None:
        num_check = DEFAULT_CHECK_VIDEOS
    calibration, check = pick_videos(split_videos(config, split, data_root),
                                     split, num_calibration, num_check)
    for path, _ in calibration[:1] + check[:1]:
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'calibration video {path!r} (split {split!r}) not found: '
                'pass data_root (--data-root) where the data lies')
    return calibration, check


def export_int8(float_path, out, recognizer, config, online, videos,
                layout='NTCHW', frame_step=1, min_agreement=MIN_AGREEMENT,
                max_score_difference=MAX_SCORE_DIFFERENCE, log=print):
    """Quantize the float graph at ``float_path`` into ``out``, calibrated
    on ``videos[0]``, checked on ``videos[1]`` (``calibration_videos``).
    Returns the figures (see ``compare_graphs``)."""
    calibration, check = videos
    samples = calibration_samples(float_path, recognizer, config, calibration,
                                  online, layout, frame_step)
    log(f'calibrating int8 on {len(samples)} '
        f"{'stream steps' if online else 'clips'} of {len(calibration)} "
        'videos')
    quantize_graph(float_path, out, samples)
    figures = compare_graphs(float_path, out, recognizer, config, check,
                             online, layout, frame_step)
    figures.update(calibration_videos=len(calibration))
    log(describe(figures))
    check_figures(figures, min_agreement, max_score_difference)
    return figures
