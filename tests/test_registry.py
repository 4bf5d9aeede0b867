"""The plugin's registry is a child of MMAction2's, scope ``tsm_plugin``."""
import mmaction.models
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.registry import DefaultScope

import tsm_plugin
from tsm_plugin.registry import MODELS


def test_child_registry_with_plugin_scope():
    assert MODELS.scope == 'tsm_plugin'
    assert MODELS.parent is MMACTION_MODELS
    assert MMACTION_MODELS.children['tsm_plugin'] is MODELS


def test_scoped_names_build_plugin_classes_from_mmaction_registry():
    backbone = MMACTION_MODELS.build(dict(type='tsm_plugin.ResNetTSM', depth=18))
    head = MMACTION_MODELS.build(dict(type='tsm_plugin.TSMHead', num_classes=2,
                                      in_channels=512))
    assert type(backbone) is tsm_plugin.ResNetTSM
    assert type(head) is tsm_plugin.TSMHead


def test_mmaction_own_classes_untouched():
    assert MMACTION_MODELS.get('ResNetTSM') is mmaction.models.ResNetTSM
    assert MMACTION_MODELS.get('TSMHead') is mmaction.models.TSMHead
    assert MMACTION_MODELS.get('mmaction.ResNetTSM') is mmaction.models.ResNetTSM
    assert tsm_plugin.ResNetTSM is not mmaction.models.ResNetTSM
    # subclasses, not copies
    assert issubclass(tsm_plugin.ResNetTSM, mmaction.models.ResNet)
    assert issubclass(tsm_plugin.TSMHead, mmaction.models.TSMHead)


def test_unscoped_names_in_plugin_scope_reach_mmaction_modules():
    with DefaultScope.overwrite_default_scope('tsm_plugin'):
        assert MODELS.get('ResNetTSM') is tsm_plugin.ResNetTSM
        head = MODELS.build(dict(type='TSNHead', num_classes=2, in_channels=8))
        assert type(head) is mmaction.models.TSNHead
