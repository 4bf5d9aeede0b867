"""The original TSM repository's checkpoints
(mit-han-lab/temporal-shift-module).

Two sources:

- ``tsm``: the offline models, saved by its ``main.py`` as
  ``{'epoch', 'arch', 'state_dict', 'optimizer', 'best_prec1'}`` of a
  ``DataParallel(TSN)``: keys ``module.base_model.<torchvision ResNet or
  MobileNetV2 name>`` (``.net`` inside each shifted module, ``layer2.net``
  under temporal pool, ``.block`` / ``.nl`` around blocks with a non-local
  block after them) and ``module.new_fc.*`` (the head; ``base_model.fc`` or
  ``base_model.classifier`` when trained without dropout). The file name
  encodes what the keys cannot: ``TSM_{dataset}_{modality}_{arch}[_shift{div}_
  {place}][_tpool]_{consensus}_segment{N}_e{epochs}[_dense][_nl]``
  (``store_name`` in its ``main.py``). A name without ``shift`` is a TSN.
- ``tsm-online``: the live demo's ``mobilenetv2_jester_online.pth.tar``, a
  plain state dict of ``online_demo/mobilenet_v2_tsm.py``'s
  ``MobileNetV2(n_class=27)``: ``features.<i>...`` and ``classifier.*``; its
  shifted blocks move channels ``[0, C // 8)`` from the previous frame, the
  plugin's ``shift_mode='unidirectional'``.

Into the plugin's ``ResNetTSM`` / ``MobileNetV2TSM`` with ``TSMHead``, under a
config of ``configs/tsm_original/`` carrying the authors' test-time
preprocessing. A model no config there describes exactly (another segment
count, depth, class count, ...) gets that config with the model's settings
changed, written beside the output as ``<output>.py``.

Exact, with one rewrite: the original non-local block's output conv
(``W.0``) has a bias and MMAction2's ``NonLocal3d`` (``conv_out``) has none.
A BatchNorm follows that conv, so the bias moves into the BatchNorm's running
mean (``running_mean - bias``): the same output in eval mode, and in training
mode too (batch statistics cancel a constant), the running mean then staying
``bias`` below the original's.
"""
import copy
import os.path as osp
import re

import torch

from .common import (ConversionError, SourceTensors, fill_state_dict,
                     load_source_file, save_checkpoint)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'tsm_original')

# The file names' dataset -> (the --dataset name, its classes).
FILE_DATASETS = {'kinetics': 'kinetics400', 'something': 'sthv1',
                 'somethingv2': 'sthv2', 'jester': 'jester'}
DATASET_CLASSES = {'kinetics400': 400, 'sthv1': 174, 'sthv2': 174,
                   'jester': 27}
# Bottleneck ResNets by blocks per stage (BasicBlock: 18 and 34).
RESNET_DEPTHS = {(True, (3, 4, 6, 3)): 50, (True, (3, 4, 23, 3)): 101,
                 (True, (3, 8, 36, 3)): 152, (False, (2, 2, 2, 2)): 18,
                 (False, (3, 4, 6, 3)): 34}
# MobileNetV2 (width 1.0): blocks per stage; ``features.1..17`` are blocks.
MOBILENET_STAGE_BLOCKS = (1, 2, 3, 4, 3, 3, 1)
MOBILENET_LAST = 1 + sum(MOBILENET_STAGE_BLOCKS)  # features.18: the 1x1 conv
# Original non-local block -> mmcv NonLocal3d (W.0.bias: folded, see above).
NON_LOCAL_NAMES = {'g.0.': 'g.0.conv.', 'theta.': 'theta.conv.',
                   'phi.0.': 'phi.0.conv.', 'W.0.': 'conv_out.conv.',
                   'W.1.': 'conv_out.bn.'}
SHIFT_DIV_DEFAULT = 8  # every published model; the file name says otherwise

