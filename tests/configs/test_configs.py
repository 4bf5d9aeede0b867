"""One sweep over every config under configs/: it loads, names the plugin's
types with their scope, builds every transform of every pipeline, has its
dataloaders shaped as the datasets read them, and its model (without
pretrained weights) runs a loss and a val step at a tiny resolution."""
import functools
import math
import subprocess
import sys

import pytest
import torch
import yaml
from mmaction.datasets.transforms import PackActionInputs
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.runner.checkpoint import load_state_dict

import tsm_plugin
from cfg_helpers import (BUNDLED, CONFIG_DIR, K400_1X1X8, TSM_CONFIG_DIR,
                         build_model, config_files, config_params,
                         data_samples, load, needs_zoo, pipeline_batch,
                         sampler_of)

CONFIGS = config_files()
load_once = functools.lru_cache(maxsize=None)(load)  # read-only uses here
PLUGIN_TYPES = {f'tsm_plugin.{name}' for name in tsm_plugin.MODELS.module_dict}
DATALOADER_KEYS = {'batch_size', 'num_workers', 'persistent_workers',
                   'sampler', 'dataset', 'collate_fn', 'pin_memory',
                   'drop_last'}
CLIP_META_KEYS = {'num_clips', 'clip_len'}

# The backbones of configs/tsm.
TSM_BACKBONES = {'tsm_plugin.ResNetTSM', 'tsm_plugin.MobileOneTSM',
                 'tsm_plugin.TSMBackbone'}
# What the zoo expects of each of our ResNet TSM configs (configs/tsm; the
# others, which need the zoo extra, are checked in their own test files).
ZOO = {
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py':
        dict(depth=50, num_segments=8, num_classes=400, epochs=50),
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-100e_kinetics400-rgb.py':
        dict(depth=50, num_segments=8, num_classes=400, epochs=100),
    'tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb.py':
        dict(depth=50, num_segments=16, num_classes=400, epochs=50),
    'tsm_imagenet-pretrained-r50_8xb16-dense-1x1x8-50e_kinetics400-rgb.py':
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             sampler='DenseSampleFrames'),
    'tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_kinetics400-rgb.py':  # noqa: E501
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             non_local='embedded_gaussian'),
    'tsm_imagenet-pretrained-r50-nl-dot-product_8xb16-1x1x8-50e_kinetics400-rgb.py':  # noqa: E501
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             non_local='dot_product'),
    'tsm_imagenet-pretrained-r50-nl-gaussian_8xb16-1x1x8-50e_kinetics400-rgb.py':  # noqa: E501
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             non_local='gaussian'),
    'tsm_imagenet-pretrained-r50-tpool_8xb16-1x1x8-50e_kinetics400-rgb.py':
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             temporal_pool=True),
    'tsm_imagenet-pretrained-r50-unidirectional_8xb16-1x1x8-50e_kinetics400-rgb.py':  # noqa: E501
        dict(depth=50, num_segments=8, num_classes=400, epochs=50,
             shift_mode='unidirectional'),
    'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py':
        dict(depth=50, num_segments=8, num_classes=174, epochs=50),
    'tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb.py':
        dict(depth=50, num_segments=16, num_classes=174, epochs=50),
    'tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb.py':
        dict(depth=101, num_segments=8, num_classes=174, epochs=50),
    'tsm_kinetics400-pretrained-r50_8xb12-1x1x8-25e_ucf101-split1-rgb.py':
        dict(depth=50, num_segments=8, num_classes=101, epochs=25,
             load_from='kinetics400-rgb'),
}


