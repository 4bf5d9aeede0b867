"""The TSMBackbone configs on other libraries' networks (configs/tsm, zoo
extra): MMAction2's bundled R50 K400 recipe with only the model changed; the
2D network's weights as its library loads them; each builds offline (weights
off) and shifts frames of one clip. (The sweeps of test_configs.py and
test_inference_api.py also run them: pipelines, loss, val step, inference.)"""
import pytest
import timm
import torch
import torchvision
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.models import ResNeXt

from cfg_helpers import BUNDLED, TSM_CONFIG_DIR, build_model, differences, load
from live_weights import wake

pytestmark = pytest.mark.zoo

T = 8
R50 = 'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py'
# library: (config, 2D network type, head in_channels, shifted blocks)
CONFIGS = {
    'mmpretrain': ('tsm_imagenet-pretrained-mmpretrain-resnext50-32x4d_'
                   '8xb16-1x1x8-50e_kinetics400-rgb.py', 'mmpretrain.ResNeXt',
                   2048, 16),
    'timm': ('tsm_imagenet-pretrained-timm-mobilenetv3-large-100_8xb16-'
             '1x1x8-50e_kinetics400-rgb.py', 'timm.mobilenetv3_large_100',
             960, 10),
    'torchvision': ('tsm_imagenet-pretrained-torchvision-regnet-y-800mf_'
                    '8xb16-1x1x8-50e_kinetics400-rgb.py',
                    'torchvision.regnet_y_800mf', 784, 14),
}


def config(library):
    return load(TSM_CONFIG_DIR / CONFIGS[library][0])


@pytest.mark.parametrize('library', sorted(CONFIGS))
def test_bundled_r50_recipe_with_only_the_model_changed(library):
    ours = config(library).to_dict()
    theirs = Config.fromfile(f'{BUNDLED}/{R50}').to_dict()
    changed = set(differences(ours, theirs))
    assert {'custom_imports', 'model.type', 'model.cls_head.type'} <= \
        {k for k in changed if not k.startswith('model.backbone.')} <= {
        'custom_imports', 'model.type', 'model.cls_head.type',
        'model.cls_head.in_channels', 'model.cls_head.num_segments'}
    backbone = ours['model']['backbone']
    assert backbone['type'] == 'tsm_plugin.TSMBackbone'
    assert backbone['backbone']['type'] == CONFIGS[library][1]
    assert backbone['num_segments'] == ours['model']['cls_head'][
        'num_segments'] == T
    assert set(backbone) == {'type', 'backbone', 'num_segments', 'shift_div'}


@pytest.mark.parametrize('library', sorted(CONFIGS))
def test_builds_offline_head_fits_and_frames_of_a_clip_meet(library):
    _, _, channels, shifted = CONFIGS[library]
    cfg = config(library)
    model = build_model(cfg.model)
    backbone = model.backbone
    assert backbone.source == library
    assert backbone.out_channels == channels == cfg.model.cls_head.in_channels
    assert backbone.placement_table().endswith(f'{shifted} shifted modules')
    x = torch.randn(T, 3, 32, 32)
    wake(backbone, x)
    with torch.no_grad():
        out = backbone(x)
        reversed_out = backbone(x.flip(0)).flip(0)
    assert out.shape[:2] == (T, channels)
    # per-frame (TSN) features would be the same, reversed
    assert (reversed_out - out).abs().max() > 1e-2 * out.abs().max()
    # MMAction2's TSM optimizer (fc_lr5) takes every parameter
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    groups = {id(p): g['lr'] for g in optim.param_groups for p in g['params']}
    assert set(groups) == {id(p) for p in model.parameters()}
    assert groups[id(model.cls_head.fc_cls.weight)] == 5 * cfg.optim_wrapper[
        'optimizer']['lr']


def test_timm_and_torchvision_get_their_pretrained_arguments(monkeypatch):
    """The configs' arguments reach timm.create_model / torchvision's
    get_model unchanged (each library then loads its own ImageNet weights;
    nothing is fetched here) and name weights that exist."""
    seen = {}
    create_model, get_model = timm.create_model, torchvision.models.get_model

    def fake_create_model(name, **kwargs):
        seen['timm'] = (name, kwargs)
        return create_model(name, **dict(kwargs, pretrained=False))

    def fake_get_model(name, **kwargs):
        seen['torchvision'] = (name, kwargs)
        return get_model(name, **dict(kwargs, weights=None))

    monkeypatch.setattr(timm, 'create_model', fake_create_model)
    monkeypatch.setattr(torchvision.models, 'get_model', fake_get_model)
    for library in ('timm', 'torchvision'):
        from mmaction.registry import MODELS
        MODELS.build(config(library).model.backbone)
    assert seen['timm'] == ('mobilenetv3_large_100', dict(pretrained=True))
    assert timm.is_model_pretrained('mobilenetv3_large_100')
    assert seen['torchvision'] == ('regnet_y_800mf',
                                   dict(weights='IMAGENET1K_V2'))
    assert torchvision.models.get_weight(
        'RegNet_Y_800MF_Weights.IMAGENET1K_V2') is not None


def test_mmpretrain_init_cfg_loads_the_2d_checkpoint(tmp_path):
    """The config's init_cfg (Pretrained, prefix 'backbone', as mmpretrain's
    classifier checkpoints hold it) loads a 2D ResNeXt-50 into the shifted
    network, every weight under its 2D name."""
    resnext = ResNeXt(depth=50, groups=32, width_per_group=4)
    for param in resnext.parameters():
        torch.nn.init.normal_(param)
    path = str(tmp_path / 'resnext50.pth')
    save_checkpoint({'state_dict': {f'backbone.{k}': v for k, v in
                                    resnext.state_dict().items()}}, path)
    cfg = config('mmpretrain').model
    init_cfg = cfg.backbone.backbone.init_cfg
    assert init_cfg.type == 'Pretrained' and init_cfg.prefix == 'backbone'
    init_cfg.checkpoint = path
    model = build_model(cfg)  # no init_cfg: put it back on the 2D network
    model.backbone.backbone.init_cfg = dict(init_cfg)
    model.backbone.init_weights()
    ours = model.backbone.backbone.state_dict()
    for key, value in resnext.state_dict().items():
        key = key if key in ours else key.replace('.conv1.', '.conv1.net.')
        assert torch.equal(ours[key], value), key