OFFLINE_WHAT = ("an original TSM checkpoint (main.py's {'state_dict': "
                "{'module.base_model.*', 'module.new_fc.*'}, ...})")
ONLINE_WHAT = ("the original TSM online demo's state dict (online_demo/"
               "mobilenet_v2_tsm.py MobileNetV2: 'features.*', "
               "'classifier.*')")


def convert(in_path, out_path, *, source, num_segments=None, dataset=None,
            num_classes=None):
    """Convert ``in_path`` (``source`` ``'tsm'`` or ``'tsm-online'``) into
    an MMAction2 checkpoint at ``out_path``; returns ``out_path``."""
    if source not in ('tsm', 'tsm-online'):
        raise ConversionError(f"source={source!r}: this module converts 'tsm' "
                              "and 'tsm-online'")
    for name, value in (('num_segments', num_segments),
                        ('num_classes', num_classes)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, int) or value < 1):
            raise ConversionError(f'{name} must be an int >= 1, got '
                                  f'{value!r}')
    if dataset is not None and dataset not in DATASET_CLASSES:
        raise ConversionError(f'dataset={dataset!r} is not one of '
                              f'{sorted(DATASET_CLASSES)}')
    online = source == 'tsm-online'
    what = ONLINE_WHAT if online else OFFLINE_WHAT
    state = source_state_dict(load_source_file(in_path, what), in_path, what)
    if online:
        spec = online_spec(state, in_path, num_segments, dataset)
    else:
        spec = offline_spec(state, in_path, num_segments, dataset)
    check_num_classes(spec, num_classes, in_path)
    cfg, config_path = model_config(spec)
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import tsm_plugin  # noqa: F401  (registers the plugin's models)
    init_default_scope('mmaction')
    model = MODELS.build(copy.deepcopy(cfg.model))
    tensors = SourceTensors(state, in_path)
    mapped = map_tensors(spec, tensors, model)
    fill_state_dict(model, mapped, tensors)
    if config_path is None:  # no config of configs/ fits: write the one used
        config_path = osp.splitext(out_path)[0] + '.py'
        cfg.dump(config_path)
    save_checkpoint(model, cfg, out_path, source, in_path)
    print(f'{osp.basename(in_path)}: {describe(spec)}; config {config_path}')
    return out_path


# --- reading the file --------------------------------------------------------

def source_state_dict(loaded, path, what):
    """The tensors of the file, without DataParallel's ``module.``."""
    if isinstance(loaded, dict) and isinstance(loaded.get('state_dict'), dict):
        loaded = loaded['state_dict']
    if not isinstance(loaded, dict) or not loaded or not all(
            isinstance(k, str) and torch.is_tensor(v)
            for k, v in loaded.items()):
        keys = [str(k) for k in list(loaded)[:8]] \
            if isinstance(loaded, dict) else None
        raise ConversionError(
            f'{path} is not {what}: found {type(loaded).__name__}'
            + (f' with keys {keys}' if keys is not None else ''))
    if all(k.startswith('module.') for k in loaded):
        loaded = {k[len('module.'):]: v for k, v in loaded.items()}
    return loaded


def parse_file_name(path):
    """What the original ``main.py`` encoded in the file name (``{}`` for a
    renamed file): dataset, modality, arch, shift_div, shift_place,
    temporal_pool, num_segments, dense, non_local."""
    name = osp.basename(path)
    match = re.search(
        r'TSM_(?P<dataset>[A-Za-z0-9]+)_(?P<modality>RGB|Flow|RGBDiff)_'
        r'(?P<arch>[A-Za-z0-9]+)(?:_shift(?P<div>\d+)_(?P<place>[a-z]+))?'
        r'(?P<tpool>_tpool)?_(?P<consensus>[a-z]+)_segment(?P<segments>\d+)'
        r'_e\d+(?P<rest>.*)$', name)
    if match is None:
        return {}
    rest = match['rest'].split('.')[0].split('_')
    return dict(dataset=match['dataset'], modality=match['modality'],
                consensus=match['consensus'],
                arch=match['arch'],
                shift_div=int(match['div']) if match['div'] else None,
                shift_place=match['place'], temporal_pool=bool(match['tpool']),
                num_segments=int(match['segments']),
                dense='dense' in rest, non_local='nl' in rest)


