"""``tadaconv``: checkpoints of the official TAdaConv repository
(alibaba-mmai-research/TAdaConv) -> MMAction2 checkpoints for the plugin.

The format, read from ``tadaconv/utils/checkpoint.py`` (``save_checkpoint``)
and the model code at 75b7839: a dict ``{'epoch', 'model_state',
'optimizer_state', 'cfg'}`` (maybe ``model_ema_state``), ``model_state`` the
state dict of ``BaseVideoModel``: ``backbone.*`` and ``head.out.*`` (the
linear classifier of ``BaseHead``), without ``module.`` (the DDP wrapper is
taken off before saving; a ``module.`` prefix is stripped all the same).
``cfg`` is ``Config.dump()``, the whole run config as JSON text; frames,
sampling rate and dataset are read from it where it has them.

Two networks:

- TAda2D-R50 (``ResNet3D`` + ``TAda2DBlock``; keys ``backbone.conv1.a``,
  ``backbone.conv{2-5}.res_{i}.conv_branch.{a,b,b_rf,b_bn,b_avgpool_bn,c}``
  ...) into ``tsm_plugin.ResNetTAda(layout='official')``;
- TAdaConvNeXtV2-T/S/B (``ConvNeXt`` + ``TAdaConvNeXtV2Block``; keys
  ``backbone.downsample_layers``, ``backbone.stages.i.j.{dwconv,dwconv_rf,
  norm,norm_avgpool,pwconv1,pwconv2,gamma}``, ``backbone.norm``) into
  ``tsm_plugin.TAdaConvNeXtV2``.

Every source tensor lands in exactly one model tensor; the 3D/6D official
shapes lose only singleton dims (``(O, I, 1, k, k)`` convs, the TAdaConv
weights ``(1, 1, O, I, k, k)``, the generators' ``(O, I, k, 1, 1)``).
"""
import json
import os.path as osp
import pickle
import re

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from .common import (ConversionError, SourceTensors, fill_state_dict,
                     save_checkpoint)

WHAT = ("an official TAdaConv checkpoint (a dict with 'model_state', as "
        "tadaconv/utils/checkpoint.py saves it)")
CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'tada_official')
DATASETS = {'kinetics400': 'k400', 'sthv2': 'sthv2'}
# the dataset names of the official configs (TRAIN.DATASET)
OFFICIAL_DATASETS = {'kinetics400': 'kinetics400', 'ssv2': 'sthv2',
                     'ssv1': 'sthv1'}
NUM_CLASSES = {'kinetics400': 400, 'sthv2': 174}


class StubbedObject:
    """What an unknown class of the checkpoint's pickle becomes: its
    arguments and state kept as data, none of its code run."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state):
        self.state = state


def stub_for(name):
    return type(name.rsplit('.', 1)[-1], (StubbedObject, ), {
        '__module__': name.rsplit('.', 1)[0], '__qualname__':
        name.rsplit('.', 1)[-1]})


def load_official(path):
    """The saved dict, read with torch's weights-only unpickler. Globals it
    refuses (e.g. a pickled config object of another version of their
    code) are stubbed: allow-listed as inert ``StubbedObject`` classes
    under their own names, so no code of the file runs."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such file (expected {WHAT})')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError:
        pass
    except Exception as error:
        raise ConversionError(f'{path} cannot be read as {WHAT}: '
                              f'{type(error).__name__}: {error}') from error
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        stubs = [(stub_for(name), name) for name in names]
        with torch.serialization.safe_globals(stubs):
            return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as error:
        raise ConversionError(f'{path} cannot be read as {WHAT}: '
                              f'{type(error).__name__}: {error}') from error


