"""``python -m tsm_plugin.tools.check_data``: every broken entry of a config's
data sets named by list, line, path and reason; exit status 1 when any."""
import faulthandler
import os
import runpy
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from bad_videos import (BROKEN, LABEL_OUT_OF_RANGE, MALFORMED,
                        MALFORMED_LIST, listed_video, make_bad_dataset)
from mmaction.datasets.transforms import (DecordInit, DenseSampleFrames,
                                          SampleFrames, UniformSample)
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tsm_plugin.tools import check_data

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'tsm_r18_demo.py'
REASONS = {
    'empty': 'empty file (0 bytes)',
    'random_bytes': 'cannot open: RuntimeError: Error reading 3000 bytes',
    'no_frames': 'cannot open: DECORDError',
    'too_short': 'only 2 frames, at least 4 needed',
    'truncated': 'frames [0, 4, 7] of 8 do not decode: DECORDError',
    'missing': 'file not found',
}


@pytest.fixture(scope='module')
def bad_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_videos')
    return root, make_bad_dataset(root)


def options(root, *extra):
    return ['--cfg-options', *(f'{split}_dataloader.dataset.data_root={root}'
                               for split in check_data.SPLITS), *extra]


def test_cli_names_every_bad_entry(bad_root, tmp_path, monkeypatch, capsys):
    # `python -m tsm_plugin.tools.check_data ...`, run in this process (as
    # __main__: the entry point and its exit status; no interpreter start)
    root, paths = bad_root
    out = tmp_path / 'bad.tsv'
    monkeypatch.setattr(sys, 'argv', [
        'check_data', str(DEMO_CONFIG), '--workers', '2', '--out', str(out),
        *options(root, f'test_dataloader.dataset.ann_file={MALFORMED_LIST}')])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module('tsm_plugin.tools.check_data', run_name='__main__',
                         alter_sys=True)
    result = capsys.readouterr()
    assert exit_.value.code == 1, result.out + result.err
    result = SimpleNamespace(stdout=result.out, stderr=result.err)
    report = result.stdout.split('bad entries:\n')[1].splitlines()
    expected = [f'{root}/{split}.txt:{line}: [{split}] {paths[kind]}: '
                f'{REASONS[kind]}' for kind, (split, line) in BROKEN.items()]
    expected += [f'{root}/{MALFORMED_LIST}:{line}: [test] ' for line in
                 (*MALFORMED, LABEL_OUT_OF_RANGE)]
    assert len(report) == len(expected)  # nothing else, each once, in order
    for row, start in zip(report, expected):
        assert row.strip().startswith(start), (row, start)
    for row, reason in zip(report[len(BROKEN):], MALFORMED.values()):
        assert f'malformed line: {reason}' in row
    assert report[-1].endswith(
        'label 7 outside 0..1 (model.cls_head.num_classes=2)')
    assert len(out.read_text().splitlines()) == len(expected)
    assert 'checking videos' in result.stderr  # the progress bar
    assert 'videos/s' in result.stdout


def test_good_split_passes_and_min_frames_applies(bad_root, capsys):
    root, _ = bad_root
    args = [str(DEMO_CONFIG), '--split', 'test', '--workers', '1',
            '--no-progress', *options(root)]
    assert check_data.main(args) == 0
    assert 'all videos and annotation lines are good' in capsys.readouterr().out
    assert check_data.main([*args[:-4], '--min-frames', '9',
                            *args[-4:]]) == 1
    report = capsys.readouterr().out.split('bad entries:\n')[1]
    assert report.count('only 8 frames, at least 9 needed') == 2


def test_bad_arguments_refused(capsys):
    for flag in ('--workers', '--min-frames'):
        with pytest.raises(SystemExit):
            check_data.parse_args([str(DEMO_CONFIG), flag, '0'])
        assert f'{flag} must be >= 1, got 0' in capsys.readouterr().err


@pytest.mark.parametrize('sampler, frames', [
    (SampleFrames(clip_len=1, frame_interval=1, num_clips=8), 8),  # TSM
    (SampleFrames(clip_len=1, num_clips=16, test_mode=True), 16),
    (SampleFrames(clip_len=8, frame_interval=8, num_clips=1), 57),  # SlowOnly
    (DenseSampleFrames(clip_len=1, frame_interval=1, num_clips=8), 57),
    (UniformSample(clip_len=16), 16)])
def test_frames_needed(sampler, frames):
    assert check_data.frames_needed(sampler) == frames


@TRANSFORMS.register_module(force=True)
class SegfaultingDecordInit(DecordInit):
    """DecordInit whose process dies on files named in ``crash_on``, as a
    decoder crashing on a file would kill it."""

    def __init__(self, crash_on=(), **kwargs):
        super().__init__(**kwargs)
        self.crash_on = crash_on

    def transform(self, results):
        if results['filename'] in self.crash_on:
            faulthandler.disable()  # pytest's: would print the stack
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().transform(results)


def test_a_file_that_kills_its_worker_is_named_and_nothing_lost(bad_root):
    root, paths = bad_root
    crasher = listed_video(root, 'train', 1)
    cfg = Config.fromfile(DEMO_CONFIG)
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = str(root)
    dataset.pipeline[0] = dict(type='SegfaultingDecordInit',
                               crash_on=[crasher])
    init_default_scope('mmaction')
    _, tasks, _, _ = check_data.collect(cfg, ['train'])
    bad = {path: reason for (path, _), reason in
           check_data.check_videos(tasks, workers=2, progress=False).items()}
    expected = {paths[kind]: REASONS[kind] for kind, (split, _) in
                BROKEN.items() if split == 'train'}
    expected[crasher] = 'checking it killed the process (signal SIGSEGV)'
    assert bad.keys() == expected.keys()
    for path, reason in expected.items():
        assert bad[path].startswith(reason)