# --- what the checkpoint holds -----------------------------------------------

def head_keys(state, path):
    """``(weight key, bias key)`` of the classifier."""
    for prefix in ('new_fc.', 'base_model.fc.', 'base_model.classifier.'):
        if prefix + 'weight' in state:
            return prefix + 'weight', prefix + 'bias'
    raise ConversionError(
        f'{path}: no classifier found (expected new_fc.weight, '
        'base_model.fc.weight or base_model.classifier.weight)')


def offline_spec(state, path, num_segments, dataset):
    """The model the offline checkpoint describes: from its keys, then its
    file name, then the options."""
    if not any(k.startswith('base_model.') for k in state):
        raise ConversionError(
            f'{path} is not {OFFLINE_WHAT}: no base_model.* keys, found '
            f'{sorted(state)[:8]}')
    named = parse_file_name(path)
    if named.get('consensus', 'avg') != 'avg':
        raise ConversionError(
            f"{path}: consensus {named['consensus']!r}; TSMHead averages the "
            "frames' scores (the published models' 'avg')")
    if named.get('modality', 'RGB') != 'RGB':
        raise ConversionError(
            f"{path}: modality {named['modality']!r}; only RGB models convert "
            '(the plugin has no optical-flow pipeline)')
    base = {k[len('base_model.'):]: v for k, v in state.items()
            if k.startswith('base_model.')}
    if any(k.startswith('features.') for k in base):
        spec = dict(arch='mobilenetv2', **mobilenet_structure(base, path))
    elif any(k.startswith('layer1.') for k in base):
        spec = dict(arch='resnet', **resnet_structure(base, path))
    else:
        raise ConversionError(
            f'{path}: base model is neither a torchvision-style ResNet '
            '(layer1.*) nor MobileNetV2 (features.*); found '
            f'{sorted(base)[:8]} (BNInception is not built by the plugin)')
    first_conv = base.get('conv1.weight', base.get('features.0.0.weight'))
    if first_conv is not None and first_conv.shape[1] != 3:
        raise ConversionError(
            f'{path}: the first conv takes {first_conv.shape[1]} channels, '
            'not 3: only RGB models convert')
    weight_key, _ = head_keys(state, path)
    spec['num_classes'] = state[weight_key].shape[0]
    spec['shift_div'] = named.get('shift_div') or SHIFT_DIV_DEFAULT
    if named.get('shift_place') and spec['is_shift'] and \
            named['shift_place'] != spec['shift_place']:
        raise ConversionError(
            f"{path}: the name says shift_place={named['shift_place']!r}, the "
            f"keys {spec['shift_place']!r}")
    spec['dense'] = named.get('dense', False)
    spec['num_segments'] = segments_of(spec, named, num_segments, path)
    if spec['temporal_pool'] and spec['num_segments'] % 2:
        raise ConversionError(
            f"{path}: temporal pool halves the frames: num_segments must be "
            f"even, got {spec['num_segments']}")
    spec['dataset'] = dataset_of(spec, named, dataset, path)
    spec['online'] = False
    return spec


