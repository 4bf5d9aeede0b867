"""Export a TSM recognizer to ONNX, offline (whole clips) or streaming (one
frame per step), and check the graph against PyTorch in ONNX Runtime.

    python -m tsm_plugin.deploy.export CONFIG CHECKPOINT OUT.onnx [--online]

Offline graph: input ``frames`` ``(N, T, 3, H, W)`` (or ``(N*T, 3, H, W)`` with
``--layout NCHW``), output ``scores`` ``(N, num_classes)``: backbone, the
head's pool + fc, and the average over each clip's T frames (logits; softmax
gives MMAction2's ``average_clips='prob'`` for one view). N is dynamic.

Streaming graph (``--online``, uni-directional models): the pure step of
``tsm_plugin.online.StreamingRecognizer``: inputs ``frames`` ``(B, 3, H, W)``
then ``buffer_0 .. buffer_{K-1}``; outputs ``scores`` ``(B, num_classes)``
then ``new_buffer_0 ..`` in the same order; zeros start a stream. B is dynamic.

Inputs are preprocessed as MMAction2's data preprocessor does (``(x - mean) /
std``, RGB); mean, std, T and the names are stored in the graph's metadata.

The exporter is torch's TorchScript-based ``torch.onnx.export``: it traces the
model, during which the plugin's shift runs as out-of-place ops (pad + cat),
recorded as data flow. A shift written as copies into slices of a new tensor
exports without a warning and answers wrong numbers, so each export is checked
in ONNX Runtime on inputs other than the tracing ones. T, H and W are static
in the graph: ONNX Runtime refuses clips of another length.
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
import warnings

import numpy as np
import torch
from torch import nn

from .metadata import runner_metadata
from .onnx_runtime import onnx_session, require_onnxruntime
from .quantize import Int8MismatchError

LAYOUTS = ('NTCHW', 'NCHW')
DEFAULT_OPSET = 17
# ONNX Runtime vs PyTorch: float32 rounding, relative to the output's scale.
RELATIVE_TOLERANCE = 1e-4


def clip_length(recognizer):
    """Frames per clip (T) of a recognizer, from its backbone or head."""
    for module in (getattr(recognizer, 'backbone', None),
                   getattr(recognizer, 'cls_head', None)):
        num_segments = getattr(module, 'num_segments', None)
        if isinstance(num_segments, int) and num_segments > 0:
            return num_segments
    raise ValueError(
        f'cannot export {type(recognizer).__name__}: neither its backbone nor '
        'its cls_head has num_segments (frames per clip); the ONNX export '
        'covers 2D TSM/TSN recognizers (backbone + TSMHead-like head)')


class OfflineGraph(nn.Module):
    """Whole clips -> clip scores: ``recognizer.extract_feat(stage='head')``.

    ``frames`` is ``(N, T, 3, H, W)`` (layout ``'NTCHW'``) or ``(N*T, 3, H,
    W)`` (``'NCHW'``); returns ``(N, num_classes)``.
    """

    def __init__(self, recognizer, layout='NTCHW'):
        super().__init__()
        from mmaction.models.recognizers import Recognizer2D
        if not isinstance(recognizer, Recognizer2D) \
                or not getattr(recognizer, 'with_cls_head', False):
            raise ValueError(
                'the offline ONNX export takes an MMAction2 Recognizer2D with a '
                f'cls_head, got {type(recognizer).__name__}')
        if layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
        self.recognizer = recognizer
        self.num_segments = clip_length(recognizer)
        self.layout = layout

    def forward(self, frames):
        if self.layout == 'NCHW':
            # -1, not N: the traced reshape must keep N dynamic
            frames = frames.reshape((-1, self.num_segments) + frames.shape[1:])
        scores, _ = self.recognizer.extract_feat(frames, stage='head')
        return scores


def offline_inputs(graph, height, width, num_clips=1, generator=None):
    """A random input of the offline graph: ``num_clips`` clips."""
    t = graph.num_segments
    frames = torch.randn(num_clips, t, 3, height, width, generator=generator)
    return frames if graph.layout == 'NTCHW' else frames.flatten(0, 1)


def streaming_inputs(streaming, height, width, batch=1, generator=None):
    """``(frames, *buffers)`` of the streaming graph, with random (non-zero)
    buffers, so the trace cannot take them for constants."""
    frames = torch.randn(batch, 3, height, width, generator=generator)
    buffers = [torch.randn(b.shape, generator=generator)
               for b in streaming.zero_buffers(frames)]
    return (frames, *buffers)


def io_names(num_buffers):
    """Input and output names of a streaming graph with ``num_buffers``."""
    inputs = ['frames'] + [f'buffer_{i}' for i in range(num_buffers)]
    outputs = ['scores'] + [f'new_buffer_{i}' for i in range(num_buffers)]
    return inputs, outputs


def export_module(graph, example_inputs, out, input_names, output_names,
                  opset=DEFAULT_OPSET, metadata=None):
    """``torch.onnx.export`` of ``graph`` (eval mode, no grad), with dim 0 of
    every input and output dynamic; ``metadata`` goes to the model's
    ``metadata_props`` (strings as they are, other values as JSON).
    Returns ``out``."""
    onnx, _ = require_onnxruntime()
    # The exporter puts the module back in the mode it found it in, recursively:
    # a wrapper left in training mode would switch the model's BN to training.
    graph.eval()
    dynamic_axes = {name: {0: 'batch'} for name in input_names + output_names}
    with torch.no_grad(), warnings.catch_warnings():
        # TracerWarnings of the shape checks (evaluated once, at trace time)
        # and the TorchScript exporter's deprecation notice.
        warnings.simplefilter('ignore')
        torch.onnx.export(
            graph, tuple(example_inputs), out, dynamo=False,
            input_names=input_names, output_names=output_names,
            dynamic_axes=dynamic_axes, opset_version=opset,
            do_constant_folding=True)
    if metadata:
        write_metadata(out, metadata)
    return out


def write_metadata(path, metadata):
    """Set ``metadata`` in the ``metadata_props`` of the graph at ``path``
    (strings as they are, other values as JSON; existing keys replaced)."""
    onnx, _ = require_onnxruntime()
    model = onnx.load(path)
    kept = [(p.key, p.value) for p in model.metadata_props
            if p.key not in metadata]
    del model.metadata_props[:]
    for key, value in kept + list(metadata.items()):
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    onnx.save(model, path)


def run_onnx(path, inputs):
    """Outputs of the ONNX graph at ``path`` in ONNX Runtime (CPU), one run."""
    session = onnx_session(path)
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {name: np.ascontiguousarray(x.numpy())
                              for name, x in zip(names, inputs)})


def relative_difference(actual, expected):
    """``max |actual - expected| / max |expected|`` (0 when both are 0)."""
    expected = np.asarray(expected, dtype=np.float64)
    diff = np.abs(np.asarray(actual, dtype=np.float64) - expected).max()
    scale = np.abs(expected).max()
    return float(diff / scale) if scale > 0 else float(diff)


class OnnxMismatchError(RuntimeError):
    """The exported graph answers differently from the PyTorch model."""


def check_outputs(onnx_outputs, torch_outputs, names, what,
                  tolerance=RELATIVE_TOLERANCE):
    """Largest relative difference; ``OnnxMismatchError`` naming the output
    beyond ``tolerance``."""
    worst = 0.0
    for name, got, want in zip(names, onnx_outputs, torch_outputs):
        rel = relative_difference(got, want.detach().numpy())
        if rel > tolerance:
            raise OnnxMismatchError(
                f'{what}: ONNX Runtime output {name!r} differs from PyTorch by '
                f'{rel:.3g} of its scale (tolerance {tolerance:g})')
        worst = max(worst, rel)
    return worst


def verify_offline(graph, path, height, width, num_clips=3, seed=1):
    """Run a fresh batch of ``num_clips`` clips (not the tracing input, not
    its N) in ONNX Runtime and PyTorch; returns the relative difference."""
    generator = torch.Generator().manual_seed(seed)
    frames = offline_inputs(graph, height, width, num_clips, generator)
    with torch.no_grad():
        expected = graph(frames)
    return check_outputs(run_onnx(path, [frames]), [expected], ['scores'],
                         f'offline graph {path}')


def stream_onnx(path, frames, buffers):
    """Run a streaming graph over ``frames`` ``(T, B, 3, H, W)`` from
    ``buffers`` (numpy), feeding back its new buffers; one output list
    (``[scores, *new_buffers]``, numpy) per frame."""
    session = onnx_session(path)
    input_names, _ = io_names(len(buffers))
    outputs = []
    for frame in frames:
        outputs.append(session.run(None, dict(zip(
            input_names, [frame.numpy()] + list(buffers)))))
        buffers = outputs[-1][1:]
    return outputs


def verify_streaming(streaming, path, height, width, num_frames=4, batch=2,
                     seed=1):
    """Stream ``num_frames`` fresh frames from zero buffers through the graph
    in ONNX Runtime and through ``streaming`` in PyTorch, each feeding back
    its own new buffers; returns the largest relative difference."""
    generator = torch.Generator().manual_seed(seed)
    frames = torch.randn(num_frames, batch, 3, height, width,
                         generator=generator)
    buffers = streaming.zero_buffers(frames[0])
    got = stream_onnx(path, frames, [b.numpy() for b in buffers])
    _, output_names = io_names(len(buffers))
    worst = 0.0
    for t, frame in enumerate(frames):
        with torch.no_grad():
            expected = streaming(frame, *buffers)
        worst = max(worst, check_outputs(
            got[t], expected, output_names, f'streaming graph {path}, frame {t}'))
        buffers = expected[1:]
    return worst


def normalization(config):
    """Mean and std of the config's data preprocessor, if it has them."""
    preprocessor = config.get('model', {}).get('data_preprocessor') or {}
    return {key: list(preprocessor[key]) for key in ('mean', 'std')
            if preprocessor.get(key) is not None}


