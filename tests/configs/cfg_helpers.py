"""Helpers of the config tests: config files, and running a config's
pipeline and model at a tiny resolution."""
import copy
from pathlib import Path

import mmaction
import pytest
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

import tsm_plugin  # noqa: F401  (stack fixes, plugin registry)

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
BUNDLED = f'{mmaction.__path__[0]}/.mim/configs/recognition/tsm'
TSM_CONFIG_DIR = CONFIG_DIR / 'tsm'
K400_1X1X8 = TSM_CONFIG_DIR / \
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'
STHV2_1X1X8 = TSM_CONFIG_DIR / \
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py'
MIXING_DIR = CONFIG_DIR / 'mixing'
TSN_HEAD = MIXING_DIR / \
    'tsm_imagenet-pretrained-r50-tsn-head_8xb16-1x1x8-50e_kinetics400-rgb.py'
MOBILENET = MIXING_DIR / ('tsm_imagenet-pretrained-mobilenetv2-plugin-head_'
                          '8xb16-1x1x8-100e_kinetics400-rgb.py')
TINY = 32  # frame side for tiny runs: R50's layer4 still gets 1x1


def config_files(zoo=None):
    """Every runnable config under configs/: bases (in `_base_/` or named
    `_*.py`) excluded; ``zoo=True``/``False``: only those that do / do not
    need the zoo extra (mmpretrain, timm, torchvision)."""
    return sorted(p for p in CONFIG_DIR.rglob('*.py')
                  if not any(part.startswith('_')
                             for part in p.relative_to(CONFIG_DIR).parts)
                  and (zoo is None or needs_zoo(p) == zoo))


# What a config that needs the zoo extra (torchvision, timm, mmpretrain) says in
# its opening comment; a child config inherits it by saying it again.
ZOO_EXTRA = "pip install -e '.[zoo]'"


def needs_zoo(path):
    return ZOO_EXTRA in Path(path).read_text()


def config_params(paths):
    """``paths`` as pytest params named by their path under configs/; those
    that need the zoo extra are marked ``zoo`` (they run in the zoo venv)."""
    return [pytest.param(p, id=str(p.relative_to(CONFIG_DIR)),
                         marks=[pytest.mark.zoo] if needs_zoo(p) else [])
            for p in paths]


def load(path):
    return Config.fromfile(str(path))


def shrink(pipeline, side=TINY):
    """The pipeline at `side` pixels: sizes 224/256 (resize, crops) -> side."""
    pipeline = copy.deepcopy(pipeline)
    for step in pipeline:
        if step['type'] == 'Resize':
            step['scale'] = tuple(side if s in (224, 256) else s
                                  for s in step['scale'])
        for key in ('crop_size', 'input_size'):
            if step.get(key) in (224, 256):
                step[key] = side
    return pipeline


def pipeline_batch(pipeline, video, label=0, side=TINY):
    """Run `pipeline` (shrunk to `side`) on `video`: a batch of one sample."""
    run = Compose(shrink(pipeline, side))
    return pseudo_collate([run(dict(filename=video, label=label,
                                    start_index=0, modality='RGB'))])


def without_weights(model_cfg):
    """A copy of a model config that loads no pretrained weights: ResNet
    `pretrained`, MobileOne's `init_cfg`; a TSMBackbone's 2D network: timm
    `pretrained`, torchvision `weights` (both fetched at build time),
    mmpretrain `init_cfg`."""
    cfg = copy.deepcopy(model_cfg)
    network = cfg['backbone']
    while network is not None:
        for key in ('pretrained', 'init_cfg', 'weights'):
            if key in network:  # timm's pretrained is a bool
                network[key] = False if network[key] is True else None
        network = network.get('backbone')
    return cfg


def build_model(model_cfg, **backbone):
    """The config's model without pretrained weights (PyTorch's default init;
    `init_weights` is left out: slow, and the backbone's own tests cover it)."""
    cfg = without_weights(model_cfg)
    cfg['backbone'].update(backbone)
    return MODELS.build(cfg)


def data_samples(n, num_clips, clip_len, label=0):
    """`n` samples as PackActionInputs with num_clips/clip_len packs them."""
    samples = []
    for _ in range(n):
        sample = ActionDataSample().set_gt_label(label)
        sample.set_metainfo(dict(num_clips=num_clips, clip_len=clip_len))
        samples.append(sample)
    return samples


def sampler_of(pipeline):
    """The frame-sampling step of a pipeline (the one that sets num_clips)."""
    steps = [s for s in pipeline if 'num_clips' in s]
    assert len(steps) == 1, f'expected one sampling step in {pipeline}'
    return steps[0]


def differences(ours, theirs, path=''):
    """Dotted keys where two config trees differ (`_scope_`, which a
    `mmaction::` base adds, left out)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return [d for key in sorted((set(ours) | set(theirs)) - {'_scope_'})
                for d in differences(ours.get(key), theirs.get(key),
                                     f'{path}.{key}'.lstrip('.'))]
    if isinstance(ours, list) and isinstance(theirs, list) and \
            len(ours) == len(theirs):
        return [d for i, (a, b) in enumerate(zip(ours, theirs))
                for d in differences(a, b, f'{path}[{i}]')]
    return [] if ours == theirs else [path]
