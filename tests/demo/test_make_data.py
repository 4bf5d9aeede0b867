"""The demo data: deterministic, decodable, and different only in time order."""
import os.path as osp

import decord
import numpy as np
import pytest

import tsm_plugin  # noqa: F401  (repairs the stack before mmaction imports)
from tsm_plugin.demo.make_data import main, make_clip, make_dataset

SIZE, FRAMES = 32, 8
# mp4v is lossy (and subsamples colour): mean absolute differences, in 0..255
# levels, measured at 32x32: twins through the codec ~5, decoded vs generated
# ~10, unrelated or misordered clips > 20.
CODEC_TOLERANCE = 8.0
GENERATED_TOLERANCE = 15.0


def decode(path):
    reader = decord.VideoReader(path)
    return reader.get_batch(list(range(len(reader)))).asnumpy().astype(float)


def mean_abs(a, b):
    return float(np.abs(a - b).mean())


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo_data'))
    return make_dataset(out, num_train=6, num_val=2, size=SIZE, frames=FRAMES,
                        seed=3)


def test_written_paths_and_annotations(dataset):
    for split, count in (('train', 6), ('val', 2), ('test', 2)):
        with open(dataset[f'ann_file_{split}']) as f:
            lines = f.read().splitlines()
        assert len(lines) == count == len(dataset[f'{split}_videos'])
        for line, video in zip(lines, dataset[f'{split}_videos']):
            name, label = line.split(' ')
            assert name.startswith(f'{split}/') and name.endswith('.mp4')
            assert osp.join(dataset['data_root'], name) == video
            assert osp.isfile(video)
            assert label == name[-5]  # NNNNN_<label>.mp4
        # each base clip gives one video of each class
        assert [line.split()[1] for line in lines] == ['0', '1'] * (count // 2)


def test_same_seed_same_data(dataset, tmp_path):
    again = make_dataset(str(tmp_path / 'again'), num_train=6, num_val=2,
                         size=SIZE, frames=FRAMES, seed=3)
    other = make_dataset(str(tmp_path / 'other'), num_train=6, num_val=2,
                         size=SIZE, frames=FRAMES, seed=4)
    for split in ('train', 'val', 'test'):
        for key in (f'ann_file_{split}', ):
            with open(dataset[key]) as a, open(again[key]) as b:
                assert a.read() == b.read()
        for first, second, third in zip(dataset[f'{split}_videos'],
                                        again[f'{split}_videos'],
                                        other[f'{split}_videos']):
            assert np.array_equal(decode(first), decode(second))
            assert mean_abs(decode(first), decode(third)) > 10  # seed matters


def test_splits_hold_different_clips(dataset):
    train, val, test = (decode(dataset[f'{s}_videos'][0])
                        for s in ('train', 'val', 'test'))
    assert mean_abs(train, val) > 10
    assert mean_abs(val, test) > 10


def test_decord_reads_exact_frame_count(tmp_path):
    paths = make_dataset(str(tmp_path), num_train=2, num_val=2, size=40,
                         frames=13)
    for video in paths['train_videos'] + paths['test_videos']:
        reader = decord.VideoReader(video)
        assert len(reader) == 13
        assert reader.get_batch([0, 12]).shape == (2, 40, 40, 3)


def test_decoded_video_is_the_generated_clip(dataset):
    # the first training clip comes from the generator seeded (seed, 0, 0)
    clip = make_clip(np.random.default_rng([3, 0, 0]), SIZE, FRAMES)
    written = decode(dataset['train_videos'][0])
    assert mean_abs(written, clip) < GENERATED_TOLERANCE
    other = make_clip(np.random.default_rng([3, 0, 1]), SIZE, FRAMES)
    assert mean_abs(written, other) > GENERATED_TOLERANCE


def test_class_1_is_class_0_reversed(dataset):
    for index in range(3):
        forward = decode(dataset['train_videos'][2 * index])
        backward = decode(dataset['train_videos'][2 * index + 1])
        assert mean_abs(forward, backward[::-1]) < CODEC_TOLERANCE
        # ...and the order matters: the scene moves
        assert mean_abs(forward, backward) > 2 * CODEC_TOLERANCE
        # what a frame-averaging model (TSN) sees is the same in both classes
        assert mean_abs(forward.mean(0), backward.mean(0)) < CODEC_TOLERANCE


def displacement(earlier, later, reach=8):
    """(dy, dx) such that ``later[y, x] ~ earlier[y + dy, x + dx]``."""
    size = earlier.shape[0]
    inner = later[reach:size - reach, reach:size - reach]
    errors = {(dy, dx): mean_abs(inner, earlier[reach + dy:size - reach + dy,
                                                reach + dx:size - reach + dx])
              for dy in range(-reach, reach + 1)
              for dx in range(-reach, reach + 1)}
    return min(errors, key=errors.get)


@pytest.mark.parametrize('seed', range(4))
def test_class_0_pans_rightwards(seed):
    """The window moves right: content seen later sits further right."""
    clip = make_clip(np.random.default_rng(seed), size=64, frames=4)
    dy, dx = displacement(clip[0].astype(float), clip[3].astype(float))
    assert dx > 0
    assert abs(dy) <= dx * 2  # at most 60 degrees off the horizontal (+rounding)


def brightening(light, clips=40):
    """Per base clip, last frame's mean minus first frame's, over the clip's
    mean (size 64, 16 frames, as the demo)."""
    changes = []
    for index in range(clips):
        clip = make_clip(np.random.default_rng([0, 0, index]), 64, 16,
                         light).astype(float)
        means = clip.mean(axis=(1, 2, 3))
        changes.append((means[-1] - means[0]) / means.mean())
    return np.array(changes)


def test_lit_scene_brightens_as_it_pans_right():
    """The light from the right gives the direction away in the frames' mean
    brightness (what TAda2D's calibration sees): class 0 brightens, class 1
    (reversed) darkens; evenly lit scenes (light=0) show no such trend."""
    lit, even = brightening(0.5), brightening(0.0)
    assert (lit > 0).mean() >= 0.95
    assert np.median(lit) > 0.1
    assert abs(np.median(even)) < 0.03
    assert (even > 0).mean() < 0.8  # no direction to read off


def test_rejects_odd_counts(tmp_path):
    with pytest.raises(ValueError, match='num_train'):
        make_dataset(str(tmp_path), num_train=3, num_val=2)
    with pytest.raises(ValueError, match='num_test'):
        make_dataset(str(tmp_path), num_train=2, num_val=2, num_test=1)


@pytest.mark.parametrize('light', [-0.1, 1.0])
def test_rejects_light_outside_0_1(tmp_path, light):
    with pytest.raises(ValueError,
                       match=rf'light must be in \[0, 1\), got {light}'):
        make_dataset(str(tmp_path), num_train=2, num_val=2, light=light)


def test_command_line(tmp_path, capsys):
    main([str(tmp_path), '--num-train', '2', '--num-val', '2', '--size', '32',
          '--frames', '4', '--seed', '3'])
    assert '2 train, 2 val, 2 test' in capsys.readouterr().out
    with open(tmp_path / 'val.txt') as f:
        assert f.read() == 'val/00000_0.mp4 0\nval/00000_1.mp4 1\n'


def test_annotations_load_in_mmaction_video_dataset(dataset):
    from mmaction.datasets import VideoDataset
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    data = VideoDataset(
        ann_file='train.txt', data_root=dataset['data_root'],
        data_prefix=dict(video=''), pipeline=[
            dict(type='DecordInit'),
            dict(type='SampleFrames', clip_len=1, frame_interval=1,
                 num_clips=4, test_mode=True),
            dict(type='DecordDecode'),
            dict(type='FormatShape', input_format='NCHW'),
            dict(type='PackActionInputs')
        ], test_mode=True)
    assert len(data) == 6
    info = data.get_data_info(1)
    assert info['filename'] == dataset['train_videos'][1]
    assert info['label'] == 1
    sample = data[1]
    assert tuple(sample['inputs'].shape) == (4, 3, SIZE, SIZE)
    assert sample['data_samples'].gt_label.item() == 1


def test_rejects_sizes_decord_misreads(tmp_path):
    with pytest.raises(ValueError, match='decord cannot read 48x48'):
        make_dataset(str(tmp_path), num_train=2, num_val=2, size=48)
