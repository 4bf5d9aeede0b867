"""The plugin's VideoDataset, built as stock configs build it
(``type='VideoDataset'`` from MMAction2's registry), names bad data by file
and annotation line: malformed lines and missing files when the list loads,
videos that fail to open or decode when a sample loads."""
import mmaction.datasets
import pytest
from bad_videos import BROKEN, MALFORMED, MALFORMED_LIST, make_bad_dataset
from mmaction.registry import DATASETS as MMACTION_DATASETS
from mmengine.registry import init_default_scope

from tsm_plugin.datasets import BadVideoError, VideoDataset
from tsm_plugin.datasets.annotations import parse_line

PIPELINE = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
    dict(type='DecordDecode'),
]


@pytest.fixture(scope='module')
def bad_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_videos')
    make_bad_dataset(root)
    return root


def build(root, ann_file, pipeline=PIPELINE, **kwargs):
    """As the runner builds a stock config's dataset."""
    init_default_scope('mmaction')
    return MMACTION_DATASETS.build(dict(
        type='VideoDataset', data_root=str(root), ann_file=ann_file,
        data_prefix=dict(video=''), pipeline=pipeline, **kwargs))


def test_stock_name_builds_the_plugin_subclass():
    for name in ('VideoDataset', 'mmaction.VideoDataset',
                 'tsm_plugin.VideoDataset'):
        assert MMACTION_DATASETS.get(name) is VideoDataset
    assert issubclass(VideoDataset, mmaction.datasets.VideoDataset)
    assert mmaction.datasets.VideoDataset is not VideoDataset  # untouched


def test_malformed_lines_named_at_load(bad_root):
    with pytest.raises(ValueError) as info:
        build(bad_root, MALFORMED_LIST)
    message = str(info.value)
    assert f'3 malformed line(s) in the annotation list ' \
           f'{bad_root / MALFORMED_LIST}' in message
    for line, reason in MALFORMED.items():
        assert f'line {line}: ' in message and reason in message
    assert 'line 1:' not in message


@pytest.mark.parametrize('text, expected', [
    ('a.mp4 3', ('a.mp4', 3)), ('a.mp4', ('a.mp4', -1)),
    ('  a.mp4 3  ', ('a.mp4', 3))])
def test_parse_line_as_mmaction(text, expected):
    assert parse_line(text) == expected
    assert parse_line('a.mp4,1,2', ',', multi_class=True) == ('a.mp4', [1, 2])


def test_missing_file_named_at_load(bad_root):
    split, line = BROKEN['missing']
    with pytest.raises(FileNotFoundError) as info:
        build(bad_root, f'{split}.txt', test_mode=True)
    message = str(info.value)
    assert f'1 of the 4 videos listed in {bad_root / "val.txt"} do not ' \
           'exist' in message
    assert f'line {line}: {bad_root}/{split}/' in message
    # the check can be switched off; then the sample names it when it loads
    dataset = build(bad_root, f'{split}.txt', test_mode=True,
                    check_files=False)
    with pytest.raises(BadVideoError, match=f'line {line} of .*val.txt'):
        dataset[line - 1]


@pytest.mark.parametrize('kind, cause', [
    ('empty', 'Error reading 0 bytes'),
    ('random_bytes', 'Error reading 3000 bytes'),
    ('no_frames', 'cannot find video stream')])
@pytest.mark.parametrize('test_mode', [False, True])
def test_undecodable_video_named_with_label_and_line(bad_root, kind, cause,
                                                     test_mode):
    split, line = BROKEN[kind]
    dataset = build(bad_root, f'{split}.txt', test_mode=test_mode)
    info = dataset.get_data_info(line - 1)
    assert info['ann_line'] == line
    with pytest.raises(BadVideoError) as error:
        dataset[line - 1]
    message = str(error.value)
    assert message.startswith(
        f'loading video {info["filename"]} (label {info["label"]}, line '
        f'{line} of {bad_root / "train.txt"}) failed: ')
    assert cause in message
    assert 'tsm_plugin.tools.check_data' in message
    assert error.value.__cause__ is not None  # decord's error, chained
    assert len(dataset[0]['imgs']) == 8  # good videos load as before


def test_too_short_video_loads_with_repeated_frames(bad_root):
    # MMAction2's sampler repeats frames of a short video: not an error while
    # training (check_data reports it)
    split, line = BROKEN['too_short']
    sample = build(bad_root, f'{split}.txt')[line - 1]
    assert len(sample['imgs']) == 8 and sample['total_frames'] == 2


def test_opencv_pipeline_names_the_video_too(bad_root):
    split, line = BROKEN['random_bytes']
    pipeline = [dict(type='OpenCVInit'), *PIPELINE[1:2],
                dict(type='OpenCVDecode')]
    dataset = build(bad_root, f'{split}.txt', pipeline)
    with pytest.raises(BadVideoError, match=f'line {line} of .*train.txt'):
        dataset[line - 1]
    assert len(dataset[0]['imgs']) == 8
