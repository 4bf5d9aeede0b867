"""Fixtures of the config tests: mmaction's default scope, a tiny real video,
tiny random frames."""
import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import tsm_plugin  # noqa: F401  (stack fixes, plugin registry)


@pytest.fixture(autouse=True, scope='package')
def one_thread():
    """Tiny forwards: on a busy 2-core machine OpenMP's second thread mostly
    waits (measured 10x slower than one thread here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def mmaction_scope():
    # what the runner does with the configs' default_scope='mmaction'
    init_default_scope('mmaction')


@pytest.fixture(scope='session')
def tiny_video(tmp_path_factory):
    """A real 64x48, 40-frame mp4 (mp4v) of random blocks: decord reads it."""
    path = tmp_path_factory.mktemp('video') / 'tiny.mp4'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(40):
        blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        writer.write(cv2.resize(blocks, (64, 48),
                                interpolation=cv2.INTER_NEAREST))
    writer.release()
    assert path.stat().st_size > 0
    return str(path)


@pytest.fixture
def tiny_frames():
    def make(n, frames, side=32, seed=0):
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, frames, 3, side, side, generator=gen)
    return make
