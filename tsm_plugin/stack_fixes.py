"""Repairs of the MMAction2 1.2.0 / mmengine 0.10 / torch >= 2.6 stack.

Applied once, on ``import tsm_plugin`` (``apply_all``), without editing any
installed file. One function per repair; each names the upstream version or
issue it works around, so it can go when upstream fixes it. (The undeclared
``importlib_metadata`` of ``mmaction.utils`` is declared in ``setup.py``.)
"""
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import pickle
import sys

DRN_MODULES = ('mmaction.models.localizers.drn',
               'mmaction.models.localizers.drn.drn')
DRN_MISSING_MESSAGE = (
    'DRN is not available: the mmaction2 1.2.0 package on PyPI ships without '
    '`mmaction/models/localizers/drn` (upstream issue open-mmlab/mmaction2#2714). '
    'Install mmaction2 from source to use DRN; tsm_plugin only stands in for the '
    'missing module so that the rest of mmaction.models imports.')


def _mmaction_dir():
    spec = importlib.util.find_spec('mmaction')
    return osp.dirname(spec.origin) if spec and spec.origin else None


def drn_is_missing():
    """True when the installed mmaction lacks its ``localizers/drn`` package."""
    root = _mmaction_dir()
    return root is not None and not osp.isdir(
        osp.join(root, 'models', 'localizers', 'drn'))


class _MissingDRNFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves stand-ins for the two DRN modules, only when they are imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in DRN_MODULES:
            return importlib.machinery.ModuleSpec(
                fullname, self, is_package=fullname == DRN_MODULES[0])
        return None

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        if module.__name__ == DRN_MODULES[0]:
            module.__path__ = []
            return
        from mmaction.registry import MODELS

        class DRN:
            """Stand-in for mmaction's DRN, absent from the 1.2.0 wheel."""

            def __init__(self, *args, **kwargs):
                raise ImportError(DRN_MISSING_MESSAGE)

        module.DRN = MODELS.register_module(name='DRN')(DRN)


def fix_missing_drn():
    """mmaction2 1.2.0 (wheel and sdist) lacks ``mmaction/models/localizers/drn``
    while ``mmaction.models.localizers`` imports it (open-mmlab/mmaction2#2714),
    so ``import mmaction.models`` fails: serve a stand-in whose ``DRN`` says
    why when built."""
    if drn_is_missing() and not any(
            isinstance(f, _MissingDRNFinder) for f in sys.meta_path):
        sys.meta_path.append(_MissingDRNFinder())


def _installed_path(package):
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``."""
    from importlib import metadata
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        if spec is None:
            raise
        if spec.origin is None:
            raise RuntimeError(f'{package} is a namespace package, which is '
                               'invalid for `get_install_path`')
        return osp.dirname(spec.origin)
    location = str(dist.locate_file(''))
    if osp.exists(osp.join(location, package)):
        return osp.join(location, package)
    top_level = (dist.read_text('top_level.txt') or '').split()
    if not top_level:
        raise ValueError(f'can not infer the module name of {package}')
    return osp.join(location, top_level[0])


def _is_installed(package):
    """``mmengine.utils.is_installed`` without ``pkg_resources``."""
    from importlib import metadata
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def fix_pkg_resources():
    """mmengine 0.10.7 resolves ``_base_ = 'mmaction::...'`` through
    ``pkg_resources``, which setuptools >= 81 no longer ships: re-bind its two
    package look-ups to ``importlib.metadata`` equivalents."""
    # mmengine imports these two by name into several modules: re-bind each.
    import mmengine.config.config
    import mmengine.hub.hub
    import mmengine.utils
    import mmengine.utils.package_utils
    for module in (mmengine.utils.package_utils, mmengine.utils,
                   mmengine.config.config, mmengine.hub.hub):
        if hasattr(module, 'get_installed_path'):
            module.get_installed_path = _installed_path
        if hasattr(module, 'is_installed'):
            module.is_installed = _is_installed


def _history_buffer_method(owner, name):
    """Stands in for ``getattr`` while unpickling, for HistoryBuffer only.

    Python pickles ``HistoryBuffer.min`` (kept in each buffer's statistics
    methods) as ``getattr(HistoryBuffer, 'min')``; allowing ``getattr`` itself
    would expose any attribute of any allowed type.
    """
    from mmengine.logging import HistoryBuffer
    # the four built-in methods, plus any registered with register_statistics
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and name in allowed:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'weights_only load refuses getattr({owner!r}, {name!r}): only '
        'HistoryBuffer statistics methods are allowed (see tsm_plugin.stack_fixes)')


def mmengine_checkpoint_globals():
    """The non-tensor types mmengine's runner pickles into a checkpoint.

    ``message_hub`` holds ``HistoryBuffer`` objects (numpy arrays inside, and
    their statistics methods); ``meta`` keeps numpy scalars (seed, metrics).
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64)]
    return [HistoryBuffer, np.ndarray, np.dtype, _reconstruct, scalar,
            *dtype_classes, (_history_buffer_method, 'builtins.getattr')]


def fix_weights_only_load():
    """torch >= 2.6 loads with ``weights_only=True`` by default and mmengine
    0.10.7 calls ``torch.load`` without the argument: allow-list exactly the
    types mmengine pickles into checkpoints; anything else is still refused."""
    import torch
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def fix_cpu_init_dist():
    """mmengine 0.10.7's ``--launcher pytorch`` calls
    ``torch.cuda.set_device(LOCAL_RANK)`` before ``init_process_group``, which
    fails on a CPU-only torch: there, only initialize the process group."""
    import mmengine.dist.utils as dist_utils
    import torch
    from mmengine.device import get_device

    init_dist_pytorch = dist_utils._init_dist_pytorch
    if getattr(init_dist_pytorch, 'tsm_plugin_cpu', False):
        return

    @functools.wraps(init_dist_pytorch)
    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if (init_backend != 'torch' or torch.cuda.is_available()
                or get_device() != 'cpu'):
            return init_dist_pytorch(backend, init_backend, **kwargs)
        torch.distributed.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch.tsm_plugin_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


def fix_cpu_ddp():
    """mmengine 0.10.7 wraps the model in DDP with ``device_ids=[LOCAL_RANK]``,
    which DDP refuses for a module on the CPU: drop it there."""
    from mmengine.model import MMDistributedDataParallel

    ddp_init = MMDistributedDataParallel.__init__
    if getattr(ddp_init, 'tsm_plugin_cpu', False):
        return

    @functools.wraps(ddp_init)
    def __init__(self, module, *args, **kwargs):
        if all(p.device.type == 'cpu' for p in module.parameters()):
            kwargs.pop('device_ids', None)  # DDP takes None for a CPU module
            kwargs.pop('output_device', None)
        ddp_init(self, module, *args, **kwargs)

    __init__.tsm_plugin_cpu = True
    MMDistributedDataParallel.__init__ = __init__


def apply_all():
    fix_missing_drn()
    fix_pkg_resources()
    fix_weights_only_load()
    fix_cpu_init_dist()
    fix_cpu_ddp()