def model_state(checkpoint, path):
    if not (isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('model_state'), dict)):
        keys = sorted(checkpoint)[:8] if isinstance(checkpoint, dict) else \
            type(checkpoint).__name__
        raise ConversionError(f'{path} is not {WHAT}: found {keys}')
    state = checkpoint['model_state']
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def read_cfg(checkpoint):
    """The run config saved beside the weights, as a dict ({} if absent or
    unreadable: it only supplies defaults). JSON text as their code saves
    it; a pickled ``Config`` object (stubbed) gives its attributes, whose
    ``cfg_dict`` is the whole config."""
    cfg = checkpoint.get('cfg')
    if isinstance(cfg, StubbedObject) and isinstance(cfg.state, dict):
        cfg = cfg.state.get('cfg_dict', cfg.state)
    if isinstance(cfg, str):
        try:
            cfg = json.loads(cfg)
        except ValueError:
            return {}
    return cfg if isinstance(cfg, dict) else {}


def cfg_get(cfg, *path):
    for key in path:
        if not isinstance(cfg, dict) or key not in cfg:
            return None
        cfg = cfg[key]
    return cfg


def singleton_reshape(value, shape):
    """``value`` in ``shape`` when the two differ by singleton dims only
    (else unchanged: ``fill_state_dict`` then names the mismatch)."""
    if value.shape != shape and [d for d in value.shape if d != 1] == \
            [d for d in shape if d != 1]:
        return value.reshape(shape)
    return value


# official TAda2D block names -> MMAction2 ResNet (+ ResNetTAda) names
TADA2D_BLOCK = [
    ('short_cut_bn.', 'downsample.bn.'), ('short_cut.', 'downsample.conv.'),
    ('conv_branch.a_bn.', 'conv1.bn.'), ('conv_branch.a.', 'conv1.conv.'),
    ('conv_branch.b_rf.g.', 'conv2.conv.calibration.global_proj.'),
    ('conv_branch.b_rf.a.', 'conv2.conv.calibration.temporal_conv1.'),
    ('conv_branch.b_rf.bn.', 'conv2.conv.calibration.bn.'),
    ('conv_branch.b_rf.b.', 'conv2.conv.calibration.temporal_conv2.'),
    ('conv_branch.b_avgpool_bn.', 'conv2.pool_bn.'),
    ('conv_branch.b_bn.', 'conv2.bn.'), ('conv_branch.b.', 'conv2.conv.'),
    ('conv_branch.c_bn.', 'conv3.bn.'), ('conv_branch.c.', 'conv3.conv.'),
]
# official TAdaConvNeXtV2 block names -> TAdaConvNeXtV2's
V2_BLOCK = [
    ('dwconv_rf.a.', 'depthwise_conv.calibration.temporal_conv1.'),
    ('dwconv_rf.norm_transformer.', 'depthwise_conv.calibration.attn_norm.'),
    ('dwconv_rf.norm.', 'depthwise_conv.calibration.norm.'),
    ('dwconv_rf.qkv_proj.', 'depthwise_conv.calibration.qkv.'),
    ('dwconv_rf.attn_out.', 'depthwise_conv.calibration.attn_out.'),
    ('dwconv_rf.b_bias.', 'depthwise_conv.calibration.temporal_conv2_bias.'),
    ('dwconv_rf.b.', 'depthwise_conv.calibration.temporal_conv2.'),
    ('dwconv.', 'depthwise_conv.'), ('norm_avgpool.', 'pool_norm.'),
    ('norm.', 'norm.'), ('pwconv1.', 'pointwise_conv1.'),
    ('pwconv2.', 'pointwise_conv2.'), ('gamma', 'gamma'),
]


def _rename_block(rest, table):
    for old, new in table:
        if rest.startswith(old):
            return new + rest[len(old):]
    return None


def tada2d_key(key):
    """Official TAda2D backbone key -> the plugin's (None: unknown)."""
    if key.startswith('backbone.conv1.a_bn.'):
        return 'backbone.conv1.bn.' + key[len('backbone.conv1.a_bn.'):]
    if key.startswith('backbone.conv1.a.'):
        return 'backbone.conv1.conv.' + key[len('backbone.conv1.a.'):]
    match = re.match(r'backbone\.conv([2-5])\.res_(\d+)\.(.*)', key)
    if match:
        rest = _rename_block(match.group(3), TADA2D_BLOCK)
        if rest is not None:
            return (f'backbone.layer{int(match.group(1)) - 1}.'
                    f'{int(match.group(2)) - 1}.{rest}')
    return None


