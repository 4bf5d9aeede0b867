"""MMAction2's own recognizer test (``tests/models/recognizers/
test_recognizer2d.py::test_tsm`` in MMAction2 1.2.0), written here for the
plugin's configs: it builds each TSM config with ``pretrained=None`` and
``pretrained2d=None``, runs a train step and test steps (one view, then
twice-sample x 3 crops). MMAction2 reads ``pretrained2d`` by truth value, so
``None`` means "no 2D weights", as ``False``; every plugin backbone agrees
(ResNetTAda included, below)."""
from pathlib import Path
from unittest.mock import MagicMock

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[3]
CONFIGS = [  # the plugin's counterparts of the two MMAction2's test takes
    'tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py',
    'online/tsm_imagenet-pretrained-mobilenetv2-unidirectional_8xb16-1x1x8-'
    '100e_kinetics400-rgb.py',
]  # (MMAction2's third, MobileOneTSM, needs mmpretrain: not a core test)


def train_test_step(cfg, input_shape):
    """MMAction2's pattern: a train step with a mocked optimizer wrapper,
    then test steps on one view and on 2 samplings x 3 crops."""
    recognizer = MODELS.build(cfg.model)
    num_classes = cfg.model.cls_head.num_classes
    batch_size, *clip_shape = input_shape
    data_batch = dict(
        inputs=[torch.randint(0, 256, clip_shape) for _ in range(batch_size)],
        data_samples=[ActionDataSample().set_gt_label(2)
                      for _ in range(batch_size)])
    optim_wrapper = MagicMock()
    losses = recognizer.train_step(data_batch, optim_wrapper)
    assert 'loss' in losses and 'loss_cls' in losses
    assert torch.isfinite(losses['loss'])
    optim_wrapper.update_params.assert_called_once()
    with torch.no_grad():
        predictions = recognizer.test_step(data_batch)
    assert len(predictions) == batch_size
    score = predictions[0].pred_score
    assert score.shape == (num_classes, )
    assert 0 <= score.min() and score.max() <= 1
    views = (clip_shape[0] * 2 * 3, *clip_shape[1:])
    data_batch['inputs'] = [torch.randint(0, 256, views)]
    with torch.no_grad():
        predictions = recognizer.test_step(data_batch)
    assert predictions[0].pred_score.shape == (num_classes, )
    return recognizer


@pytest.mark.parametrize('config', CONFIGS)
def test_mmaction_tsm_recognizer_test_on_plugin_configs(config):
    init_default_scope('mmaction')
    cfg = Config.fromfile(REPO / 'configs' / config)
    assert cfg.model.backbone.type.startswith('tsm_plugin.')
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.pretrained2d = None
    recognizer = train_test_step(cfg, (1, 8, 3, 32, 32))
    assert recognizer.backbone.pretrained2d is False


@pytest.mark.parametrize('backbone', [
    dict(type='tsm_plugin.ResNetTSM', depth=18),
    dict(type='tsm_plugin.ResNetTAda', depth=18),
    dict(type='tsm_plugin.MobileNetV2TSM'),
])
def test_pretrained2d_none_loads_a_checkpoint_of_the_backbone(backbone,
                                                              tmp_path):
    """MMAction2's meaning of a false ``pretrained2d``: ``pretrained`` is a
    checkpoint of this very backbone, loaded as it is."""
    source = MODELS.build(dict(backbone, pretrained2d=False))
    with torch.no_grad():
        for p in source.parameters():
            p.normal_()
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': source.state_dict()}, path)
    model = MODELS.build(dict(backbone, pretrained=str(path),
                              pretrained2d=None))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


@pytest.mark.parametrize('type_', ['tsm_plugin.ResNetTSM',
                                   'tsm_plugin.ResNetTAda'])
def test_pretrained2d_refuses_what_mmaction_gives_no_meaning(type_):
    with pytest.raises(ValueError, match="pretrained2d must be True or "
                       "False, got 'yes'"):
        MODELS.build(dict(type=type_, depth=18, pretrained2d='yes'))
