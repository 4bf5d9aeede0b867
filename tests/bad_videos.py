"""A tiny demo data set with one broken entry of each kind, for the tests of
``tsm_plugin.datasets`` and ``tsm_plugin.tools.check_data``."""
import os
import struct

import cv2
import numpy as np

from tsm_plugin.demo.make_data import make_clip, make_dataset, write_video

# kind: (split, line of the split's list); train/val videos have 8 frames
BROKEN = {
    'empty': ('train', 2),  # 0 bytes
    'random_bytes': ('train', 3),  # 3000 random bytes
    'no_frames': ('train', 5),  # an mp4 written with no frame
    'too_short': ('train', 6),  # 2 frames; the demo's SampleFrames needs 4
    'truncated': ('train', 7),  # cut inside its last frame: the tail fails
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


# MP4 boxes that hold other boxes, on the way from moov to the sample tables
MP4_CONTAINERS = {b'moov', b'trak', b'mdia', b'minf', b'stbl'}


def mp4_boxes(data, start=0, end=None, kind=None):
    """``(kind, offset, size)`` of the boxes in ``data[start:end]``, with the
    boxes inside containers when ``kind`` is given (only those of ``kind``)."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, found = struct.unpack('>I4s', data[start:start + 8])
        if kind is None or found == kind:
            yield found, start, size
        if kind is not None and found in MP4_CONTAINERS:
            yield from mp4_boxes(data, start + 8, start + size, kind)
        start += size


def truncate_inside_last_frame(path):
    """Rewrite the .mp4 at ``path`` as a cut-off download: the index (moov)
    first, as streamed files have it (OpenCV writes it last, where a cut
    would make the file unreadable at once), then the frame data cut one
    byte into the last frame. The file opens and reports all its frames;
    its last frame does not decode."""
    with open(path, 'rb') as f:
        data = f.read()
    boxes = {kind: (offset, size) for kind, offset, size in mp4_boxes(data)}
    moov_at, moov_size = boxes[b'moov']
    moov = bytearray(data[moov_at:moov_at + moov_size])
    for _, at, _ in mp4_boxes(moov, 8, kind=b'stco'):  # chunk offsets
        (count, ) = struct.unpack('>I', moov[at + 12:at + 16])
        for entry in range(at + 16, at + 16 + 4 * count, 4):
            (offset, ) = struct.unpack('>I', moov[entry:entry + 4])
            struct.pack_into('>I', moov, entry, offset + moov_size)
    ((_, at, _), ) = mp4_boxes(moov, 8, kind=b'stsz')  # sample sizes
    uniform, count = struct.unpack('>II', moov[at + 12:at + 20])
    last_size = uniform or struct.unpack(
        '>I', moov[at + 16 + 4 * count:at + 20 + 4 * count])[0]
    assert moov_at + moov_size == len(data), 'expected the index last'
    ftyp_end = sum(boxes[b'ftyp'])
    frame_data = data[ftyp_end:moov_at]  # ends with the last frame's bytes
    with open(path, 'wb') as f:
        f.write(data[:ftyp_end] + bytes(moov) +
                frame_data[:len(frame_data) - last_size + 1])


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
                make_clip(np.random.default_rng(0), size=32, frames=2))
    truncate_inside_last_frame(paths['truncated'])
    os.remove(paths['missing'])
    good = os.path.relpath(listed_video(root, 'test', 1), root)
    with open(os.path.join(root, MALFORMED_LIST), 'w') as f:
        f.write(f'{good} 0\n{good} x\n{good}  1\n\n{good} 7\n')
    return paths