def online_spec(state, path, num_segments, dataset):
    if not any(k.startswith('features.') for k in state) or \
            'classifier.weight' not in state:
        raise ConversionError(f'{path} is not {ONLINE_WHAT}: found keys '
                              f'{sorted(state)[:8]}')
    spec = dict(arch='mobilenetv2', online=True, is_shift=True,
                shift_place='blockres', shift_div=8, temporal_pool=False,
                non_local=None, dense=False, depth=None,
                num_classes=state['classifier.weight'].shape[0])
    structure = mobilenet_structure(state, path, online=True)
    spec['shifted_blocks'] = structure['shifted_blocks']
    spec['num_segments'] = num_segments or 8  # frames averaged when offline
    spec['dataset'] = dataset or ('jester' if spec['num_classes'] == 27
                                  else None)
    if spec['dataset'] is None:
        raise ConversionError(
            f"{path}: {spec['num_classes']} classes, not Jester's 27: pass "
            '--dataset to say which preprocessing it was trained with')
    return spec


def segments_of(spec, named, num_segments, path):
    if num_segments is not None:
        return num_segments
    if not spec['is_shift']:
        # A TSN scores frames one by one: the authors test with 8 whatever
        # it was trained with (segment5 in the published name).
        return 8
    if 'num_segments' not in named:
        raise ConversionError(
            f'{path}: the file name does not say the segment count (the '
            "original name holds 'segment<N>'): pass --num-segments")
    return named['num_segments']


def dataset_of(spec, named, dataset, path):
    if dataset is not None:
        return dataset
    if named.get('dataset') in FILE_DATASETS:
        return FILE_DATASETS[named['dataset']]
    guess = [d for d, n in DATASET_CLASSES.items()
             if n == spec['num_classes']]
    if len(guess) == 1:
        return guess[0]
    raise ConversionError(
        f"{path}: cannot tell the dataset ({spec['num_classes']} classes; the "
        f"file name says {named.get('dataset')!r}): pass --dataset "
        f'{"|".join(DATASET_CLASSES)} (its test-time preprocessing is used)')


def check_num_classes(spec, num_classes, path):
    if num_classes is not None and num_classes != spec['num_classes']:
        raise ConversionError(
            f"{path}: its classifier has {spec['num_classes']} classes, "
            f'--num-classes says {num_classes}')


def resnet_structure(base, path):
    """Depth, shift placement, temporal pool and non-local blocks of a
    torchvision-style ResNet with the original TSM's wrappers."""
    temporal_pool = any(k.startswith('layer2.net.') for k in base)
    plain = {}  # key without wrappers -> key
    shifted, non_local = set(), set()
    place = set()
    for key in base:
        parts = key.split('.')
        if temporal_pool and parts[0] == 'layer2':
            parts = parts[:1] + parts[2:]  # layer2.net.<i> -> layer2.<i>
        if len(parts) > 2 and parts[0].startswith('layer'):
            stage_block = tuple(parts[:2])
            rest = parts[2:]
            if rest[0] == 'nl':
                non_local.add(stage_block)
                continue
            if rest[0] == 'block':  # NL3DWrapper(block)
                rest = rest[1:]
            if rest[0] == 'net':  # TemporalShift(block): 'block'
                shifted.add(stage_block)
                place.add('block')
                rest = rest[1:]
            elif len(rest) > 1 and rest[0] == 'conv1' and rest[1] == 'net':
                shifted.add(stage_block)
                place.add('blockres')
                rest = rest[:1] + rest[2:]
            parts = list(stage_block) + rest
        plain['.'.join(parts)] = key
    if len(place) > 1:
        raise ConversionError(f'{path}: shifts both around blocks and inside '
                              'them; the original code places one kind')
    bottleneck = any('.conv3.' in k for k in plain)
    blocks = tuple(len({k.split('.')[1] for k in plain
                        if k.startswith(f'layer{i}.')}) for i in range(1, 5))
    depth = RESNET_DEPTHS.get((bottleneck, blocks))
    if depth is None:
        raise ConversionError(
            f'{path}: a ResNet with {blocks} blocks per stage '
            f'({"bottleneck" if bottleneck else "basic"} blocks) is not '
            'ResNet-18/34/50/101/152')
    flags = [[int((f'layer{i + 1}', str(j)) in non_local) for j in range(n)]
             for i, n in enumerate(blocks)]
    return dict(depth=depth, is_shift=bool(shifted),
                shift_place=place.pop() if place else 'blockres',
                temporal_pool=temporal_pool,
                non_local=flags if non_local else None,
                shifted_blocks=sorted(shifted), plain_keys=plain)


