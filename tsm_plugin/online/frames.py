"""Frames for streaming: sources (video file, camera) and the config's own
test-time preprocessing, applied to one frame at a time."""
import os.path as osp

import cv2
import numpy as np
from mmengine.dataset import Compose, pseudo_collate

# Test-pipeline steps that read or sample whole videos: the stream replaces them.
VIDEO_STEPS = {'DecordInit', 'DecordDecode', 'OpenCVInit', 'OpenCVDecode',
               'PyAVInit', 'PyAVDecode', 'PIMSInit', 'PIMSDecode',
               'SampleFrames', 'UntrimmedSampleFrames', 'DenseSampleFrames',
               'SampleAVAFrames', 'RawFrameDecode'}
# Multi-view test crops: one view per frame in a stream (as MMAction2's webcam
# demo does), the centre crop of the same size.
MULTI_CROPS = {'ThreeCrop', 'TenCrop'}


def config_test_pipeline(cfg):
    """The config's ``test_pipeline``, else its test dataset's pipeline."""
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'pipeline')
    if pipeline is None:
        raise ValueError('the config defines neither test_pipeline nor '
                         'test_dataloader.dataset.pipeline')
    return pipeline


def frame_pipeline_cfg(cfg):
    """The test pipeline for one decoded frame (a clip of 1 frame)."""
    steps = []
    for step in config_test_pipeline(cfg):
        kind = step['type'].split('.')[-1]
        if kind in VIDEO_STEPS:
            continue
        if kind in MULTI_CROPS:
            step = dict(type='CenterCrop', crop_size=step['crop_size'])
        if kind == 'FormatShape' and step.get('input_format') != 'NCHW':
            raise ValueError(
                'streaming feeds a 2D recognizer frame by frame: the test '
                "pipeline's FormatShape must be input_format='NCHW', got "
                f"{step.get('input_format')!r}")
        steps.append(step)
    return steps


class FramePreprocessor:
    """RGB frame (H, W, 3) uint8 -> model input (1, 3, h, w), through the
    config's test pipeline (resize, crop, ...) and the model's data
    preprocessor (normalisation), exactly as the offline test path does."""

    def __init__(self, recognizer, cfg):
        self.pipeline = Compose(frame_pipeline_cfg(cfg))
        self.data_preprocessor = recognizer.data_preprocessor

    def __call__(self, rgb):
        height, width = rgb.shape[:2]
        results = dict(imgs=[rgb], img_shape=(height, width),
                       original_shape=(height, width), modality='RGB',
                       num_clips=1, clip_len=1, start_index=0,
                       frame_inds=np.array([0]), label=-1)
        data = pseudo_collate([self.pipeline(results)])
        inputs = self.data_preprocessor(data, training=False)['inputs']
        return inputs.flatten(0, 1)  # (1 clip, 1 frame, 3, h, w) -> (1, 3, h, w)


class VideoFile:
    """Frames of a video file, decoded one by one with decord (RGB)."""

    def __init__(self, path):
        import decord
        if not osp.isfile(path):
            raise FileNotFoundError(f'video file not found: {path}')
        try:
            self.reader = decord.VideoReader(path)
        except Exception as error:  # decord's message does not name the file
            raise ValueError(f'cannot read video {path}: {error}') from None
        if len(self.reader) == 0:
            raise ValueError(f'video {path} holds no frames')
        self.path = path
        self.fps = self.reader.get_avg_fps() or 25.0

    def __len__(self):
        return len(self.reader)

    def frames(self, indices=None):
        """``(index, RGB frame)`` for each index (default: all frames)."""
        for index in range(len(self)) if indices is None else indices:
            yield int(index), self.reader[int(index)].asnumpy()


class Camera:
    """Frames of a camera, read with OpenCV (converted to RGB)."""

    def __init__(self, index):
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise ValueError(f'camera {index} did not open (cv2.VideoCapture'
                             f'({index})): check the index and permissions')
        self.path = f'camera {index}'
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 25.0

    def __len__(self):
        return 0  # unknown: a live stream

    def frames(self, indices=None):
        index = 0
        while True:
            ok, bgr = self.capture.read()
            if not ok:
                return
            yield index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1


def open_source(source):
    """A camera for an integer (or digit string) ``source``, else a video file."""
    if isinstance(source, int) or str(source).isdigit():
        return Camera(int(source))
    return VideoFile(source)


def read_label_map(path):
    """Class names, one per line (MMAction2's ``label_map_*.txt``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'label map not found: {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def draw_label(rgb, text):
    """BGR copy of ``rgb`` with ``text`` on a dark band at the top."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    scale = max(rgb.shape[0] / 400, 0.3)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(bgr, (0, 0), (min(w + 4, bgr.shape[1]), h + base + 4),
                  (0, 0, 0), -1)
    cv2.putText(bgr, text, (2, h + 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), 1, cv2.LINE_AA)
    return bgr

