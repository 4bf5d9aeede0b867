"""Refuse a checkpoint trained with another temporal shift than the config.

A checkpoint saved by mmengine's runner (``tools/train.py``) carries its
training config as text in ``meta['cfg']``. Loading it under a config that
declares another ``shift_mode``, ``num_segments``, ``shift_div`` or
``shift_place`` gives a model that runs and answers wrong without a word
(e.g. the bi-directional ``make demo`` checkpoint under the uni-directional
online config: the weights fit, the shift does not). Checkpoints without
that meta (MMAction2's model zoo, a bare ``state_dict``) are not checked.

The plugin's own commands (live, export, streaming) call
``check_checkpoint_config``; MMAction2's stock ``tools/test.py`` and
``tools/train.py`` (``load_from``, ``--resume``) meet the same check in
``CheckpointShiftHook``, which ``import tsm_plugin`` (a config's
``custom_imports``) adds to every mmengine ``Runner``
(``check_runner_checkpoints``).
"""
import functools
import inspect
import os.path as osp
import warnings

import torch
from mmengine.hooks import Hook

# The backbone arguments that decide what the shift does to the features.
SHIFT_ARGS = ('shift_mode', 'num_segments', 'shift_div', 'shift_place')


class CheckpointConfigMismatch(ValueError):
    """The checkpoint's training config declares another shift."""


def read_meta(checkpoint):
    """``meta`` of the checkpoint file (``{}`` if it has none)."""
    if osp.isfile(checkpoint):
        try:  # memory-mapped: no tensor is read
            loaded = torch.load(checkpoint, map_location='cpu', mmap=True,
                                weights_only=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be mapped
            loaded = torch.load(checkpoint, map_location='cpu',
                                weights_only=True)
    else:  # a URL: mmengine downloads it once (init_recognizer reuses it)
        from mmengine.runner.checkpoint import _load_checkpoint
        loaded = _load_checkpoint(checkpoint, map_location='cpu')
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    return meta if isinstance(meta, dict) else {}


def backbone_shift_args(backbone_cfg, scope):
    """``{arg: value}`` of ``SHIFT_ARGS``, the class defaults filled in for
    those the config leaves out (``None``: the class has no such argument).
    MMAction2's own TSM backbones shift both ways (no ``shift_mode``)."""
    from mmengine.registry import DefaultScope

    from mmaction.registry import MODELS
    defaults = {}
    with DefaultScope.overwrite_default_scope(scope):
        cls = MODELS.get(backbone_cfg.get('type'))
    if inspect.isclass(cls):
        for klass in reversed(cls.__mro__):
            if '__init__' in vars(klass):
                defaults.update(
                    (name, p.default) for name, p in inspect.signature(
                        klass.__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty)
        if 'num_segments' in defaults:
            defaults.setdefault('shift_mode', 'bidirectional')
    return {name: backbone_cfg.get(name, defaults.get(name))
            for name in SHIFT_ARGS}


def config_shift_args(cfg):
    model = cfg.get('model') or {}
    backbone = model.get('backbone') or {}
    return backbone_shift_args(backbone, model.get('_scope_') or 'mmaction')


def check_checkpoint_config(config, checkpoint):
    """Raise ``CheckpointConfigMismatch`` naming each shift argument whose
    value in the checkpoint's training config (``meta['cfg']``) differs
    from ``config``'s. ``config``: a path or a ``Config``; ``checkpoint``:
    a path, URL or None (nothing to check)."""
    if checkpoint is None:
        return
    check_training_config(config, read_meta(checkpoint), checkpoint)


def check_training_config(config, meta, checkpoint):
    """``check_checkpoint_config`` on a checkpoint's ``meta`` already read;
    ``checkpoint`` names it in the error."""
    from mmengine.config import Config
    meta_cfg = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(meta_cfg, str):
        return  # e.g. a model-zoo checkpoint: no training config to compare
    try:
        trained = config_shift_args(Config.fromstring(meta_cfg, '.py'))
    except Exception as error:  # not ours to fail on: say it, load as before
        warnings.warn(f"cannot read the training config in meta['cfg'] of "
                      f'{checkpoint} ({type(error).__name__}: {error}): its '
                      'temporal shift is not checked against the config')
        return
    if not isinstance(config, Config):
        config = Config.fromfile(config)
    declared = config_shift_args(config)
    where = f' {config.filename}' if config.filename else ''
    differ = [f'{name}={trained[name]!r} in the checkpoint, '
              f'{name}={declared[name]!r} in the config'
              for name in SHIFT_ARGS if trained[name] != declared[name]]
    if differ:
        raise CheckpointConfigMismatch(
            f'checkpoint {checkpoint} was trained with another temporal shift '
            f'than the config{where} declares: {"; ".join(differ)}. Its '
            "meta['cfg'] holds the config it was trained with: use that "
            'config, or a checkpoint trained with this one')


class CheckpointShiftHook(Hook):
    """The check in mmengine's ``Runner``: ``Runner.load_checkpoint`` (what
    ``load_from``, ``--resume`` and ``tools/test.py CONFIG CHECKPOINT`` run)
    calls ``after_load_checkpoint`` with the loaded checkpoint before its
    weights reach the model, so a mismatch stops the run there."""

    priority = 'VERY_HIGH'  # before any other hook sees the checkpoint

    def after_load_checkpoint(self, runner, checkpoint):
        backbone = (runner.cfg.get('model') or {}).get('backbone')
        if not isinstance(backbone, dict) or 'type' not in backbone:
            return  # a runner built from objects: no config to compare
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        check_training_config(runner.cfg, meta, runner._load_from
                              or 'being loaded')


def check_runner_checkpoints():
    """Give every mmengine ``Runner`` built from now on a
    ``CheckpointShiftHook`` (idempotent). A patch of ``register_hooks``,
    not a hook in the plugin's configs, so that a user's own config that
    imports the plugin is checked too."""
    from mmengine.runner import Runner
    register = Runner.register_hooks
    if getattr(register, 'tsm_plugin_check', False):
        return

    @functools.wraps(register)
    def register_hooks(self, default_hooks=None, custom_hooks=None):
        register(self, default_hooks, custom_hooks)
        if not any(isinstance(h, CheckpointShiftHook) for h in self._hooks):
            self.register_hook(CheckpointShiftHook())

    register_hooks.tsm_plugin_check = True
    Runner.register_hooks = register_hooks
