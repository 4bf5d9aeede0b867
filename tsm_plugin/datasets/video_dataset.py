"""MMAction2's ``VideoDataset``, naming bad data by file and annotation line.

- Loading the list (before training or testing starts): a malformed line
  (wrong number of fields, a label that is not an integer, an empty line)
  raises ``ValueError`` naming the list and the line; a video that does not
  exist raises ``FileNotFoundError`` listing every missing file with its line
  (cheap ``os.path`` checks, local paths only; ``check_files=False`` skips it).
- Loading a sample: whatever the pipeline raises (decord's ``RuntimeError:
  Error reading 0 bytes...``, OpenCV's, PyAV's, a transform's) comes back as
  ``BadVideoError`` naming the video, its label and its line, with the
  original error chained. It crosses DataLoader worker processes intact.

``import tsm_plugin`` makes MMAction2's registry build this class for
``type='VideoDataset'`` (see ``tsm_plugin/datasets/__init__.py``), so stock
configs and the stock ``DecordInit``/``OpenCVInit``/``PyAVInit`` pipelines
get it without a change.
"""
from mmaction.datasets import VideoDataset as MMActionVideoDataset
from mmengine.dataset import BaseDataset

from ..registry import DATASETS
from .annotations import (format_listing, is_local, local_file_exists,
                          read_annotations)

CHECK_DATA_HINT = ('`python -m tsm_plugin.tools.check_data CONFIG` lists '
                   'every video that will fail, before training')


class BadVideoError(RuntimeError):
    """A sample of a video dataset failed to load; the message names the
    video, its label and its annotation line (the cause is chained)."""


@DATASETS.register_module()
class VideoDataset(MMActionVideoDataset):
    """MMAction2's ``VideoDataset`` (same arguments and samples; each sample's
    info also holds ``ann_line``, its line in ``ann_file``) that names bad
    data by file and line.

    Args:
        check_files (bool): check, when the list is loaded, that every local
            video exists. Defaults to True.
        *args, **kwargs: as MMAction2's ``VideoDataset``.
    """

    def __init__(self, *args, check_files=True, **kwargs):
        self.check_files = check_files
        super().__init__(*args, **kwargs)

    def load_data_list(self):
        entries, bad_lines = read_annotations(self.ann_file, self.delimiter,
                                              self.multi_class)
        if bad_lines:
            raise ValueError(format_listing(
                f'{len(bad_lines)} malformed line(s) in the annotation list '
                f'{self.ann_file}:',
                [f'line {b.line}: {b.text!r}: {b.reason}' for b in bad_lines]))
        data_list = super().load_data_list()  # one entry per line, in order
        for entry, info in zip(entries, data_list):
            info['ann_line'] = entry.line
        if self.check_files:
            self._check_files_exist(data_list)
        return data_list

    def _check_files_exist(self, data_list):
        missing = [info for info in data_list if is_local(info['filename'])
                   and not local_file_exists(info['filename'])]
        if missing:
            raise FileNotFoundError(format_listing(
                f'{len(missing)} of the {len(data_list)} videos listed in '
                f'{self.ann_file} do not exist (data_prefix: '
                f'{self.data_prefix}); fix or remove these lines, or set '
                '`check_files=False` on the dataset to skip this check:',
                [f'line {info["ann_line"]}: {info["filename"]}'
                 for info in missing]))

    def describe(self, idx):
        """``'<video> (label L, line N of <ann_file>)'`` for sample ``idx``."""
        # BaseDataset's: the label as written (MMAction2's turns multi-class
        # labels into a one-hot tensor)
        info = BaseDataset.get_data_info(self, idx)
        return (f'{info["filename"]} (label {info["label"]}, line '
                f'{info.get("ann_line", "?")} of {self.ann_file})')

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except Exception as error:
            raise BadVideoError(
                f'loading video {self.describe(idx)} failed: '
                f'{type(error).__name__}: {error}\n{CHECK_DATA_HINT}.'
            ) from error
