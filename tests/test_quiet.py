"""The stack's known-harmless warnings are filtered by exact message once
``tsm_plugin`` is imported (as its commands do first); real ones still show,
also those that merely look alike."""
import subprocess
import sys
from pathlib import Path

from tsm_plugin.quiet import HARMLESS_LOG_MESSAGES, HARMLESS_WARNINGS

REPO = Path(__file__).resolve().parents[1]
# Each harmless warning raised by its own source, then real ones.
SCRIPT = r'''
import logging, sys, warnings
warnings.simplefilter('default')  # show every warning once (as python -W)
if sys.argv[1:] == ['plugin']:
    import tsm_plugin                  # first, as the plugin's commands
import mmcv.cnn.bricks.transformer     # mmcv-lite warns on this import
from mmengine.fileio import FileClient
FileClient('disk')                     # FileClient + HardDiskBackend notices
from mmengine.registry import init_default_scope
init_default_scope('mmaction')        # as a config's default_scope
from mmaction.visualization import ActionVisualizer
ActionVisualizer(name='quiet_test', vis_backends=[dict(type='LocalVisBackend')])
from mmengine.logging import print_log
warnings.warn('a real warning')
warnings.warn('Fail to import ``MultiScaleDeformableAttention`` from elsewhere')
print_log('a real log warning', logger='current', level=logging.WARNING)
print_log('"FileClient" will be deprecated in future.', logger='current',
          level=logging.WARNING)
print('done')
'''


def run(*args):
    result = subprocess.run([sys.executable, '-c', SCRIPT, *args], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_harmless_warnings_filtered_real_ones_shown():
    output = run('plugin')
    for _, message in HARMLESS_WARNINGS:
        assert message.strip() not in output
    for message in HARMLESS_LOG_MESSAGES:
        assert message not in output
    assert 'MultiScaleDeformableAttention' in output  # the look-alike
    assert 'a real warning' in output and 'a real log warning' in output
    assert '"FileClient" will be deprecated in future.\n' in output
    assert 'done' in output
    # the stack itself prints them (the same script without the plugin)
    unfiltered = run()
    for _, message in HARMLESS_WARNINGS:
        assert message.strip() in unfiltered
    for message in HARMLESS_LOG_MESSAGES:
        assert message in unfiltered
