"""Run a TSM graph exported by ``tsm_plugin.deploy.export`` (float32 or int8)
on a video or a camera, with nothing but numpy, ONNX Runtime and OpenCV
(decord too, when installed, to decode files as MMAction2 does).

    python runner.py MODEL.onnx VIDEO|CAMERA [--frame-step N] [--top-k K]
    python -m tsm_plugin.deploy.runner MODEL.onnx VIDEO|CAMERA

This one file imports nothing of tsm_plugin, torch or MMAction2: copy it to
a device beside the .onnx file. Everything it needs comes from the graph's
metadata (written at export from the config): the test pipeline's resize
and crop, which frames it samples, mean/std, channel order, the frame step
of a stream, class names.

- Offline graph (whole clips): the video's frames sampled as the test
  pipeline's ``SampleFrames`` samples them, resized and cropped as it does
  (every view: ``ThreeCrop``/``TenCrop``, several clips), normalised, and
  the views' scores averaged as the head does (``average_clips``): the
  scores of ``mmaction.apis.inference_recognizer``.
- Streaming graph (``--online`` export): every ``frame_step``-th frame, one
  at a time, the shift buffers fed back; the label is the top class of the
  mean of the last ``average_last`` per-frame scores: the labels of
  ``python -m tsm_plugin.online``.

In Python::

    from runner import TSMRunner   # or: from tsm_plugin.deploy.runner import
    runner = TSMRunner('tsm.onnx')
    probs = runner.predict_video('video.mp4')       # offline graph
    for index, probs in runner.stream('video.mp4'):  # streaming graph
        print(index, runner.label(probs))
"""
import argparse
import collections
import json
import os.path as osp
import sys
import time

import numpy as np
import onnxruntime

try:
    import cv2
except ImportError:  # decoding with decord still works; resizing needs cv2
    cv2 = None

INTERPOLATIONS = {'nearest': 'INTER_NEAREST', 'bilinear': 'INTER_LINEAR',
                  'bicubic': 'INTER_CUBIC', 'area': 'INTER_AREA',
                  'lanczos': 'INTER_LANCZOS4'}


def softmax(scores, axis=-1):
    scores = np.asarray(scores, dtype=np.float64)
    exp = np.exp(scores - scores.max(axis, keepdims=True))
    return exp / exp.sum(axis, keepdims=True)


# --- MMAction2's test-time transforms, on lists of (H, W, 3) uint8 frames ---