def v2_key(key):
    """Official TAdaConvNeXtV2 backbone key -> the plugin's (None: unknown)."""
    if re.match(r'backbone\.(downsample_layers\.\d\.\d|norm)\.', key):
        return key
    match = re.match(r'backbone\.stages\.(\d)\.(\d+)\.(.*)', key)
    if match:
        rest = _rename_block(match.group(3), V2_BLOCK)
        if rest is not None:
            return f'backbone.stages.{match.group(1)}.{match.group(2)}.{rest}'
    return None


def stage_depths(keys, pattern, first=0):
    """Blocks per stage, from the keys (``pattern`` captures stage, block;
    blocks counted from ``first``)."""
    depths = {}
    for key in keys:
        match = re.match(pattern, key)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            depths[stage] = max(depths.get(stage, 0), block + 1 - first)
    return tuple(depths[s] for s in sorted(depths))


def identify(state, path):
    """``(family, arch)``: ``('tada2d', depth)`` or ``('v2', arch name)``."""
    keys = list(state)
    if 'backbone.conv1.a.weight' in state and any(
            '.conv_branch.b_rf.' in k for k in keys):
        depths = stage_depths(keys, r'backbone\.conv(\d)\.res_(\d+)\.', 1)
        depth = {(3, 4, 6, 3): 50, (3, 4, 23, 3): 101,
                 (3, 8, 36, 3): 152}.get(depths)
        if depth is None:
            raise ConversionError(
                f'{path}: a TAda2D checkpoint with {depths} blocks per '
                'stage, not a ResNet-50/101/152 (3, 4, 6, 3), (3, 4, 23, 3), '
                '(3, 8, 36, 3)')
        return 'tada2d', depth
    if 'backbone.downsample_layers.0.0.weight' in state and any(
            '.dwconv_rf.' in k for k in keys):
        depths = stage_depths(keys, r'backbone\.stages\.(\d)\.(\d+)\.')
        channels = state['backbone.downsample_layers.0.0.weight'].shape[0]
        arch = {((3, 3, 9, 3), 96): 'tiny', ((3, 3, 27, 3), 96): 'small',
                ((3, 3, 27, 3), 128): 'base'}.get((depths, channels))
        if arch is None:
            raise ConversionError(
                f'{path}: a TAdaConvNeXtV2 checkpoint with {depths} blocks '
                f'per stage and {channels} stem channels, not -T, -S or -B')
        return 'v2', arch
    raise ConversionError(
        f'{path} holds neither TAda2D (backbone.conv1.a.weight, '
        '...conv_branch.b_rf.*) nor TAdaConvNeXtV2 (backbone.downsample_'
        f'layers.0.0.weight, ...dwconv_rf.*) weights; its keys begin '
        f'{sorted(state)[:6]}')


def resolve_options(cfg, state, num_segments, dataset, num_classes, path):
    """Frames, frame interval, dataset and classes: the options, else the
    checkpoint's cfg, else the head's shape; what none says is an error."""
    classes = state['head.out.weight'].shape[0] \
        if 'head.out.weight' in state else None
    if num_classes is not None and classes is not None \
            and num_classes != classes:
        raise ConversionError(f'num_classes={num_classes}, but the head in '
                              f'{path} has {classes} classes')
    num_classes = classes or num_classes
    if dataset is None:
        official = cfg_get(cfg, 'TEST', 'DATASET') or cfg_get(
            cfg, 'TRAIN', 'DATASET')
        dataset = OFFICIAL_DATASETS.get(str(official).lower())
    if dataset is None and num_classes == 400:
        dataset = 'kinetics400'
    if dataset not in DATASETS:
        raise ConversionError(
            f'{path}: dataset {dataset!r} (from --dataset or the '
            'checkpoint\'s cfg; 174 classes are SSV1 or SSV2) has no config '
            f'here; pass --dataset, one of {sorted(DATASETS)}')
    if num_classes is None:
        num_classes = NUM_CLASSES[dataset]
    if num_segments is None:
        num_segments = cfg_get(cfg, 'DATA', 'NUM_INPUT_FRAMES')
    if not (isinstance(num_segments, int) and num_segments >= 1):
        raise ConversionError(
            f'{path}: its cfg does not say how many frames it takes '
            f'(DATA.NUM_INPUT_FRAMES): pass --num-segments')
    interval = cfg_get(cfg, 'DATA', 'SAMPLING_RATE')
    return num_segments, interval, dataset, num_classes


