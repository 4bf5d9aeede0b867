"""The plugin's models mixed with MMAction2's own: a stock head on the plugin
backbone, the plugin head on a stock backbone, MMAction2's TSM optimizer
constructor over the plugin model, and multi-view testing."""
import copy

import pytest
import torch
from mmaction.models.backbones import MobileNetV2TSM
from mmaction.models.heads import TSNHead
from mmengine.optim import build_optim_wrapper

import tsm_plugin
from cfg_helpers import (K400_1X1X8, MOBILENET, STHV2_1X1X8, TSM_CONFIG_DIR,
                         TSN_HEAD, build_model, load, pipeline_batch)

NL = TSM_CONFIG_DIR / ('tsm_imagenet-pretrained-r50-nl-embedded-gaussian_'
                       '8xb16-1x1x8-50e_kinetics400-rgb.py')


def spread_fc(head, std=0.05):
    """A head fc that tells views apart (the configs' init_std=0.001 gives
    near-uniform scores, which any averaging would reproduce)."""
    torch.nn.init.normal_(head.fc_cls.weight, std=std)
    torch.nn.init.normal_(head.fc_cls.bias, std=std)


def test_plugin_backbone_with_stock_tsn_head(tiny_video):
    cfg = load(TSN_HEAD)
    model = build_model(cfg.model).eval()
    assert type(model.backbone) is tsm_plugin.ResNetTSM
    assert type(model.cls_head) is TSNHead
    spread_fc(model.cls_head)
    data = pipeline_batch(cfg.test_dataloader.dataset.pipeline, tiny_video)
    with torch.no_grad():
        score = model.test_step(data)[0].pred_score
        # TSNHead: average the features of all 10 crops x 8 frames, then fc.
        inputs = model.data_preprocessor(data, False)['inputs'][0]
        assert inputs.shape[0] == 10 * 8
        feats = model.backbone(inputs).mean(dim=(0, 2, 3))
        expected = model.cls_head.fc_cls(feats).softmax(-1)
    torch.testing.assert_close(score, expected, rtol=1e-4, atol=1e-6)


def test_stock_mobilenetv2_with_plugin_tsm_head(tiny_video):
    cfg = load(MOBILENET)
    model = build_model(cfg.model, pretrained2d=False).eval()
    assert type(model.backbone) is MobileNetV2TSM
    assert type(model.cls_head) is tsm_plugin.TSMHead
    assert type(model) is tsm_plugin.Recognizer2D
    spread_fc(model.cls_head)
    # Same weights in MMAction2's own recognizer and head: same predictions.
    stock_cfg = copy.deepcopy(cfg.model)
    stock_cfg.type = 'mmaction.Recognizer2D'
    stock_cfg.cls_head.type = 'mmaction.TSMHead'
    stock = build_model(stock_cfg, pretrained2d=False).eval()
    stock.load_state_dict(model.state_dict())
    data = pipeline_batch(cfg.test_dataloader.dataset.pipeline, tiny_video)
    with torch.no_grad():
        ours = model.test_step(data)[0].pred_score
        theirs = stock.test_step(data)[0].pred_score
    assert ours.shape == (400, )
    torch.testing.assert_close(ours, theirs)
    train = pipeline_batch(cfg.train_dataloader.dataset.pipeline, tiny_video)
    model.train()
    losses = model(**model.data_preprocessor(train, True), mode='loss')
    losses['loss_cls'].backward()
    assert model.backbone.conv1.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('path', [K400_1X1X8, NL], ids=['r50', 'r50-nl'])
def test_stock_tsm_optim_wrapper_constructor(path):
    cfg = load(path)
    assert cfg.optim_wrapper.constructor == 'TSMOptimWrapperConstructor'
    model = build_model(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    lr, wd = 0.02, 1e-4
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.weight_decay == wd
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [([names[id(p)] for p in g['params']], g['lr'],
               g['weight_decay']) for g in optim.optimizer.param_groups]
    # MMAction2's groups, in its order: first conv weight/bias, other
    # weights/biases, norm layers, then the last fc: weight lr x5, bias x10.
    (first_w, first_b, weights, biases, norms, fc_w, fc_b) = groups
    assert first_w == (['backbone.conv1.conv.weight'], lr, wd)
    assert first_b == ([], 2 * lr, 0)
    assert fc_w == (['cls_head.fc_cls.weight'], 5 * lr, wd)
    assert fc_b == (['cls_head.fc_cls.bias'], 10 * lr, 0)
    assert weights[1:] == (lr, wd) and biases[1:] == (2 * lr, 0)
    assert norms[1:] == (lr, 0)
    # the shifted convs are ordinary conv weights (the wrapper adds no atom)
    assert 'backbone.layer1.0.conv1.conv.net.weight' in weights[0]
    assert norms[0] and all('.bn.' in n for n in norms[0])
    non_local = any(map(any, cfg.model.backbone.get('non_local', [[0]])))
    # ResNet convs have no bias: only non-local blocks' convs give biases
    assert bool(biases[0]) == non_local
    assert all('non_local_block' in n for n in biases[0])
    every = [n for g in groups for n in g[0]]
    assert sorted(every) == sorted(names.values())  # each once, none lost


def test_multi_view_prob_averaging(tiny_video):
    """2 samplings (twice_sample) x 3 crops: test_step averages the softmax of
    the six 8-frame views, each shifted within itself only."""
    cfg = load(STHV2_1X1X8)
    sampler = cfg.test_dataloader.dataset.pipeline[1]
    assert sampler.twice_sample and sampler.num_clips == 8
    assert cfg.test_dataloader.dataset.pipeline[4].type == 'ThreeCrop'
    assert cfg.model.cls_head.average_clips == 'prob'
    model = build_model(cfg.model).eval()
    spread_fc(model.cls_head)
    data = pipeline_batch(cfg.test_dataloader.dataset.pipeline, tiny_video)
    with torch.no_grad():
        score = model.test_step(data)[0].pred_score
        inputs = model.data_preprocessor(data, False)['inputs']
        assert inputs.shape[:2] == (1, 6 * 8)
        views = [model(inputs[:, v * 8:(v + 1) * 8], mode='tensor',
                       stage='head') for v in range(6)]
    logits = torch.cat(views)  # (6 views, 174 classes)
    probs = logits.softmax(-1)
    torch.testing.assert_close(score, probs.mean(0), rtol=1e-4, atol=1e-6)
    # the check discriminates: views disagree, and averaging scores differs
    assert (probs - probs.mean(0)).abs().max() > 1e-3
    assert (logits.mean(0).softmax(-1) - score).abs().max() > 1e-5