def mobilenet_structure(state, path, online=False):
    """Which blocks of a MobileNetV2 (``features.<i>``) are shifted."""
    indices = {int(k.split('.')[1]) for k in state
               if k.startswith('features.')}
    if indices != set(range(MOBILENET_LAST + 1)):
        raise ConversionError(
            f'{path}: a MobileNetV2 (width 1.0) has features.0 to '
            f'features.{MOBILENET_LAST}, found {sorted(indices)}')
    if online:  # InvertedResidualWithShift: no wrapper; the residual blocks
        shifted = residual_blocks()
    else:
        shifted = sorted({int(k.split('.')[1]) for k in state
                          if re.match(r'features\.\d+\.conv\.0\.net\.', k)})
    return dict(depth=None, is_shift=bool(shifted), shift_place='blockres',
                temporal_pool=False, non_local=None, shifted_blocks=shifted)


def residual_blocks():
    """``features`` indices of the blocks with an identity shortcut."""
    blocks, index = [], 1
    for n in MOBILENET_STAGE_BLOCKS:
        blocks.extend(range(index + 1, index + n))  # all but the first
        index += n
    return blocks


# --- the config --------------------------------------------------------------

def config_name(spec):
    """The name of the config of ``configs/tsm_original/`` for ``spec``."""
    if spec['online']:
        return f"tsm-online_mobilenetv2_{spec['dataset']}-rgb.py"
    kind = 'tsm-original' if spec['is_shift'] else 'tsn-original'
    arch = 'mobilenetv2' if spec['arch'] == 'mobilenetv2' else \
        f"r{spec['depth']}"
    if spec['non_local']:
        arch += '-nl'
    sampling = f"{'dense-' if spec['dense'] else ''}1x1x{spec['num_segments']}"
    return f"{kind}_{arch}_{sampling}_{spec['dataset']}-rgb.py"


def family_name(spec):
    """The config whose preprocessing ``spec`` shares when none fits it."""
    if spec['online']:
        return 'tsm-online_mobilenetv2_jester-rgb.py'
    if spec['arch'] == 'mobilenetv2':
        return 'tsm-original_mobilenetv2_dense-1x1x8_kinetics400-rgb.py'
    dataset = spec['dataset']
    if spec['dense']:
        dataset = 'kinetics400'
    elif dataset == 'jester':  # no flips (left/right gestures): as SSV1's
        dataset = 'sthv1'
    kind = 'tsm-original' if spec['is_shift'] or dataset != 'kinetics400' \
        else 'tsn-original'
    dense = 'dense-' if spec['dense'] else ''
    arch = 'r50-nl' if spec['non_local'] and spec['dense'] else 'r50'
    return f'{kind}_{arch}_{dense}1x1x8_{dataset}-rgb.py'


def model_config(spec):
    """``(Config, path)``: the config of ``configs/tsm_original/`` for the
    model, else (path ``None``) its family's with the model's settings."""
    from mmengine.config import Config
    if not osp.isdir(CONFIG_DIR):
        raise ConversionError(
            f'{CONFIG_DIR} not found: the converted configs live in the '
            "source tree (install the plugin with 'pip install -e .')")
    exact = osp.join(CONFIG_DIR, config_name(spec))
    if osp.isfile(exact):
        cfg = Config.fromfile(exact)
        if not config_differences(cfg, spec):
            return cfg, exact
    cfg = Config.fromfile(osp.join(CONFIG_DIR, family_name(spec)))
    set_model(cfg, spec)
    return cfg, None


