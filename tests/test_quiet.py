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
from mmengine.logging import MMLogger, print_log
early = MMLogger.get_instance('early', logger_name='early_logger')
if sys.argv[1:] == ['plugin']:
    import tsm_plugin                  # first, as the plugin's commands
MMLogger.get_instance('late', logger_name='late_logger')  # 'current' now
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
# a harmless message through a logger made before the plugin came
early.warning(HARMLESS_LOG)
early.warning('a real early warning')
# real ones that merely begin like a harmless one
warnings.warn(HARMLESS_WARNING + 'EXTENDED real warning')
print_log(HARMLESS_LOG + ' EXTENDED real log warning', logger='current',
          level=logging.WARNING)
print('done')
'''.replace('HARMLESS_WARNING', repr(HARMLESS_WARNINGS[0][1])).replace(
    'HARMLESS_LOG', repr(sorted(HARMLESS_LOG_MESSAGES)[0]))
early_message = sorted(HARMLESS_LOG_MESSAGES)[0]  # what the early one logs


def run(*args):
    result = subprocess.run([sys.executable, '-c', SCRIPT, *args], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_harmless_warnings_filtered_real_ones_shown():
    output = run('plugin')
    # (the look-alikes below begin with a harmless message: set them aside)
    rest = output.replace('EXTENDED real', '').replace(
        HARMLESS_WARNINGS[0][1], '', 1).replace(early_message + ' ', '', 1)
    for _, message in HARMLESS_WARNINGS:
        assert message.strip() not in rest
    for message in HARMLESS_LOG_MESSAGES:
        assert message not in rest
    assert 'MultiScaleDeformableAttention' in output  # the look-alike
    assert 'a real warning' in output and 'a real log warning' in output
    assert '"FileClient" will be deprecated in future.\n' in output
    assert 'done' in output
    # a logger created before the import is filtered too, and still logs
    assert ' - early_logger - WARNING - a real early warning' in output
    assert f' - early_logger - WARNING - {early_message}\n' not in output
    # a message that begins like a harmless one, and goes on, is shown
    assert 'EXTENDED real warning' in output
    assert 'EXTENDED real log warning' in output
    # the stack itself prints them (the same script without the plugin)
    unfiltered = run()
    for _, message in HARMLESS_WARNINGS:
        assert message.strip() in unfiltered
    for message in HARMLESS_LOG_MESSAGES:
        assert message in unfiltered
    assert f' - early_logger - WARNING - {early_message}\n' in unfiltered
