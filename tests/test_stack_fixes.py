"""Each stack fix, in a fresh interpreter so that import order is real."""
import os
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest
import torch

from tsm_plugin import stack_fixes


def run_python(code, cwd=None):
    env = {k: v for k, v in os.environ.items()
           if k != 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_installed_mmaction_lacks_drn():
    # the trap this fix is for: the 1.2.0 wheel ships without localizers/drn
    assert stack_fixes.drn_is_missing()
    result = run_python('import mmaction.models')
    assert result.returncode != 0
    assert "No module named 'mmaction.models.localizers.drn'" in result.stderr


def test_mmaction_models_import_after_plugin_and_drn_says_why():
    result = run_python('''
        import tsm_plugin
        import mmaction.models
        from mmaction.registry import MODELS
        print('BMN' in MODELS.module_dict and 'TSMHead' in MODELS.module_dict)
        try:
            MODELS.build(dict(type='DRN'))
        except ImportError as e:
            print('DRN error:', e)
    ''')
    assert result.returncode == 0, result.stderr
    registered, drn_error = result.stdout.strip().splitlines()[-2:]
    assert registered == 'True'  # the rest of mmaction.models is there
    assert 'localizers/drn' in drn_error and '2714' in drn_error


def test_importlib_metadata_declared_and_mmaction_utils_import():
    requires = metadata.requires('tsm_plugin')
    assert any(r.startswith('importlib_metadata') or r.startswith(
        'importlib-metadata') for r in requires)
    result = run_python('import tsm_plugin, mmaction.utils.dependency')
    assert result.returncode == 0, result.stderr


BASE_CONFIG = ("_base_ = 'mmaction::recognition/tsm/"
               "tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'\n"
               "model = dict(backbone=dict(type='tsm_plugin.ResNetTSM'))\n")


@pytest.mark.parametrize('with_plugin', [True, False])
def test_mmaction_base_configs_without_pkg_resources(tmp_path, with_plugin):
    (tmp_path / 'cfg.py').write_text(BASE_CONFIG)
    result = run_python(f'''
        import sys
        sys.modules['pkg_resources'] = None  # as with setuptools >= 81
        {'import tsm_plugin' if with_plugin else ''}
        from mmengine.config import Config
        cfg = Config.fromfile('cfg.py')
        print(cfg.model.backbone.type, cfg.model.backbone.depth)
    ''', cwd=tmp_path)
    if with_plugin:
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[-2:] == ['tsm_plugin.ResNetTSM', '50']
    else:
        assert result.returncode != 0 and 'pkg_resources' in result.stderr


TRAIN_TOY_RUNNER = '''
    import sys, torch
    from torch import nn
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)
        def forward(self, inputs, labels, mode='tensor'):
            return dict(loss=((self.fc(inputs) - labels) ** 2).mean())

    data = [dict(inputs=torch.ones(2) * i, labels=torch.ones(1)) for i in range(8)]
    runner = Runner(
        model=Toy(), work_dir=sys.argv[1] if len(sys.argv) > 1 else 'work',
        train_dataloader=dict(dataset=data, batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0))
    runner.train()
'''


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    work = tmp_path_factory.mktemp('toy')
    result = run_python(TRAIN_TOY_RUNNER, cwd=work)
    assert result.returncode == 0, result.stderr
    return work / 'work' / 'epoch_1.pth'


def test_mmengine_checkpoint_refused_by_stock_torch_load(mmengine_checkpoint):
    result = run_python(f'import torch; torch.load({str(mmengine_checkpoint)!r})')
    assert 'Weights only load failed' in result.stderr


def test_mmengine_checkpoint_loads_with_weights_only_after_plugin(
        mmengine_checkpoint):
    result = run_python(f'''
        import torch, tsm_plugin
        from mmengine.runner.checkpoint import _load_checkpoint
        ckpt = torch.load({str(mmengine_checkpoint)!r}, weights_only=True)
        hub = ckpt['message_hub']['log_scalars']['train/loss']
        print(type(hub).__name__, hub.mean() > 0, sorted(ckpt))
        _load_checkpoint({str(mmengine_checkpoint)!r})  # mmengine's own path
    ''')
    assert result.returncode == 0, result.stderr
    assert "HistoryBuffer True ['message_hub', 'meta', 'optimizer', " \
        "'state_dict']" in result.stdout


def test_weights_only_allow_list_is_exactly_mmengine_checkpoint_types():
    """Pinned: any other global allowed would load whatever it can build."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    from numpy._core.multiarray import _reconstruct, scalar
    entries = list(stack_fixes.mmengine_checkpoint_globals())
    plain = [e for e in entries if not isinstance(e, tuple)]
    assert len(set(plain)) == len(plain)
    assert set(plain) == {
        HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
        np.dtypes.BoolDType, np.dtypes.Int8DType, np.dtypes.Int16DType,
        np.dtypes.Int32DType, np.dtypes.Int64DType, np.dtypes.UInt8DType,
        np.dtypes.UInt16DType, np.dtypes.UInt32DType, np.dtypes.UInt64DType,
        np.dtypes.Float16DType, np.dtypes.Float32DType, np.dtypes.Float64DType}
    # and one stand-in, under getattr's name, that serves HistoryBuffer only
    [(stand_in, name)] = [e for e in entries if isinstance(e, tuple)]
    assert name == 'builtins.getattr' and stand_in is not getattr
    assert stand_in(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(Exception, match='refuses getattr'):
        stand_in(np.ndarray, 'tofile')


def test_import_allow_lists_nothing_else():
    # in a fresh interpreter: what `import tsm_plugin` adds to torch's list,
    # but torch's own (DTensor & co., registered when mmengine imports them)
    result = run_python('''
        import torch
        before = list(torch.serialization.get_safe_globals())
        import tsm_plugin
        from tsm_plugin import stack_fixes
        added = [g for g in torch.serialization.get_safe_globals()
                 if g not in before and not (g[0] if isinstance(g, tuple)
                                             else g).__module__.startswith('torch.')]
        expected = stack_fixes.mmengine_checkpoint_globals()
        print(len(added), len(expected), set(added) == set(expected))
    ''')
    assert result.returncode == 0, result.stderr
    added, expected, same = result.stdout.split()[-3:]
    assert same == 'True' and added == expected


class NotAllowed:

    def __init__(self, value=1):
        self.value = value


@pytest.mark.parametrize('payload', [NotAllowed(), eval])
def test_other_pickled_globals_still_refused(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'x': payload}}, path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)


class Runs:
    """Unpickles as ``exec(code)``: torch has no block on builtins."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return exec, (self.code, )


def test_code_running_payload_refused_and_never_run(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save({'meta': Runs(f'open({str(marker)!r}, "w").close()')}, path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path, weights_only=True)
    assert not marker.exists()
    # torch itself would run it: only the allow-list stands in the way
    with torch.serialization.safe_globals([exec]):
        torch.load(path, weights_only=True)
    assert marker.exists()


class GetattrOf:

    def __init__(self, owner, name):
        self.args = (owner, name)

    def __reduce__(self):
        return getattr, self.args


@pytest.mark.parametrize('name', ['tofile', '__init__'])
def test_getattr_stand_in_only_serves_history_buffer(tmp_path, name):
    import numpy as np
    from mmengine.logging import HistoryBuffer
    for owner in (np.ndarray, HistoryBuffer):
        path = tmp_path / 'evil.pth'
        torch.save({'meta': GetattrOf(owner, name)}, path)
        with pytest.raises(Exception, match='refuses getattr'):
            torch.load(path, weights_only=True)
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


def test_pytorch_launcher_on_cpu_only_torch():
    # one process of a `--launcher pytorch` job, as torchrun would start it
    result = run_python('''
        import os, socket, torch
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        os.environ.update(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                          MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
        import tsm_plugin
        from mmengine.dist import init_dist, get_world_size
        from mmengine.model import MMDistributedDataParallel
        init_dist('pytorch', backend='gloo')
        ddp = MMDistributedDataParallel(torch.nn.Linear(2, 2), device_ids=[0])
        print(get_world_size(), type(ddp).__name__, ddp.device_ids)
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ['1', 'MMDistributedDataParallel', 'None']