def crop_size(config, default=224):
    """``(H, W)`` of the test pipeline's crop (CenterCrop/ThreeCrop/TenCrop),
    else ``(default, default)``."""
    pipeline = config.get('test_pipeline') or config.get(
        'test_dataloader', {}).get('dataset', {}).get('pipeline') or []
    for step in pipeline:
        size = step.get('crop_size') if str(step.get('type', '')).endswith(
            ('CenterCrop', 'ThreeCrop', 'TenCrop')) else None
        if isinstance(size, int):
            return size, size
        if isinstance(size, (tuple, list)) and len(size) == 2:
            return int(size[1]), int(size[0])  # mmaction sizes are (w, h)
    return default, default


def check_size(name, size):
    if size is None:
        return
    if len(size) != 2 or any(isinstance(s, bool) or not isinstance(s, int)
                             or s < 1 for s in size):
        raise ValueError(f'{name} must be two positive ints (H, W), '
                         f'got {size!r}')


def export(config, checkpoint, out, online=False, input_size=None,
           layout='NTCHW', opset=DEFAULT_OPSET, verify=True, int8=False,
           calibration_split='val', calibration_videos=None,
           check_videos=None, data_root=None, frame_step=None,
           class_names=None, float_out=None, log=print):
    """Export the recognizer of ``config`` with ``checkpoint`` to ONNX.

    Args:
        config (str | mmengine.Config): the model's config.
        checkpoint (str | None): weights (``None``: random, to try it out).
        out (str): the ``.onnx`` file to write.
        online (bool): the streaming step (uni-directional models) instead
            of the offline clip graph.
        input_size (tuple[int, int] | None): ``(H, W)`` of a frame; ``None``:
            the test pipeline's crop, else 224.
        layout (str): offline input ``'NTCHW'`` ``(N, T, 3, H, W)`` or
            ``'NCHW'`` ``(N*T, 3, H, W)``.
        opset (int): ONNX opset.
        verify (bool): compare ONNX Runtime with PyTorch on fresh inputs
            (a different N, or a stream of frames) and raise if they differ.
        int8 (bool): write an int8 (QDQ) graph, calibrated on the first
            ``calibration_videos`` videos of ``calibration_split`` and
            checked against the float graph on the next ``check_videos``
            (``tsm_plugin.deploy.quantize``; ``Int8MismatchError`` with the
            figures when they disagree).
        data_root (str | None): where the split's videos lie (default: the
            config's ``data_root``).
        frame_step (int | None): streaming graph: every how many frames a
            runner feeds one (metadata); ``None``: the test pipeline's
            spacing, measured on the test/val videos when they are there.
        class_names (list[str] | None): stored in the metadata.
        float_out (str | None): with ``int8``, also keep the float graph
            (the one calibrated and checked against) at this path.
        log (callable): where the int8 figures are printed.

    Returns:
        dict: ``path``, ``inputs``, ``outputs`` (names), ``input_size``,
        ``relative_difference`` (``None`` without ``verify``), ``int8``
        (the int8 figures, ``None`` for a float graph), ``metadata``.
    """
    require_onnxruntime()
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    check_size('input_size', input_size)
    if frame_step is not None and (isinstance(frame_step, bool) or not
                                   isinstance(frame_step, int)
                                   or frame_step < 1):
        raise ValueError(f'frame_step must be an int >= 1, got {frame_step!r}')
    if class_names is not None and (isinstance(class_names, str) or not all(
            isinstance(name, str) for name in class_names)):
        raise ValueError('class_names must be a list of strings, got '
                         f'{class_names!r}')
    for name, path in (('config', config), ('checkpoint', checkpoint)):
        if isinstance(path, str) and not osp.isfile(path):
            raise FileNotFoundError(f'{name} {path!r}: no such file')
    if not osp.isdir(osp.dirname(osp.abspath(out))):
        raise FileNotFoundError(
            f'out {out!r}: its folder does not exist')
    from mmaction.apis import init_recognizer
    from mmengine import Config
    if not isinstance(config, Config):
        config = Config.fromfile(config)
    from ..models.checkpoint_meta import check_checkpoint_config
    check_checkpoint_config(config, checkpoint)  # the shift it was trained with
    videos = None
    if int8:  # before any work: the split and its videos must be there
        from .quantize import calibration_videos as pick
        videos = pick(config, calibration_split, calibration_videos,
                      check_videos, data_root)
    recognizer = init_recognizer(config, checkpoint, device='cpu')
    height, width = input_size or crop_size(config)
    metadata = dict(num_segments=clip_length(recognizer),
                    **normalization(config))
    if online:
        from ..online import StreamingRecognizer
        graph = StreamingRecognizer(recognizer).eval()
        example = streaming_inputs(graph, height, width)
        input_names, output_names = io_names(graph.num_buffers)
        metadata.update(graph='streaming', layout='NCHW')
    else:
        graph = OfflineGraph(recognizer, layout).eval()
        example = (offline_inputs(graph, height, width), )
        input_names, output_names = ['frames'], ['scores']
        metadata.update(graph='offline', layout=layout)
    metadata.update(runner_metadata(config, recognizer, online, frame_step,
                                    class_names, data_root),
                    precision='float32')
    if class_names is not None and len(class_names) != num_classes(recognizer):
        raise ValueError(f'class_names holds {len(class_names)} names, the '
                         f'model has {num_classes(recognizer)} classes')
    with tempfile.TemporaryDirectory() as folder:
        float_path = (float_out or osp.join(folder, 'float.onnx')) if int8 \
            else out
        export_module(graph, example, float_path, input_names, output_names,
                      opset, metadata)
        difference = None
        if verify:
            difference = (
                verify_streaming(graph, float_path, height, width) if online
                else verify_offline(graph, float_path, height, width))
        figures = None
        if int8:
            from .quantize import export_int8
            figures = export_int8(
                float_path, out, recognizer, config, online, videos, layout,
                metadata.get('frame_step', 1), log=log)
            figures['calibration_split'] = calibration_split
            metadata = dict(metadata, precision='int8', int8_check=figures)
            write_metadata(out, metadata)
    return dict(path=out, inputs=input_names, outputs=output_names,
                input_size=(height, width), relative_difference=difference,
                int8=figures, metadata=metadata)


