"""The stack's known-harmless warnings, filtered by their exact text.

Installed on ``import tsm_plugin`` (first thing, so the import-time one is
caught too when the plugin is imported before MMAction2, as its commands
and the documented examples do). Each is matched by its whole message:
any other warning, also one that merely looks alike, still shows.

Why each is harmless here:

- mmcv-lite, on ``import mmcv.cnn``: ``Fail to import
  MultiScaleDeformableAttention``. That op (deformable DETR) needs mmcv's
  compiled ops, which mmcv-lite leaves out by design; nothing in MMAction2's
  recognizers or this plugin uses it.
- mmengine, each time MMAction2 1.2.0's ``DecordInit`` (and other loaders)
  opens a file: ``"FileClient" will be deprecated in future`` and
  ``"HardDiskBackend" is the alias of "LocalBackend"``. An announcement about
  a future mmengine; with mmengine 0.10 (``setup.py`` keeps ``< 1.0``) both
  work as documented and read the same bytes.
- mmengine, when ``MMAction2Inferencer`` builds the config's visualizer
  without a ``save_dir``: ``Failed to add <class ...LocalVisBackend>``. That
  backend would only store visualisations under a run's work dir; the
  inferencer draws (``vis_out_dir``) without it, and the predictions do not
  depend on it.
"""
import logging
import re
import warnings

HARMLESS_WARNINGS = (  # (category, message) of warnings.warn
    (UserWarning,
     'Fail to import ``MultiScaleDeformableAttention`` from '
     '``mmcv.ops.multi_scale_deform_attn``, You should install ``mmcv`` '
     'rather than ``mmcv-lite`` if you need this module. '),
    (UserWarning,
     "Failed to add <class 'mmaction.visualization.video_backend."
     "LocalVisBackend'>, please provide the `save_dir` argument."),
)
HARMLESS_LOG_MESSAGES = frozenset({  # mmengine's logger, level WARNING
    '"FileClient" will be deprecated in future. Please use io functions in '
    'https://mmengine.readthedocs.io/en/latest/api/fileio.html#file-io',
    '"HardDiskBackend" is the alias of "LocalBackend" and the former will be '
    'deprecated in future.',
})


class HarmlessLogFilter(logging.Filter):
    """Drops the log records whose whole message is a known-harmless one."""

    def filter(self, record):
        return not (record.levelno == logging.WARNING
                    and record.getMessage() in HARMLESS_LOG_MESSAGES)


LOG_FILTER = HarmlessLogFilter()


def filter_harmless_warnings():
    """Install the filters (idempotent)."""
    for category, message in HARMLESS_WARNINGS:
        warnings.filterwarnings('ignore', re.escape(message) + r'\Z',
                                category)
    from mmengine.logging import MMLogger
    if getattr(MMLogger.__init__, 'harmless_filter', False):
        return
    for logger in MMLogger._instance_dict.values():
        logger.addFilter(LOG_FILTER)
    init = MMLogger.__init__

    def __init__(self, *args, **kwargs):  # every later logger too (runner's)
        init(self, *args, **kwargs)
        self.addFilter(LOG_FILTER)

    __init__.harmless_filter = True
    MMLogger.__init__ = __init__
