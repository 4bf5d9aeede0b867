"""Annotation lists of MMAction2's ``VideoDataset``, read line by line.

MMAction2 parses the whole list at once, so a malformed line surfaces as
``ValueError: too many values to unpack`` or ``invalid literal for int()``
with no line number, and a blank line becomes a video named after the data
folder. Here every line is checked on its own and a bad one is named by its
number; the dataset (``tsm_plugin.datasets.VideoDataset``) and the data check
(``python -m tsm_plugin.tools.check_data``) share these rules.
"""
import os.path as osp
from typing import List, NamedTuple, Union

from mmengine.fileio import list_from_file


class Entry(NamedTuple):
    """One well-formed line: its number (from 1), the video and its label."""
    line: int
    filename: str  # as written in the list, before ``data_prefix``
    label: Union[int, List[int]]


class BadLine(NamedTuple):
    """One malformed line: its number (from 1), its text and what is wrong."""
    line: int
    text: str
    reason: str


def parse_line(text, delimiter=' ', multi_class=False):
    """``(filename, label)`` of one line, as MMAction2's ``VideoDataset``
    reads it (``path label``, ``path`` alone for label -1, or ``path l1 l2
    ...`` when ``multi_class``); ``ValueError`` saying what is wrong."""
    fields = text.strip().split(delimiter)
    if fields == ['']:
        raise ValueError('empty line')
    if multi_class and len(fields) < 2:
        raise ValueError(f'no label: expected "path{delimiter}label'
                         f'{delimiter}..." (multi_class)')
    if not multi_class and len(fields) > 2:
        raise ValueError(
            f'{len(fields)} fields separated by {delimiter!r}, expected 2 '
            f'("path{delimiter}label"; a repeated separator, or one inside '
            'the path?)')
    labels = []
    for field in fields[1:]:
        try:
            labels.append(int(field))
        except ValueError:
            raise ValueError(f'label {field!r} is not an integer') from None
    if multi_class:
        return fields[0], labels
    return fields[0], labels[0] if labels else -1


def read_annotations(ann_file, delimiter=' ', multi_class=False):
    """Every line of ``ann_file``: ``(entries, bad_lines)``, the well-formed
    lines as ``Entry`` and the others as ``BadLine``."""
    entries, bad_lines = [], []
    for number, text in enumerate(list_from_file(ann_file), 1):
        try:
            entries.append(Entry(number, *parse_line(text, delimiter,
                                                     multi_class)))
        except ValueError as error:
            bad_lines.append(BadLine(number, text, str(error)))
    return entries, bad_lines


def video_path(data_prefix, filename):
    """The path the pipeline opens, as ``VideoDataset`` joins it."""
    prefix = data_prefix.get('video') if data_prefix else None
    return filename if prefix is None else osp.join(prefix, filename)


def is_local(path):
    """A plain file path (not ``s3://...`` or another storage backend's)."""
    return '://' not in path


def local_file_exists(path):
    """Whether a local video exists; like ``DecordInit``, a name without an
    extension also stands for ``name.mp4``."""
    return osp.isfile(path) or (osp.splitext(path)[1] == ''
                                and osp.isfile(path + '.mp4'))


def format_listing(title, rows, limit=20):
    """``title`` and the first ``limit`` rows, one a line, then how many more."""
    lines = [title, *(f'  {row}' for row in rows[:limit])]
    if len(rows) > limit:
        lines.append(f'  ... and {len(rows) - limit} more')
    return '\n'.join(lines)