def num_classes(recognizer):
    return recognizer.cls_head.num_classes


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.deploy.export',
        description='Export a TSM recognizer to ONNX (offline clip graph, or '
        'the streaming step with --online) and check it in ONNX Runtime.')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint',
                        help="checkpoint file ('none': random weights)")
    parser.add_argument('out', help='output .onnx file')
    parser.add_argument('--online', action='store_true',
                        help='export the streaming step (uni-directional '
                        'shift): frames + buffers -> scores + new buffers')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="frame size (default: the test pipeline's crop, "
                        'else 224 224)')
    parser.add_argument('--layout', choices=LAYOUTS, default='NTCHW',
                        help='offline input: (N, T, 3, H, W) or (N*T, 3, H, W)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the ONNX Runtime vs PyTorch check')
    int8 = parser.add_argument_group(
        'int8', 'static quantization (QDQ) calibrated on videos of the '
        "config's data, checked against the float graph on held-out ones")
    int8.add_argument('--int8', action='store_true',
                      help='write an int8 graph (calibrated, then checked)')
    int8.add_argument('--calibration-split', default='val',
                      help='the split to calibrate on (default val)')
    int8.add_argument('--calibration-videos', type=int, default=None,
                      help='videos to calibrate on (default 32); the next '
                      '--check-videos (default 16) check the int8 graph')
    int8.add_argument('--check-videos', type=int, default=None)
    parser.add_argument('--data-root', help="where the split's videos lie "
                        "(default: the config's data_root)")
    parser.add_argument('--frame-step', type=int, default=None,
                        help='streaming: feed every N-th frame (stored for '
                        "the runner; default: the test pipeline's spacing)")
    parser.add_argument('--label-map', help='class names, one per line '
                        '(stored in the graph for the runner)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    class_names = None
    if args.label_map:
        from ..online.frames import read_label_map
        class_names = read_label_map(args.label_map)
    result = export(args.config, checkpoint, args.out, online=args.online,
                    input_size=tuple(args.input_size) if args.input_size
                    else None, layout=args.layout, opset=args.opset,
                    verify=not args.no_verify, int8=args.int8,
                    calibration_split=args.calibration_split,
                    calibration_videos=args.calibration_videos,
                    check_videos=args.check_videos, data_root=args.data_root,
                    frame_step=args.frame_step, class_names=class_names)
    print(f"wrote {result['path']} ({result['metadata']['precision']}): inputs {result['inputs']}, "
          f"outputs {result['outputs']}, frames {result['input_size']}")
    if result['relative_difference'] is not None:
        print('ONNX Runtime vs PyTorch on fresh inputs: max relative '
              f"difference {result['relative_difference']:.2g} "
              f'(tolerance {RELATIVE_TOLERANCE:g})')
    return result


if __name__ == '__main__':
    try:
        main()
    except (ValueError, ImportError, OSError, OnnxMismatchError,
            Int8MismatchError) as error:
        sys.exit(f'error: {error}')
