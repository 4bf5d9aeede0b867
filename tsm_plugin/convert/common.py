"""What every converter shares.

A converter maps the source's tensors onto the state dict of a plugin model
built from a config. ``SourceTensors`` records which source tensors were read,
``fill_state_dict`` refuses a conversion that leaves a source tensor unused or a
model tensor unfilled (naming the keys) or that gets a shape wrong, and
``save_checkpoint`` writes what mmengine's runner writes: ``state_dict`` plus
``meta['cfg']`` (the config as text), so ``init_recognizer``, the stock
``tools/test.py`` and the plugin's checkpoint check read it like a trained one.
"""
import importlib
import os
import os.path as osp

import torch

# SOURCE of the command line -> the module that converts it.
SOURCES = {
    'tsm': 'tsm_plugin.convert.tsm_original',
    'tsm-online': 'tsm_plugin.convert.tsm_original',
    'tadaconv': 'tsm_plugin.convert.tadaconv',
    'pptsm': 'tsm_plugin.convert.pptsm',
}


class ConversionError(ValueError):
    """The file is not a checkpoint of the kind the source expects, or its
    tensors do not fill the model one to one."""


def convert(source, in_path, out_path, **options):
    """Convert ``in_path`` (a checkpoint of ``source``) into ``out_path``."""
    if source not in SOURCES:
        raise ConversionError(f'source={source!r} is not one of '
                              f'{sorted(SOURCES)}')
    module = importlib.import_module(SOURCES[source])
    return module.convert(in_path, out_path, source=source, **options)


def numpy_data_globals():
    """The numpy types a checkpoint may hold as plain data (a ``best_prec1``
    saved as a numpy scalar, an array in the training state), each under
    the name numpy 2 and numpy 1 pickles give it. Allow-listed exactly:
    ``torch.load(weights_only=True)`` refuses everything else."""
    import numpy as np
    scalar = np._core.multiarray.scalar
    reconstruct = np._core.multiarray._reconstruct
    allowed = [np.ndarray, np.dtype, scalar, reconstruct,
               (scalar, 'numpy.core.multiarray.scalar'),
               (reconstruct, 'numpy.core.multiarray._reconstruct')]
    allowed += [getattr(np.dtypes, name) for name in dir(np.dtypes)
                if name.endswith('DType')]
    return allowed


def load_source_file(path, what):
    """The object saved in ``path``; ``what`` names the expected kind in the
    error (e.g. "an original TSM checkpoint (.pth.tar)")."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such file (expected {what})')
    # Only what is not allowed yet: leaving the context removes what it
    # added, and `import tsm_plugin` allows some of the same for mmengine's
    # checkpoints (stack_fixes), which must stay allowed after a conversion.
    allowed = torch.serialization.get_safe_globals()
    added = [item for item in numpy_data_globals() if item not in allowed]
    try:  # tensors, containers, numbers, strings, numpy data: no code runs
        with torch.serialization.safe_globals(added):
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:
        raise ConversionError(
            f'{path} cannot be read as {what}: {type(error).__name__}: '
            f'{str(error).splitlines()[0] if str(error) else ""}') from error


class SourceTensors:
    """A source state dict that remembers which keys were read."""

    def __init__(self, tensors, path):
        self.tensors = dict(tensors)
        self.path = path
        self.read = set()

    def __contains__(self, key):
        return key in self.tensors

    def __getitem__(self, key):
        if key not in self.tensors:
            raise ConversionError(f'{self.path}: expected the key {key!r}, '
                                  'which the file does not hold')
        self.read.add(key)
        return self.tensors[key]

    def keys(self):
        return self.tensors.keys()

    def unread(self):
        return sorted(set(self.tensors) - self.read)


def fill_state_dict(model, mapped, source):
    """Load ``mapped`` ({model key: tensor}) into ``model`` after checking
    that it fills every model tensor with the right shape and that every
    tensor of ``source`` (a ``SourceTensors``) was used."""
    expected = model.state_dict()
    problems = []
    unused = source.unread()
    if unused:
        problems.append(f'source tensors left unused: {unused}')
    unfilled = sorted(set(expected) - set(mapped))
    if unfilled:
        problems.append(f'model tensors left unfilled: {unfilled}')
    unknown = sorted(set(mapped) - set(expected))
    if unknown:
        problems.append(f'model has no tensors named: {unknown}')
    shapes = [f'{key}: {tuple(mapped[key].shape)} in the source, '
              f'{tuple(expected[key].shape)} in the model'
              for key in sorted(set(mapped) & set(expected))
              if mapped[key].shape != expected[key].shape]
    if shapes:
        problems.append(f'shapes differ: {shapes}')
    if problems:
        raise ConversionError(f'{source.path} does not convert one to one: '
                              + '; '.join(problems))
    model.load_state_dict(
        {key: value.to(expected[key].dtype) for key, value in mapped.items()})
    return model


def save_checkpoint(model, cfg, out_path, source, in_path):
    """Write ``model``'s state dict as an mmengine checkpoint whose
    ``meta['cfg']`` is ``cfg`` (an mmengine ``Config``) as text."""
    out_dir = osp.dirname(osp.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    meta = dict(cfg=config_text(cfg), converted_from=osp.basename(in_path),
                source=source)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), out_path)
    return out_path


def config_text(cfg):
    """``cfg`` as Python source that ``Config.fromstring(text, '.py')`` reads
    back: one assignment per top-level key. (mmengine's ``pretty_text``
    gives the same values formatted by yapf: 1-3 s per ResNet config on
    these CPUs, most of a conversion's time.)"""
    return ''.join(f'{key} = {value!r}\n'
                   for key, value in cfg.to_dict().items())
