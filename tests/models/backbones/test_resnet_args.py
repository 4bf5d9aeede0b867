"""Arguments ResNetTSM passes on to MMAction2's ResNet: a bad value gives one
ValueError at build naming the argument and the value, where MMAction2 fails
late (frozen_stages at train()), without a message (bare AssertionError), with
a KeyError, or not at all (out_indices=(-1,) returns no feature)."""
import re

import pytest
from mmaction.registry import MODELS

import tsm_plugin  # noqa: F401


def build(**kwargs):
    return MODELS.build(dict(type='tsm_plugin.ResNetTSM', **kwargs))


@pytest.mark.parametrize('kwargs,message', [
    (dict(depth=42), 'depth must be one of (18, 34, 50, 101, 152), got 42'),
    (dict(depth=18, out_indices=(5, )),
     'out_indices must be a sequence of one or more ints in [0, 3], got (5,)'),
    (dict(depth=18, out_indices=(-1, )), r'out_indices .* got \(-1,\)'),
    (dict(depth=18, out_indices=()), r'out_indices .* got \(\)'),
    (dict(depth=18, frozen_stages=9),
     'frozen_stages must be an int in [-1, 4], got 9'),
    (dict(depth=18, num_stages=5), 'num_stages must be an int in [1, 4], got 5'),
    (dict(depth=18, num_stages=3, out_indices=(3, )), r'out_indices .*\[0, 2\]'),
    (dict(depth=18, strides=(1, 2)), 'strides must be a sequence of 4 ints'),
    (dict(depth=18, dilations=(1, 1, 1, 0)), r'dilations .* got \(1, 1, 1, 0\)'),
    (dict(depth=18, style='tf'), "style must be one of ('pytorch', 'caffe')"),
    (dict(depth=18, in_channels=0), 'in_channels must be an int >= 1, got 0'),
    (dict(depth=18, with_cp=True), 'with_cp=True needs depth >= 50'),
    (dict(depth=18, norm_eval='yes'), "norm_eval must be True or False"),
    (dict(depth=18, is_shift=1), 'is_shift must be True or False, got 1'),
    (dict(depth=18, pretrained=50), 'pretrained must be None or a path'),
])
def test_bad_inherited_argument_raises_value_error_at_build(kwargs, message):
    # plain messages match as they are; patterns (with .*) as regexes
    pattern = message if '.*' in message else re.escape(message)
    with pytest.raises(ValueError, match=pattern):
        build(**kwargs)


def test_mmaction2_resnet_fails_late_or_silently_here():
    """Why: MMAction2's ResNetTSM builds these and fails later or never."""
    model = MODELS.build(dict(type='mmaction.ResNetTSM', depth=18,
                              pretrained2d=False, frozen_stages=9))
    with pytest.raises(AttributeError, match='layer5'):
        model.train()
    with pytest.raises(AssertionError) as info:
        MODELS.build(dict(type='mmaction.ResNetTSM', depth=18,
                          pretrained2d=False, out_indices=(5, )))
    assert str(info.value) == ''


@pytest.mark.parametrize('kwargs', [
    dict(depth=50, with_cp=True, frozen_stages=4, style='caffe'),
    dict(depth=18, num_stages=3, out_indices=(2, ), strides=[1, 2, 2],
         dilations=[1, 1, 1], norm_eval=True, partial_bn=True),
])
def test_good_arguments_still_build(kwargs):
    model = build(**kwargs)
    assert model.num_stages == kwargs.get('num_stages', 4)
