"""MMAction2's inference API on every config under configs/: `init_recognizer`
+ `inference_recognizer` and `MMAction2Inferencer(rec=CONFIG,
rec_weights=CKPT)` on a real mp4, with a checkpoint of random weights.

The zoo configs run ResNet-50/101 on 224-px crops; here their test pipelines
are shrunk to 16 or 32 px (sizes only: same steps, same sampling, same views), which
keeps what is tested (the config's pipeline and the API's plumbing) and costs
about a second per config."""
import copy

import pytest
import torch
from mmaction.apis import (MMAction2Inferencer, inference_recognizer,
                           init_recognizer)

from cfg_helpers import (TINY, build_model, config_files, config_params, load,
                         needs_zoo, shrink, without_weights)
from tsm_plugin.demo.make_data import make_split

CONFIGS = config_files()


@pytest.fixture(scope='module')
def demo_video(tmp_path_factory):
    """A 64x64, 16-frame demo video (make_data): what the demo configs see."""
    _, videos = make_split(str(tmp_path_factory.mktemp('demo')), 'test', 2,
                           size=64, frames=16, seed=0)
    return videos[0]


def small(path):
    """The config without pretrained weights (TAdaConvNeXtV2 narrowed), its
    test pipelines at 16 px
    (32 with non-local blocks, whose sub-sampling needs 2 px at layer3; demo
    configs: as they are)."""
    cfg = load(path)
    cfg.model = without_weights(cfg.model)  # timm, torchvision: at build
    if cfg.model.backbone.type == 'tsm_plugin.TAdaConvNeXtV2':
        # -S/-B hold 50-90M parameters: one narrow block per stage keeps the
        # plumbing (its own tests check the network)
        cfg.model.backbone.arch = dict(depths=(1, 1, 1, 1), head_dim=16,
                                       channels=(32, 64, 96, 128))
        cfg.model.cls_head.in_channels = 128
    if path.parent.name != 'demo':
        # 32 px: non-local's sub-sampling, ConvNeXt's 2x2 downsampling convs
        side = TINY if 'non_local_cfg' in cfg.model.backbone \
            or needs_zoo(path) \
            or cfg.model.backbone.type == 'tsm_plugin.TAdaConvNeXtV2' else 16
        cfg.test_pipeline = shrink(cfg.test_pipeline, side)
        cfg.test_dataloader.dataset.pipeline = shrink(
            cfg.test_dataloader.dataset.pipeline, side)
    return cfg


def unscoped(pipeline):
    return [{k: v for k, v in step.items() if k != '_scope_'}
            for step in pipeline]


def random_checkpoint(cfg, path):
    """A checkpoint of the config's model with random weights, as mmengine's
    CheckpointHook writes it (``state_dict`` + ``meta``)."""
    model = build_model(cfg.model)
    for param in model.parameters():  # not the near-constant default fc
        torch.nn.init.normal_(param, std=0.05)
    torch.save(dict(meta=dict(epoch=1), state_dict=model.state_dict()), path)
    return model.state_dict()


@pytest.mark.parametrize('path', config_params(CONFIGS))
def test_inference_api(path, tmp_path, tiny_video, demo_video):
    cfg = small(path)
    video = demo_video if path.parent.name == 'demo' else tiny_video
    checkpoint = str(tmp_path / 'ckpt.pth')
    state = random_checkpoint(cfg, checkpoint)
    num_classes = cfg.model.cls_head.num_classes

    model = init_recognizer(copy.deepcopy(cfg), checkpoint, device='cpu')
    loaded = model.state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    result = inference_recognizer(model, video)  # reads cfg.test_pipeline
    assert result.pred_score.shape == (num_classes, )
    # scores are probabilities, except where a config averages the views'
    # logits (average_clips='score', the original TSM repository's protocol)
    probabilities = cfg.model.cls_head.get('average_clips') != 'score'
    if probabilities:
        assert result.pred_score.sum().item() == pytest.approx(1, abs=1e-4)
    # the samples carry what the model's clip-layout check reads
    assert {'num_clips', 'clip_len'} <= set(result.metainfo)
    # the test pipeline of test_dataloader (what tools/test.py runs) is the
    # same (steps from a `mmaction::` base carry `_scope_='mmaction'` there)
    assert unscoped(cfg.test_pipeline) == \
        unscoped(cfg.test_dataloader.dataset.pipeline)

    # The inferencer reads test_dataloader's pipeline, with one centre crop in
    # place of ThreeCrop/TenCrop.
    inferencer = MMAction2Inferencer(rec=copy.deepcopy(cfg),
                                     rec_weights=checkpoint, device='cpu')
    prediction = inferencer(video, show=False)['predictions'][0]
    scores = torch.tensor(prediction['rec_scores'][0])
    assert scores.shape == (num_classes, )
    if probabilities:
        assert scores.sum().item() == pytest.approx(1, abs=1e-4)
    assert prediction['rec_labels'][0] == [scores.argmax().item()]
    multi_crop = {'ThreeCrop', 'TenCrop'} & {
        step['type'] for step in cfg.test_pipeline}
    if not multi_crop:  # then both run the same views with the same weights
        torch.testing.assert_close(scores, result.pred_score)