def sample_frames(num_frames, clip_len=1, frame_interval=1, num_clips=1,
                  twice_sample=False, out_of_bound_opt='loop',
                  test_mode=True):
    """Frame indices of ``SampleFrames`` in test mode (MMAction2 1.2)."""
    if not test_mode:
        raise ValueError('the graph was exported from a pipeline whose '
                         'SampleFrames samples at random (test_mode=False)')
    if clip_len == 1:  # 2D recognizers: the middle of each segment
        interval = num_frames / float(num_clips)
        base = np.arange(num_clips) * interval
        offsets = base + interval / 2.0
        if twice_sample:
            offsets = np.concatenate([offsets, base])
    else:
        span = (clip_len - 1) * frame_interval + 1
        max_offset = max(num_frames - span, 0)
        clips = num_clips * 2 if twice_sample else num_clips
        if clips > 1:
            offsets = np.round(np.arange(clips) * (max_offset /
                                                   float(num_clips - 1)))
        else:
            offsets = np.array([max_offset // 2])
    inds = (offsets[:, None] + np.arange(clip_len)[None, :] * frame_interval)
    inds = np.concatenate(inds).reshape((-1, clip_len))
    if out_of_bound_opt == 'loop':
        inds = np.mod(inds, num_frames)
    else:  # 'repeat_last'
        safe = inds < num_frames
        last = np.max(safe * inds, axis=1)
        inds = safe * inds + ((1 - safe).T * last).T
    return np.concatenate(inds).astype(np.int32)


def resize(frames, scale, keep_ratio=True, interpolation='bilinear'):
    """MMAction2's ``Resize`` (mmcv's ``rescale_size`` + ``cv2.resize``)."""
    if cv2 is None:
        raise ImportError('resizing frames needs OpenCV: pip install '
                          'opencv-python-headless')
    h, w = frames[0].shape[:2]
    if not keep_ratio:
        new_w, new_h = scale
    else:
        if isinstance(scale, (int, float)):
            factor = scale
        else:
            long_edge, short_edge = max(scale), min(scale)
            if short_edge == -1:
                long_edge, short_edge = np.inf, long_edge
            factor = min(long_edge / max(h, w), short_edge / min(h, w))
        new_w, new_h = int(w * float(factor) + 0.5), int(h * float(factor)
                                                         + 0.5)
    code = getattr(cv2, INTERPOLATIONS[interpolation])
    return [cv2.resize(f, (int(new_w), int(new_h)), interpolation=code)
            for f in frames]


def crop_offsets(kind, h, w, crop_w, crop_h):
    """Top-left corners ``(x, y)`` of ``CenterCrop`` / ``ThreeCrop`` /
    ``TenCrop`` (before its flips) in MMAction2's order."""
    if kind == 'CenterCrop':
        return [((w - crop_w) // 2, (h - crop_h) // 2)]
    if kind == 'ThreeCrop':
        if crop_h == h:
            step = (w - crop_w) // 2
            return [(0, 0), (2 * step, 0), (step, 0)]
        step = (h - crop_h) // 2
        return [(0, 0), (0, 2 * step), (0, step)]
    w_step, h_step = (w - crop_w) // 4, (h - crop_h) // 4
    return [(0, 0), (4 * w_step, 0), (0, 4 * h_step),
            (4 * w_step, 4 * h_step), (2 * w_step, 2 * h_step)]


def crop(frames, kind, crop_size):
    """All views of a crop step, view-major (as MMAction2 lists them)."""
    crop_w, crop_h = crop_size
    h, w = frames[0].shape[:2]
    out = []
    for x, y in crop_offsets(kind, h, w, crop_w, crop_h):
        views = [f[y:y + crop_h, x:x + crop_w] for f in frames]
        out += views
        if kind == 'TenCrop':
            out += [np.flip(v, axis=1).copy() for v in views]
    return out


def prepare_frames(frames, meta, views=True):
    """RGB frames (list of (H, W, 3) uint8) -> graph input rows
    ``(V * len(frames), 3, h, w)`` float32, view-major, by the metadata's
    ``pipeline``, ``channel_order``, ``mean`` and ``std``; ``views=False``
    (streaming): a multi-view crop is its centre crop, as the live command
    does."""
    for step in meta['pipeline']:
        if step['type'] == 'Resize':
            frames = resize(frames, step['scale'], step['keep_ratio'],
                            step['interpolation'])
        else:
            frames = crop(frames, step['type'] if views else 'CenterCrop',
                          step['crop_size'])
    array = np.stack(frames).transpose(0, 3, 1, 2).astype(np.float32)
    if meta.get('channel_order') == 'BGR':
        array = array[:, ::-1]
    mean = np.float32(meta['mean']).reshape(1, 3, 1, 1)
    std = np.float32(meta['std']).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((array - mean) / std)


def parse_value(text):
    """A metadata value: JSON, else the string itself (e.g. ``graph``)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- frame sources ---
# tsm_plugin/online/frames.py has the same readers (with torch around them):
# repeated here on purpose, since this file must run alone on a device.

class VideoFile:
    """Frames of a video file (RGB): decord when installed (as MMAction2
    decodes), else OpenCV."""

    def __init__(self, path, decoder='auto'):
        if not osp.isfile(path):
            raise FileNotFoundError(f'video file not found: {path}')
        self.path, self.reader = path, None
        if decoder in ('auto', 'decord'):
            try:
                import decord
            except ImportError:
                if decoder == 'decord':
                    raise
            else:
                try:
                    self.reader = decord.VideoReader(path, num_threads=1)
                except Exception as error:  # decord does not name the file
                    raise ValueError(f'cannot read video {path}: {error}') \
                        from None
                self.fps = self.reader.get_avg_fps() or 25.0
                self.num_frames = len(self.reader)
        if self.reader is None:
            if cv2 is None:
                raise ImportError('decoding videos needs decord or OpenCV')
            capture = cv2.VideoCapture(path)
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
            self.num_frames = 0
            while capture.grab():
                self.num_frames += 1
            capture.release()
        if self.num_frames == 0:
            raise ValueError(f'cannot read video {path}: no frame decoded')

    def __len__(self):
        return self.num_frames

    def frames(self, indices=None):
        """``(index, RGB frame)`` for each index (ascending unless decord)."""
        indices = range(len(self)) if indices is None else \
            [int(i) for i in indices]
        if self.reader is not None:
            for index in indices:
                yield index, self.reader[index].asnumpy()
            return
        wanted = collections.Counter(indices)
        capture = cv2.VideoCapture(self.path)
        decoded = {}
        for index in range(max(indices, default=-1) + 1):
            ok, bgr = capture.read()
            if not ok:
                break
            if index in wanted:
                decoded[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        capture.release()
        for index in indices:
            yield index, decoded[index]


class Camera:
    """Frames of a camera (OpenCV), RGB."""

    def __init__(self, index):
        if cv2 is None:
            raise ImportError('cameras need OpenCV')
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise ValueError(f'camera {index} did not open (cv2.VideoCapture'
                             f'({index})): check the index and permissions')
        self.path = f'camera {index}'
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 25.0

    def __len__(self):
        return 0  # a live stream

    def frames(self, indices=None):
        index = 0
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                return
            yield index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1


def open_source(source, decoder='auto'):
    """A camera for an integer (or digit string) ``source``, else a file."""
    if isinstance(source, int) or str(source).isdigit():
        return Camera(int(source))
    return VideoFile(source, decoder)


# --- the runner ---

class TSMRunner:
    """An exported TSM graph and the preprocessing its metadata describes.

    Args:
        model (str): the ``.onnx`` file written by
            ``tsm_plugin.deploy.export``.
        frame_step (int | None): streaming: feed every N-th frame (default:
            the graph's ``frame_step``).
        average_last (int | None): streaming: label = top class of the mean
            of the last K per-frame scores (default: ``num_segments``).
        threads (int): ONNX Runtime intra-op threads (0: its default).
        class_names (list[str] | None): overrides the graph's.
        decoder (str): ``'auto'`` (decord if installed, else OpenCV),
            ``'decord'`` or ``'opencv'``.
    """

    def __init__(self, model, frame_step=None, average_last=None, threads=0,
                 class_names=None, decoder='auto'):
        if not osp.isfile(model):
            raise FileNotFoundError(f'model file not found: {model}')
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            model, options, providers=['CPUExecutionProvider'])
        meta = self.session.get_modelmeta().custom_metadata_map
        missing = [k for k in ('graph', 'mean', 'std', 'pipeline',
                               'num_segments') if k not in meta]
        if missing:
            raise ValueError(
                f'{model}: its metadata lacks {missing}; export it again with '
                'this version of tsm_plugin.deploy.export')
        self.meta = {k: parse_value(v) for k, v in meta.items()}
        unsupported = self.meta.get('pipeline_unsupported') or []
        if unsupported:
            raise ValueError(f'{model}: the test pipeline has steps this '
                             f'runner does not reproduce: {unsupported}')
        self.graph = self.meta['graph']
        self.num_segments = int(self.meta['num_segments'])
        self.inputs = self.session.get_inputs()
        self.class_names = class_names or self.meta.get('class_names')
        self.decoder = decoder
        self.frame_step = frame_step or int(self.meta.get('frame_step', 1))
        self.average_last = average_last or int(
            self.meta.get('average_last', self.num_segments))
        for name, value in (('frame_step', self.frame_step),
                            ('average_last', self.average_last)):
            if value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        self.reset()

    def prepare(self, frames, views=True):
        """``prepare_frames`` with this graph's metadata."""
        return prepare_frames(frames, self.meta, views)

    # offline graph
    def sample(self, num_frames):
        """Indices of the frames the test pipeline samples from a video of
        ``num_frames`` frames."""
        spec = self.meta.get('sample_frames')
        if spec is None:
            raise ValueError('the test pipeline samples no frames '
                             '(no SampleFrames)')
        return sample_frames(num_frames, **spec)

    def clip_scores(self, frames):
        """Scores of the offline graph for the sampled RGB frames, the views
        averaged as the head does: ``(num_classes,)``."""
        rows = self.prepare(frames)
        if self.meta.get('layout') != 'NCHW':
            rows = rows.reshape((-1, self.num_segments) + rows.shape[1:])
        (scores, ) = self.session.run(None, {self.inputs[0].name: rows})
        if self.meta.get('average_clips', 'prob') == 'prob':
            return softmax(scores).mean(0)
        return scores.astype(np.float64).mean(0)

    def predict_video(self, path):
        """``inference_recognizer``'s ``pred_score`` for a video file."""
        self.require('offline')
        video = VideoFile(path, self.decoder)
        indices = self.sample(len(video))
        if video.reader is not None:  # as DecordDecode reads them
            frames = list(video.reader.get_batch(list(indices)).asnumpy())
        else:
            frames = [rgb for _, rgb in video.frames(indices)]
        return self.clip_scores(frames)

    # streaming graph
    def reset(self):
        """Start a new stream: zero buffers, empty running average."""
        self.buffers = None
        self.recent = collections.deque(maxlen=self.average_last)

    def step(self, rgb):
        """Feed one RGB frame; returns its per-frame scores (logits)."""
        self.require('streaming')
        frame = self.prepare([rgb], views=False)
        if self.buffers is None:
            self.buffers = [np.zeros([1] + list(i.shape[1:]), np.float32)
                            for i in self.inputs[1:]]
        feed = dict(zip([i.name for i in self.inputs], [frame] + self.buffers))
        scores, *self.buffers = self.session.run(None, feed)
        self.recent.append(scores[0])
        return scores[0]

    @property
    def smoothed_probs(self):
        """Softmax of the mean of the last ``average_last`` frame scores."""
        return softmax(np.mean(np.stack(self.recent), 0, dtype=np.float32))

    def stream(self, source, max_frames=None):
        """Stream a video file or camera: yields ``(frame index, smoothed
        probabilities)`` for every ``frame_step``-th frame."""
        self.require('streaming')
        source = open_source(source, self.decoder) if not hasattr(
            source, 'frames') else source
        total = len(source)
        indices = range(0, total, self.frame_step) if total else None
        self.reset()
        fed = 0
        for index, rgb in source.frames(indices):
            if not total and index % self.frame_step:
                continue
            if max_frames and fed >= max_frames:
                return
            self.step(rgb)
            fed += 1
            yield index, self.smoothed_probs

    def label(self, probs):
        """``(name, probability)`` of the top class."""
        top = int(np.argmax(probs))
        names = self.class_names
        return (names[top] if names and top < len(names) else str(top),
                float(probs[top]))

    def require(self, graph):
        if self.graph != graph:
            raise ValueError(
                f'this is a {self.graph} graph; {graph} use needs a graph '
                f"exported {'with' if graph == 'streaming' else 'without'} "
                '--online')


def progress_bar(done, total, width=20):
    filled = width * done // total
    return f'[{"#" * filled}{"." * (width - filled)}] {done}/{total}'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='python runner.py', description='Run an exported TSM graph on a '
        'video (offline or streaming graph) or a camera (streaming graph), '
        'with numpy, ONNX Runtime and OpenCV only.')
    parser.add_argument('model',
                        help='the .onnx file (tsm_plugin.deploy.export)')
    parser.add_argument('source', help='a video file, or a camera index (0)')
    parser.add_argument('--frame-step', type=int, default=None,
                        help="streaming: feed every N-th frame (default: the "
                        "graph's, from the test pipeline)")
    parser.add_argument('--average-last', type=int, default=None,
                        help='streaming: label = top class of the mean of '
                        'the last K frame scores (default: num_segments)')
    parser.add_argument('--label-map', help='class names, one per line '
                        "(default: the graph's, else class indices)")
    parser.add_argument('--top-k', type=int, default=5,
                        help='offline: print the K best classes')
    parser.add_argument('--print-every', type=int, default=1)
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument('--threads', type=int, default=0,
                        help='ONNX Runtime threads (0: its default)')
    parser.add_argument('--decoder', choices=('auto', 'decord', 'opencv'),
                        default='auto')
    args = parser.parse_args(argv)
    for name in ('frame_step', 'average_last', 'top_k', 'print_every',
                 'max_frames'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1, got '
                         f'{value}')
    return args


def read_label_map(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'label map not found: {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def main(argv=None):
    args = parse_args(argv)
    try:
        names = read_label_map(args.label_map) if args.label_map else None
        runner = TSMRunner(args.model, args.frame_step, args.average_last,
                           args.threads, names, args.decoder)
        if runner.graph == 'offline':
            if str(args.source).isdigit():
                raise ValueError('an offline graph scores whole videos; to '
                                 'stream a camera, export with --online')
            start = time.perf_counter()
            probs = runner.predict_video(args.source)
            took = time.perf_counter() - start
            name, score = runner.label(probs)
            print(f'{args.source}: {name} {score:.2f} ({took * 1e3:.0f} ms)')
            for top in np.argsort(-probs)[:args.top_k]:
                print(f'  {runner.label(np.eye(len(probs))[top])[0]}: '
                      f'{probs[top]:.4f}')
            return probs
        source = open_source(args.source, args.decoder)
    except (FileNotFoundError, ValueError, ImportError) as error:
        sys.exit(f'error: {error}')
    total = len(source)
    num_fed = len(range(0, total, runner.frame_step)) if total else 0
    if args.max_frames and total:
        num_fed = min(num_fed, args.max_frames)
    fed, label, last = 0, None, time.perf_counter()
    steps = []
    for fed, (index, probs) in enumerate(runner.stream(source,
                                                       args.max_frames), 1):
        now = time.perf_counter()
        steps.append(now - last)
        last = now
        label, score = runner.label(probs)
        if (fed - 1) % args.print_every == 0 or fed == num_fed:
            where = progress_bar(fed, num_fed) if num_fed else \
                f'frame {index}'
            print(f'{where}  frame {index}: {label} {score:.2f}  '
                  f'step {steps[-1] * 1e3:.1f} ms', flush=True)
    if not fed:
        sys.exit(f'error: no frame read from {source.path}')
    print(f'{fed} frames from {source.path}: last label {label}; mean step '
          f'{1e3 * sum(steps) / len(steps):.1f} ms (with decoding)')
    return label


if __name__ == '__main__':
    main()