def backbone_settings(spec):
    settings = dict(num_segments=spec['num_segments'],
                    is_shift=spec['is_shift'], shift_div=spec['shift_div'])
    if spec['arch'] == 'resnet':
        settings.update(
            depth=spec['depth'], shift_place=spec['shift_place'],
            temporal_pool=spec['temporal_pool'],
            non_local=non_local_flags(spec['non_local']))
    return settings


# ResNetTSM's defaults, for settings a config leaves out.
BACKBONE_DEFAULTS = dict(num_segments=8, is_shift=True, shift_div=8,
                         shift_place='blockres', temporal_pool=False,
                         non_local=(0, 0, 0, 0))


def non_local_flags(non_local):
    """Per-stage flags as lists of ints (a stage's 0: no block)."""
    if not non_local:
        return None
    flags = [[int(f) for f in stage] if not isinstance(stage, int) else
             [] if stage == 0 else None for stage in non_local]
    return None if not any(any(stage or ()) for stage in flags) else flags


def config_differences(cfg, spec):
    """The model settings in which ``cfg`` differs from the checkpoint."""
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    differ = []
    for name, value in backbone_settings(spec).items():
        declared = backbone.get(name, BACKBONE_DEFAULTS.get(name))
        if name == 'non_local':
            declared = non_local_flags(declared)
        if declared != value:
            differ.append(name)
    if head.num_classes != spec['num_classes']:
        differ.append('num_classes')
    return differ


def set_model(cfg, spec):
    """The family config ``cfg`` with the checkpoint's model settings and
    segment count (in the samplers too)."""
    backbone = cfg.model.backbone
    for name, value in backbone_settings(spec).items():
        backbone[name] = value
    if not spec['non_local']:
        backbone.pop('non_local', None)
    if spec['non_local'] and 'non_local_cfg' not in backbone:
        backbone['non_local_cfg'] = ORIGINAL_NON_LOCAL
    head = cfg.model.cls_head
    head.update(num_classes=spec['num_classes'],
                num_segments=spec['num_segments'], is_shift=spec['is_shift'],
                temporal_pool=spec['temporal_pool'])
    if spec['arch'] == 'resnet':
        head['in_channels'] = 512 * (4 if spec['depth'] >= 50 else 1)
    for split in ('train', 'val', 'test'):
        for step in cfg[f'{split}_dataloader'].dataset.pipeline:
            if step['type'] in ('SampleFrames', 'DenseSampleFrames'):
                step['num_clips'] = spec['num_segments']


# The original non-local block in mmcv's terms (ops/non_local.py): embedded
# gaussian without the 1/sqrt(C) scale, g and phi max-pooled 2x2 in space.
ORIGINAL_NON_LOCAL = dict(mode='embedded_gaussian', use_scale=False,
                          sub_sample=True,
                          norm_cfg=dict(type='BN3d', requires_grad=True))


def describe(spec):
    arch = 'MobileNetV2' if spec['arch'] == 'mobilenetv2' else \
        f"ResNet-{spec['depth']}"
    parts = [arch, f"{spec['num_segments']} segments",
             f"{spec['num_classes']} classes ({spec['dataset']})"]
    if spec['online']:
        parts.append('online (uni-directional shift)')
    elif spec['is_shift']:
        parts.append(f"shift 1/{spec['shift_div']} {spec['shift_place']}")
    else:
        parts.append('TSN (no shift)')
    parts += [w for w, on in (('temporal pool', spec['temporal_pool']),
                              ('non-local', spec['non_local']),
                              ('dense sampling', spec['dense'])) if on]
    return ', '.join(parts)


# --- the tensors -------------------------------------------------------------

def torchvision_resnet_to_mmaction(key):
    from ..models.backbones.resnet_tsm import torchvision_to_mmaction
    return torchvision_to_mmaction(key)