def config_file(family, arch, dataset, num_segments):
    short = DATASETS[dataset]
    if family == 'tada2d':
        if short == 'k400':
            sampling = '16x5x1' if num_segments == 16 else '8x8x1'
        else:
            sampling = '1x1x16' if num_segments == 16 else '1x1x8'
        return osp.join(CONFIG_DIR, f'tada2d-r50_official_{short}-'
                        f'{sampling}.py')
    sampling = '16x5x1' if short == 'k400' else 'u16'
    return osp.join(CONFIG_DIR, f'tadaconvnextv2-{arch[0]}_official_{short}-'
                    f'{sampling}.py')


def set_frames(cfg, family, num_segments, interval):
    """Frames per clip (and, for K400, the frame interval) throughout: the
    dataloaders' pipelines and the top-level ones (``inference_recognizer``
    reads ``test_pipeline``)."""
    if family == 'tada2d':
        cfg.model.backbone.num_segments = num_segments
        cfg.model.cls_head.num_segments = num_segments
    pipelines = [cfg[f'{split}_dataloader'].dataset.pipeline
                 for split in ('train', 'val', 'test')]
    pipelines += [cfg[f'{split}_pipeline']
                  for split in ('train', 'val', 'test')
                  if f'{split}_pipeline' in cfg]
    for pipeline in pipelines:
        for step in pipeline:
            if step.type == 'SampleFrames' and step.clip_len == 1:
                step.num_clips = num_segments  # one frame per segment
            elif step.type in ('SampleFrames', 'UniformSample'):
                step.clip_len = num_segments
                if step.type == 'SampleFrames' and interval:
                    step.frame_interval = interval


def build_config(family, arch, dataset, num_segments, interval, num_classes):
    cfg = Config.fromfile(config_file(family, arch, dataset, num_segments))
    cfg.model.cls_head.num_classes = num_classes
    if family == 'tada2d':
        cfg.model.backbone.depth = arch
    set_frames(cfg, family, num_segments, interval)
    return cfg


def convert(in_path, out_path, *, source='tadaconv', num_segments=None,
            dataset=None, num_classes=None):
    """Convert the official checkpoint ``in_path`` into ``out_path``."""
    from mmaction.registry import MODELS

    import tsm_plugin  # noqa: F401 (registers the plugin's models)
    checkpoint = load_official(in_path)
    state = model_state(checkpoint, in_path)
    family, arch = identify(state, in_path)
    num_segments, interval, dataset, num_classes = resolve_options(
        read_cfg(checkpoint), state, num_segments, dataset, num_classes,
        in_path)
    cfg = build_config(family, arch, dataset, num_segments, interval,
                       num_classes)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmaction')):
        model = MODELS.build(cfg.model)
    own = model.state_dict()
    source_tensors = SourceTensors(state, in_path)
    rename = tada2d_key if family == 'tada2d' else v2_key
    mapped = {}
    for key in list(source_tensors.keys()):
        # BaseHead's linear is the head's fc in both families
        ours = 'cls_head.fc_cls.' + key[len('head.out.'):] \
            if key.startswith('head.out.') else rename(key)
        if ours is None:
            continue  # left unread: fill_state_dict names it
        value = source_tensors[key]
        mapped[ours] = singleton_reshape(value, own[ours].shape) \
            if ours in own else value
    fill_state_dict(model, mapped, source_tensors)
    return save_checkpoint(model, cfg, out_path, source, in_path)