def model_types(node):
    """Every `type` value inside a (model) config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'type':
                yield value
            else:
                yield from model_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from model_types(value)


def pipelines(cfg):
    """(name, pipeline) of the train, val and test dataloaders."""
    return [(name, cfg[f'{name}_dataloader']['dataset']['pipeline'])
            for name in ('train', 'val', 'test')]


def dataloader_problems(cfg):
    """What would make a dataloader not build the intended dataset."""
    problems = []
    for name in ('train', 'val', 'test'):
        loader = cfg[f'{name}_dataloader']
        stray = set(loader) - DATALOADER_KEYS
        if stray:
            problems.append(f'{name}_dataloader has dataset keys at the '
                            f'dataloader level: {sorted(stray)}')
        dataset = loader.get('dataset', {})
        if 'pipeline' not in dataset:
            problems.append(f'{name}_dataloader.dataset has no pipeline')
        if dataset.get('test_mode', False) != (name != 'train'):
            problems.append(f'{name}_dataloader.dataset.test_mode is '
                            f'{dataset.get("test_mode")!r}')
    return problems


def build_transforms(pipeline):
    return [TRANSFORMS.build(dict(step)) for step in pipeline]


@pytest.fixture(scope='module', params=config_params(CONFIGS))
def cfg_of(request):
    return request.param, load_once(request.param)


def test_every_zoo_config_is_listed_here():
    assert sorted(p.name for p in TSM_CONFIG_DIR.glob('*.py')
                  if not needs_zoo(p)) == sorted(ZOO)


def test_loads_with_plugin_imported_and_scoped_types(cfg_of):
    path, cfg = cfg_of
    types = set(model_types(cfg.model))
    plugin = {t for t in types if t.startswith('tsm_plugin.')}
    assert plugin <= PLUGIN_TYPES, f'unknown plugin types {plugin - PLUGIN_TYPES}'
    # A bare name of a plugin class resolves to MMAction2's class of that name
    # under the inherited `_scope_='mmaction'`: plugin types must be scoped.
    bare = {t for t in types if t in tsm_plugin.MODELS.module_dict}
    assert not bare, f'unscoped {bare}: write tsm_plugin.<Name>'
    if cfg.model.backbone.type == 'tsm_plugin.TAdaConvNeXtV2':
        # takes (N, 3, T, H, W) clips (its 3D stem): MMAction2's 3D recognizer
        assert cfg.model.type == 'Recognizer3D'
    else:
        assert cfg.model.type == 'tsm_plugin.Recognizer2D'
    if path.parent == TSM_CONFIG_DIR:
        assert cfg.model.backbone.type in TSM_BACKBONES
        assert cfg.model.cls_head.type == 'tsm_plugin.TSMHead'
    assert 'tsm_plugin' in cfg.custom_imports['imports']
    assert cfg.custom_imports.get('allow_failed_imports') is False
    assert cfg.default_scope == 'mmaction'


@pytest.mark.parametrize('name', sorted(ZOO))
def test_zoo_settings(name):
    cfg = load_once(TSM_CONFIG_DIR / name)
    want = ZOO[name]
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    assert backbone.depth == want['depth']
    assert backbone.num_segments == head.num_segments == want['num_segments']
    assert head.num_classes == want['num_classes']
    assert cfg.train_cfg.max_epochs == want['epochs']
    assert backbone.get('temporal_pool', False) is \
        head.get('temporal_pool', False) is want.get('temporal_pool', False)
    assert backbone.get('shift_mode', 'bidirectional') == \
        want.get('shift_mode', 'bidirectional')
    if 'non_local' in want:
        assert backbone.non_local_cfg['mode'] == want['non_local']
        assert sum(map(sum, backbone.non_local[1:3])) == 5
    else:
        assert not any(map(any, backbone.get('non_local', ((0, ), ))))
    if 'load_from' in want:
        assert want['load_from'] in cfg.load_from
        assert backbone.pretrained is None
    else:
        assert cfg.load_from is None
        assert backbone.pretrained == f'torchvision://resnet{want["depth"]}'
    for name, pipeline in pipelines(cfg):
        sampler = sampler_of(pipeline)
        assert sampler['type'] == want.get('sampler', 'SampleFrames')
        assert sampler['num_clips'] * sampler['clip_len'] == \
            want['num_segments']
    optim = cfg.optim_wrapper
    assert optim.constructor == 'TSMOptimWrapperConstructor'
    assert optim.paramwise_cfg == dict(fc_lr5=True)
    if 'sthv2' in name:
        flips = [s for s in pipelines(cfg)[0][1] if s['type'] == 'Flip']
        assert flips[0]['flip_label_map'] == {
            86: 87, 87: 86, 93: 94, 94: 93, 166: 167, 167: 166}
        test_sampler = sampler_of(cfg.test_dataloader.dataset.pipeline)
        assert test_sampler.get('twice_sample') is True


def test_pipelines_build_and_agree_with_model(cfg_of):
    path, cfg = cfg_of
    num_segments = cfg.model.backbone.get('num_segments')
    for name, pipeline in pipelines(cfg):
        transforms = build_transforms(pipeline)  # DecordDecode(**args) fails
        assert len(transforms) == len(pipeline)
        sampler = sampler_of(pipeline)
        assert bool(sampler.get('test_mode', False)) == (name != 'train'), name
        if num_segments is not None:  # a view: all clips, or each clip
            assert num_segments in (sampler['num_clips'] * sampler['clip_len'],
                                    sampler['clip_len'])
        pack = transforms[-1]
        assert isinstance(pack, PackActionInputs)
        assert CLIP_META_KEYS <= set(pack.meta_keys), (
            f'{name} pipeline: PackActionInputs must keep num_clips and '
            'clip_len for the model to check them')


def test_dataloaders_shaped_as_datasets_read_them(cfg_of):
    _, cfg = cfg_of
    assert dataloader_problems(cfg) == []


def test_model_runs_loss_and_val_step(cfg_of, tiny_frames, tiny_video):
    """Loss on random frames; val_step on the val pipeline's output for a
    real video (decoded, sampled, packed with its metainfo)."""
    _, cfg = cfg_of
    model = build_model(cfg.model)
    sampler = sampler_of(cfg.train_dataloader.dataset.pipeline)
    clips, clip_len = sampler['num_clips'], sampler['clip_len']
    frames = tiny_frames(1, clips * clip_len)
    if cfg.model.type == 'Recognizer3D':  # (N, views, C, T, H, W)
        frames = frames.view(1, clips, clip_len, *frames.shape[2:]) \
            .transpose(2, 3)
    with torch.no_grad():
        model.train()
        losses = model(frames, data_samples(1, clips, clip_len), mode='loss')
        assert math.isfinite(losses['loss_cls'].item())
        model.eval()
        data = pipeline_batch(cfg.val_dataloader.dataset.pipeline, tiny_video)
        pred = model.val_step(data)
    scores = pred[0].pred_score
    assert scores.shape == (cfg.model.cls_head.num_classes, )
    if cfg.model.cls_head.get('average_clips') == 'prob':
        assert scores.sum().item() == pytest.approx(1, abs=1e-4)


def test_config_loads_before_the_plugin_is_imported():
    """As MMAction2's tools/train.py: Config.fromfile first, then the config's
    custom_imports import the plugin (here with `mmaction::` bases)."""
    code = ('import sys\nfrom mmengine.config import Config\n'
            f'cfg = Config.fromfile({str(K400_1X1X8)!r})\n'
            "assert 'tsm_plugin' in sys.modules\n"
            'print(cfg.model.type)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith('tsm_plugin.Recognizer2D')


def test_sweep_catches_mmaction2_bundled_config_bugs():
    """The checks above fail on the two bundled configs our zoo fixes."""
    k400_16 = Config.fromfile(
        f'{BUNDLED}/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_'
        'kinetics400-rgb.py')
    with pytest.raises(TypeError, match='io_backend'):
        build_transforms(k400_16.val_dataloader.dataset.pipeline)
    ours = load(TSM_CONFIG_DIR / 'tsm_imagenet-pretrained-r50_8xb16-1x1x16-'
                '50e_kinetics400-rgb.py')
    build_transforms(ours.val_dataloader.dataset.pipeline)

    sthv2_16 = Config.fromfile(
        f'{BUNDLED}/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb.py')
    problems = dataloader_problems(sthv2_16)
    assert any('test_dataloader' in p and 'pipeline' in p for p in problems)
    ours = load(TSM_CONFIG_DIR /
                'tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb.py')
    assert dataloader_problems(ours) == []
    assert sampler_of(ours.test_dataloader.dataset.pipeline)['num_clips'] == 16


def test_metafile_lists_every_zoo_config():
    meta = yaml.safe_load((CONFIG_DIR / 'metafile.yml').read_text())
    collections = {c['Name'] for c in meta['Collections']}
    models = meta['Models']
    listed = [m['Config'] for m in models]
    expected = sorted(f'configs/tsm/{p.name}'
                      for p in TSM_CONFIG_DIR.glob('*.py'))
    assert sorted(listed) == expected
    for entry in models:
        assert entry['Name'] + '.py' == entry['Config'].split('/')[-1]
        assert entry['In Collection'] in collections
        assert (CONFIG_DIR.parent / entry['Config']).is_file()
        cfg_entry = ZOO.get(entry['Config'].split('/')[-1])
        if cfg_entry is not None:  # the others: in their own test files
            assert entry['Metadata']['Architecture'] == \
                f'ResNet{cfg_entry["depth"]}'
        for result in entry.get('Results', []):
            top1 = result['Metrics']['Top 1 Accuracy']
            assert 0 < top1 < 100
        if 'Weights' in entry:
            assert entry['Weights'].startswith('https://download.openmmlab.com/')
            assert entry['Weights'].endswith('.pth')


@pytest.mark.parametrize('name', [
    # R50 with shifts and non-local blocks; R101 (every other block shifted)
    'tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_kinetics400-rgb.py',  # noqa: E501
    'tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb.py',
    # MobileOne-S4, as trained and re-parameterised
    pytest.param('tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py',  # noqa: E501
                 marks=pytest.mark.zoo),
    pytest.param('tsm_imagenet-pretrained-mobileone-s4_deploy_8xb16-1x1x16-50e_kinetics400-rgb.py',  # noqa: E501
                 marks=pytest.mark.zoo),
])
def test_zoo_checkpoints_fit_our_model(name):
    """MMAction2's model of the bundled config of the same name (whose zoo
    checkpoint the metafile lists) has exactly our state-dict keys and shapes,
    so its checkpoint loads unchanged (strict) into ours."""
    theirs = Config.fromfile(f'{BUNDLED}/{name}').model
    # MMAction2's own
    assert theirs.backbone.type in ('ResNetTSM', 'MobileOneTSM')
    ours = build_model(load(TSM_CONFIG_DIR / name).model).state_dict()
    state = {k: v.shape for k, v in build_model(theirs).state_dict().items()}
    assert {k: v.shape for k, v in ours.items()} == state


def test_ucf101_fine_tunes_from_the_kinetics_model():
    """`load_from` as the runner applies it (mmengine's non-strict
    load_state_dict): everything but the 400-class fc comes from the K400
    model; the 101-class fc keeps its fresh initialisation."""
    ucf = load_once(TSM_CONFIG_DIR / 'tsm_kinetics400-pretrained-r50_8xb12-'
                    '1x1x8-25e_ucf101-split1-rgb.py')
    assert 'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb' in \
        ucf.load_from  # the zoo checkpoint of our K400 config
    k400 = build_model(load_once(K400_1X1X8).model).state_dict()
    model = build_model(ucf.model)
    fresh_fc = model.cls_head.fc_cls.weight.detach().clone()
    load_state_dict(model, k400, strict=False)
    state = model.state_dict()
    skipped = {k for k in k400 if k400[k].shape != state[k].shape}
    assert skipped == {'cls_head.fc_cls.weight', 'cls_head.fc_cls.bias'}
    assert all(torch.equal(state[k], v) for k, v in k400.items()
               if k not in skipped)
    assert torch.equal(model.cls_head.fc_cls.weight, fresh_fc)
    assert fresh_fc.shape == (101, 2048)