def mobilenet_to_mmaction(key):
    """``features.<i>.<...>`` (torchvision-style MobileNetV2 of the original
    repository, ``.net`` removed) -> MMAction2's MobileNetV2 name."""
    parts = key.split('.')
    index, rest = int(parts[1]), parts[2:]
    if index == 0 or index == MOBILENET_LAST:  # conv_bn / conv_1x1_bn
        module = 'conv1' if index == 0 else 'conv2'
        part = {'0': 'conv', '1': 'bn'}[rest[0]]
        return '.'.join([module, part] + rest[1:])
    block = index - 1
    for stage, n in enumerate(MOBILENET_STAGE_BLOCKS):
        if block < n:
            break
        block -= n
    # conv Sequential: (conv, bn, relu) per ConvModule; the last has no relu
    position = int(rest[1])
    module, part = divmod(position, 3)
    part = {0: 'conv', 1: 'bn'}[part]
    return '.'.join([f'layer{stage + 1}', str(block), 'conv', str(module),
                     part] + rest[2:])


def map_tensors(spec, tensors, model):
    """``{model key: tensor}`` for every source tensor of ``tensors``."""
    own = {}
    from ..models.backbones.resnet_tsm import unwrapped_name
    for key in model.state_dict():
        if key.startswith('backbone.'):
            own[unwrapped_name(key[len('backbone.'):])] = key
    mapped = {}

    def put(name, source_key, value=None):
        target = own.get(name)
        if target is None:
            raise ConversionError(
                f'{tensors.path}: {source_key!r} has no place in the model '
                f'(looked for backbone.{name}); the model is {describe(spec)}')
        mapped[target] = tensors[source_key] if value is None else value

    prefix = '' if spec['online'] else 'base_model.'
    if spec['online']:
        weight, bias = 'classifier.weight', 'classifier.bias'
    else:
        weight, bias = head_keys(tensors.tensors, tensors.path)
    if spec['arch'] == 'resnet':
        for plain, key in spec['plain_keys'].items():
            if prefix + key not in (weight, bias):
                put(torchvision_resnet_to_mmaction(plain), prefix + key)
        for stage_block in sorted(set(spec_non_local_blocks(spec))):
            map_non_local(stage_block, tensors, put, mapped, own)
    else:
        for key in tensors.keys():
            if not key.startswith(prefix + 'features.'):
                continue
            plain = key[len(prefix):].replace('.conv.0.net.', '.conv.0.')
            put(mobilenet_to_mmaction(plain), key)
    mapped['cls_head.fc_cls.weight'] = tensors[weight]
    mapped['cls_head.fc_cls.bias'] = tensors[bias]
    return mapped


def spec_non_local_blocks(spec):
    if not spec['non_local']:
        return []
    return [(f'layer{i + 1}', str(j)) for i, flags in
            enumerate(spec['non_local']) for j, flag in enumerate(flags)
            if flag]


def map_non_local(stage_block, tensors, put, mapped, own):
    """The original non-local block after ``layerX.i`` -> mmcv NonLocal3d,
    the output conv's bias folded into the BatchNorm's running mean."""
    layer, index = stage_block
    src = f'base_model.{layer}.{index}.nl.'
    dst = f'{layer}.{index}.non_local_block.'
    for key in [k for k in tensors.keys() if k.startswith(src)]:
        name = key[len(src):]
        if name == 'W.0.bias':
            continue
        for old, new in NON_LOCAL_NAMES.items():
            if name.startswith(old):
                put(dst + new + name[len(old):], key)
                break
        else:
            raise ConversionError(
                f'{tensors.path}: {key!r} is not part of the original '
                "non-local block's g, theta, phi, W")
    bias = tensors[src + 'W.0.bias']
    mean_key = own.get(dst + 'conv_out.bn.running_mean')
    if mean_key is None or mean_key not in mapped:
        raise ConversionError(f'{tensors.path}: {src}W.1.running_mean missing')
    mapped[mean_key] = mapped[mean_key] - bias
