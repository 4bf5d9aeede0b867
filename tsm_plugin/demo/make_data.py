"""Make the demo data set: two classes that differ only in the direction of time.

Each *base clip* is a window panning across a random picture (smooth colour
noise plus random shapes, lit from the right): the window moves rightwards, up
to 60 degrees off the horizontal, at a random speed, so the scene drifts
leftwards and the view brightens. The clip is written forward as class 0 ("pan
right") and time-reversed as class 1 ("pan left"). Both videos hold exactly the
same frames, so a model that averages per-frame features (TSN) cannot do better
than chance; only the order of the frames tells the classes apart. The order
shows twice: in the motion of every edge, which the temporal shift lets a 2D CNN
see, and in the brightness drifting up or down along the clip, which TAda2D's
calibration (built from per-frame channel averages) sees; on unlit scenes TAda2D
stayed at chance (see README).

Files: ``OUT/{train,val,test}/NNNNN_L.mp4`` (base clip NNNNN, label L) and
the MMAction2 ``VideoDataset`` annotations ``OUT/{train,val,test}.txt`` (lines
``train/00000_0.mp4 0``). The test split, unseen while the best epoch is picked
on val, gives the unbiased accuracy. Every clip has its own random generator,
seeded by (seed, split, index): same arguments, same files.

Usage: ``python -m tsm_plugin.demo.make_data OUT [--num-train N] [--num-val M]
[--num-test M] [--size S] [--frames F] [--seed K] [--light L]``
"""
import argparse
import math
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('pan right', 'pan left')  # label 0: as drawn, 1: time-reversed
SPLITS = ('train', 'val', 'test')
FPS = 8
MAX_ANGLE = math.radians(60)  # off the horizontal, so the class stays clear
SPEED_RANGE = (1.0, 2.5)  # pixels per frame at size 64; scaled with size
# Light from the right: brightness times 1 - LIGHT at the picture's left edge,
# 1 + LIGHT at its right edge, so a window panning rightwards brightens (first
# to last frame, size 64, 16 frames: median +17% of the clip's mean, 10th
# percentile +10%) and the reversed clip darkens. 0: evenly lit.
LIGHT = 0.5


def random_picture(rng, height, width, window, light=LIGHT):
    """Smooth random colours with random filled circles and rectangles, about
    8 to 16 shapes per ``window x window`` area (their edges carry the motion),
    lit from the right (brightness x ``1 - light`` at the left edge to
    x ``1 + light`` at the right)."""
    coarse = rng.uniform(40, 215, size=(6, 6, 3)).astype(np.float32)
    picture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    picture = np.ascontiguousarray(np.clip(picture, 0, 255).astype(np.uint8))
    num_shapes = int(rng.integers(8, 16) * height * width / window**2)
    for _ in range(num_shapes):
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(window // 24 + 2, window // 8 + 3))
        if rng.random() < 0.5:
            cv2.circle(picture, (x, y), r, color, thickness=-1)
        else:
            cv2.rectangle(picture, (x - r, y - r), (x + r, y + r), color,
                          thickness=-1)
    gain = np.linspace(1 - light, 1 + light, width, dtype=np.float32)
    return np.clip(picture * gain[None, :, None], 0, 255).astype(np.uint8)


def make_clip(rng, size=64, frames=16, light=LIGHT):
    """One base clip (class 0), ``frames x size x size x 3`` RGB uint8.

    A ``size x size`` window pans over a larger random picture with constant
    velocity: rightwards (vx > 0), random angle and speed.
    """
    angle = rng.uniform(-MAX_ANGLE, MAX_ANGLE)
    speed = rng.uniform(*SPEED_RANGE) * size / 64
    vx, vy = speed * math.cos(angle), speed * math.sin(angle)
    dx, dy = vx * (frames - 1), vy * (frames - 1)  # the whole path
    margin = int(math.ceil(speed * (frames - 1))) + 1
    picture = random_picture(rng, size + 2 * margin, size + 2 * margin, size,
                             light)
    # start where the whole path stays inside the picture
    x0 = rng.uniform(0, 2 * margin - dx)
    y0 = rng.uniform(max(0, -dy), 2 * margin - max(0, dy))
    clip = []
    for t in range(frames):
        x, y = int(round(x0 + vx * t)), int(round(y0 + vy * t))
        clip.append(picture[y:y + size, x:x + size])
    return np.stack(clip)


def write_video(path, clip):
    """Write RGB frames to an .mp4 (MPEG-4 part 2, readable by decord)."""
    height, width = clip.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), FPS,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path} with codec mp4v')
    for frame in clip:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def check_decodable(path, frames, size):
    """decord 0.6.0 misreads some sizes (e.g. 16, 24, 48, 72: 4 or 6
    'channels'): fail here, not in the middle of training."""
    import decord
    reader = decord.VideoReader(path)
    try:
        shape = reader.get_batch([0]).shape
    except decord.DECORDError:
        shape = None
    if len(reader) != frames or shape != (1, size, size, 3):
        raise ValueError(f'decord cannot read {size}x{size} videos written by '
                         'OpenCV (mp4v) here; choose another size, e.g. 32, '
                         '40, 56 or 64')


