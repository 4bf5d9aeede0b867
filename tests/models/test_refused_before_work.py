"""Inputs that do not fit the model are refused before any work, observed:
a hook on the stem records every call. And the head's own clip-layout check
guards ``loss``/``predict`` when MMAction2's stock recognizer drives it."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import tsm_plugin  # noqa: F401

LAYOUT_ERROR = r'num_clips=12 x clip_len=1.*num_segments=8'


def model_cfg(recognizer='tsm_plugin.Recognizer2D'):
    return dict(
        type=recognizer,
        backbone=dict(type='tsm_plugin.ResNetTSM', depth=18, num_segments=8),
        cls_head=dict(type='tsm_plugin.TSMHead', num_classes=3,
                      in_channels=512, num_segments=8),
        data_preprocessor=dict(type='mmaction.ActionDataPreprocessor',
                               format_shape='NCHW'))


def stem_calls(backbone):
    """A list that grows by one each time the backbone's stem conv runs."""
    calls = []
    backbone.conv1.register_forward_pre_hook(lambda *args: calls.append(1))
    return calls


def samples(num_clips, n=1):
    """Data samples as ``PackActionInputs`` packs them, with the layout kept."""
    batch = [ActionDataSample().set_gt_label(0) for _ in range(n)]
    for sample in batch:
        sample.set_metainfo(dict(num_clips=num_clips, clip_len=1))
    return batch


def test_backbone_refuses_frames_that_are_not_whole_clips_before_the_stem():
    backbone = MODELS.build(model_cfg()['backbone']).eval()
    calls = stem_calls(backbone)
    with pytest.raises(ValueError, match='12 frames.*num_segments=8'):
        backbone(torch.randn(12, 3, 32, 32))
    assert calls == []
    with torch.no_grad():
        backbone(torch.randn(16, 3, 32, 32))  # whole clips run
    assert calls == [1]


@pytest.mark.parametrize('mode', ['loss', 'predict'])
def test_recognizer_refuses_a_pipeline_layout_before_the_stem(mode):
    """2 views x 12 frames: 24 frames pass every frame-count check, but would
    be cut into 3 clips of 8 frames straddling the views."""
    model = MODELS.build(model_cfg())
    calls = stem_calls(model.backbone)
    with pytest.raises(ValueError, match=LAYOUT_ERROR):
        model(torch.randn(1, 24, 3, 32, 32), samples(12), mode=mode)
    assert calls == []
    model(torch.randn(1, 8, 3, 32, 32), samples(8), mode=mode)
    assert calls == [1]


@pytest.mark.parametrize('mode', ['loss', 'predict'])
def test_head_checks_the_layout_under_mmaction2_recognizer(mode):
    """MMAction2's own Recognizer2D runs the backbone on the 24 frames (it
    does not check); the plugin's TSMHead refuses them in loss/predict."""
    model = MODELS.build(model_cfg('mmaction.Recognizer2D'))
    assert type(model).__module__.startswith('mmaction')
    calls = stem_calls(model.backbone)
    with pytest.raises(ValueError, match=LAYOUT_ERROR):
        model(torch.randn(1, 24, 3, 32, 32), samples(12), mode=mode)
    assert calls == [1]  # only the head stood in the way
    out = model(torch.randn(1, 8, 3, 32, 32), samples(8), mode=mode)
    assert out  # a loss dict, or the predicted samples
