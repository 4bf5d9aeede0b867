"""Export a TSM recognizer to ONNX, offline (whole clips) or streaming (one
frame per step), and check the graph against PyTorch in ONNX Runtime.

    python -m tsm_plugin.export CONFIG CHECKPOINT OUT.onnx [--online]

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
import warnings

import numpy as np
import torch
from torch import nn

LAYOUTS = ('NTCHW', 'NCHW')
DEFAULT_OPSET = 17
# ONNX Runtime vs PyTorch: float32 rounding, relative to the output's scale.
RELATIVE_TOLERANCE = 1e-4
EXTRA_HINT = "pip install -e '.[export]'  (or: pip install onnx onnxruntime)"


def require_onnxruntime():
    """``(onnx, onnxruntime)``, or an ImportError saying how to get them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f'ONNX export needs the optional packages onnx and onnxruntime '
            f'({error}); install them with: {EXTRA_HINT}') from error
    return onnx, onnxruntime


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
        model = onnx.load(out)
        for key, value in metadata.items():
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = value if isinstance(value, str) else json.dumps(value)
        onnx.save(model, out)
    return out


def onnx_session(path, threads=0):
    """An ONNX Runtime CPU session; ``threads=0``: ONNX Runtime's default.
    Idle threads sleep instead of spinning, so the check does not slow down
    a shared machine (the latency benchmark sets its own options)."""
    _, onnxruntime = require_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return onnxruntime.InferenceSession(
        path, options, providers=['CPUExecutionProvider'])


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
           layout='NTCHW', opset=DEFAULT_OPSET, verify=True):
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

    Returns:
        dict: ``path``, ``inputs``, ``outputs`` (names), ``input_size``,
        ``relative_difference`` (``None`` without ``verify``).
    """
    require_onnxruntime()
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    check_size('input_size', input_size)
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
    from .checkpoint_meta import check_checkpoint_config
    check_checkpoint_config(config, checkpoint)  # the shift it was trained with
    recognizer = init_recognizer(config, checkpoint, device='cpu')
    height, width = input_size or crop_size(config)
    metadata = dict(num_segments=clip_length(recognizer),
                    **normalization(config))
    if online:
        from .online import StreamingRecognizer
        graph = StreamingRecognizer(recognizer).eval()
        example = streaming_inputs(graph, height, width)
        input_names, output_names = io_names(graph.num_buffers)
        metadata.update(graph='streaming', layout='NCHW')
    else:
        graph = OfflineGraph(recognizer, layout).eval()
        example = (offline_inputs(graph, height, width), )
        input_names, output_names = ['frames'], ['scores']
        metadata.update(graph='offline', layout=layout)
    export_module(graph, example, out, input_names, output_names, opset,
                  metadata)
    difference = None
    if verify:
        difference = (verify_streaming(graph, out, height, width) if online
                      else verify_offline(graph, out, height, width))
    return dict(path=out, inputs=input_names, outputs=output_names,
                input_size=(height, width), relative_difference=difference)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m tsm_plugin.export',
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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    result = export(args.config, checkpoint, args.out, online=args.online,
                    input_size=tuple(args.input_size) if args.input_size
                    else None, layout=args.layout, opset=args.opset,
                    verify=not args.no_verify)
    print(f"wrote {result['path']}: inputs {result['inputs']}, "
          f"outputs {result['outputs']}, frames {result['input_size']}")
    if result['relative_difference'] is not None:
        print('ONNX Runtime vs PyTorch on fresh inputs: max relative '
              f"difference {result['relative_difference']:.2g} "
              f'(tolerance {RELATIVE_TOLERANCE:g})')
    return result


if __name__ == '__main__':
    try:
        main()
    except (ValueError, ImportError, OSError, OnnxMismatchError) as error:
        sys.exit(f'error: {error}')