def make_split(out_dir, split, num_videos, size, frames, seed, light=LIGHT):
    """Write ``num_videos // 2`` base clips, each forward and reversed."""
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    lines, videos = [], []
    for index in range(num_videos // 2):
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        clip = make_clip(rng, size, frames, light)
        for label, frames_in_order in enumerate((clip, clip[::-1])):
            name = f'{split}/{index:05d}_{label}.mp4'
            write_video(osp.join(out_dir, name), frames_in_order)
            lines.append(f'{name} {label}\n')
            videos.append(osp.join(out_dir, name))
    check_decodable(videos[0], frames, size)
    ann_file = osp.join(out_dir, f'{split}.txt')
    with open(ann_file, 'w') as f:
        f.writelines(lines)
    return ann_file, videos


def make_dataset(out_dir, num_train=400, num_val=200, size=64, frames=16,
                 seed=0, num_test=None, light=LIGHT):
    """Write the demo data set into ``out_dir``; return the written paths.

    ``num_train`` / ``num_val`` / ``num_test`` (default: ``num_val``) count
    videos and must be even (each base clip gives one video per class).
    ``light`` in [0, 1): how unevenly the scenes are lit (see ``LIGHT``).
    Returns a dict with ``data_root``, ``ann_file_{train,val,test}`` and
    ``{train,val,test}_videos`` (lists of paths).
    """
    num_test = num_val if num_test is None else num_test
    numbers = dict(train=num_train, val=num_val, test=num_test)
    for split, number in numbers.items():
        if number < 2 or number % 2:
            raise ValueError(f'num_{split} must be even and >= 2 (one video per '
                             f'class for each base clip), got {number}')
    if size < 16 or size % 2:
        raise ValueError(f'size must be even and >= 16, got {size}')
    if frames < 2:
        raise ValueError(f'frames must be >= 2, got {frames}')
    if not 0 <= light < 1:
        raise ValueError(f'light must be in [0, 1), got {light}')
    paths = dict(data_root=out_dir)
    for split, number in numbers.items():
        paths[f'ann_file_{split}'], paths[f'{split}_videos'] = make_split(
            out_dir, split, number, size, frames, seed, light)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=400,
                        help='training videos (even)')
    parser.add_argument('--num-val', type=int, default=200,
                        help='validation videos (even)')
    parser.add_argument('--num-test', type=int, default=None,
                        help='test videos (even; default: as --num-val)')
    parser.add_argument('--size', type=int, default=64, help='frame side')
    parser.add_argument('--frames', type=int, default=16,
                        help='frames per video')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--light', type=float, default=LIGHT,
                        help='scenes lit from the right: brightness x (1 - L) '
                        'at the left edge to x (1 + L) at the right; 0: even')
    args = parser.parse_args(argv)
    paths = make_dataset(args.out_dir, args.num_train, args.num_val,
                         args.size, args.frames, args.seed, args.num_test,
                         args.light)
    counts = ', '.join(f'{len(paths[f"{split}_videos"])} {split}'
                       for split in SPLITS)
    print(f'wrote {counts} videos to {args.out_dir}')


if __name__ == '__main__':
    main()
