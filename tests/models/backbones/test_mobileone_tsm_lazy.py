"""``tsm_plugin.MobileOneTSM`` without mmpretrain (core install): ``import
tsm_plugin`` works, building it says which extra to install. mmpretrain is
blocked in a fresh interpreter, so this holds in the zoo venv too (there
MMAction2's own ``mmaction.models.backbones`` imports mmpretrain if it can)."""
import subprocess
import sys

CODE = '''
import sys
sys.modules['mmpretrain'] = None  # as if not installed
import tsm_plugin
from mmaction.registry import MODELS
assert 'MobileOneTSM' in tsm_plugin.MODELS.module_dict
for build in (lambda: MODELS.build(dict(type='tsm_plugin.MobileOneTSM',
                                        arch='s0')),
              lambda: tsm_plugin.MobileOneTSM):
    try:
        build()
    except ImportError as err:
        print('ImportError:', err)
    else:
        raise SystemExit('built without mmpretrain')
'''


def test_import_works_and_build_names_the_zoo_extra():
    out = subprocess.run([sys.executable, '-c', CODE], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    errors = [line for line in out.stdout.splitlines()
              if line.startswith('ImportError:')]
    assert len(errors) == 2, out.stdout
    for line in errors:
        assert 'tsm_plugin.MobileOneTSM needs mmpretrain' in line
        assert "pip install -e '.[zoo]'" in line
