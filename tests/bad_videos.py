"""A tiny demo data set with one broken entry of each kind, for the tests of
``tsm_plugin.datasets`` and ``tsm_plugin.check_data``."""
import os

import cv2
import numpy as np

from tsm_plugin.demo.make_data import make_clip, make_dataset, write_video

# kind: (split, line of the split's list); train/val videos have 8 frames
BROKEN = {
    'empty': ('train', 2),  # 0 bytes
    'random_bytes': ('train', 3),  # 3000 random bytes
    'no_frames': ('train', 5),  # an mp4 written with no frame
    'too_short': ('train', 6),  # 4 frames; SampleFrames(1, 1, 8) needs 8
    'missing': ('val', 2),  # listed, not on disk
}
# the lines of MALFORMED_LIST, and what is wrong with each
MALFORMED_LIST = 'malformed.txt'
MALFORMED = {
    2: 'label \'x\' is not an integer',
    3: '3 fields',
    4: 'empty line',
}
LABEL_OUT_OF_RANGE = 5  # well-formed line of MALFORMED_LIST, label 7 of 2


def listed_video(root, split, line):
    """The path of the video on ``line`` (from 1) of ``root/{split}.txt``."""
    with open(os.path.join(root, f'{split}.txt')) as f:
        name = f.read().splitlines()[line - 1].split()[0]
    return os.path.join(root, name)


def make_bad_dataset(root):
    """8 train, 4 val, 2 test videos (32x32, 8 frames) in ``root``, broken as
    ``BROKEN`` says, and ``MALFORMED_LIST``. Returns ``{kind: path}``."""
    make_dataset(str(root), num_train=8, num_val=4, num_test=2, size=32,
                 frames=8)
    paths = {kind: listed_video(root, *where) for kind, where in BROKEN.items()}
    open(paths['empty'], 'wb').close()
    with open(paths['random_bytes'], 'wb') as f:
        f.write(np.random.default_rng(0).bytes(3000))
    writer = cv2.VideoWriter(paths['no_frames'],
                             cv2.VideoWriter_fourcc(*'mp4v'), 8, (32, 32))
    writer.release()
    write_video(paths['too_short'],
                make_clip(np.random.default_rng(0), size=32, frames=4))
    os.remove(paths['missing'])
    good = os.path.relpath(listed_video(root, 'test', 1), root)
    with open(os.path.join(root, MALFORMED_LIST), 'w') as f:
        f.write(f'{good} 0\n{good} x\n{good}  1\n\n{good} 7\n')
    return paths
