"""``tsm_plugin.MobileOneTSM`` without mmpretrain (the core install): the
registry entry exists, and building it (or reading ``tsm_plugin.MobileOneTSM``)
says which extra to install. mmpretrain is blocked here, so this holds in the
zoo venv too; that ``import tsm_plugin`` needs no mmpretrain is what the core
venv's whole test session shows."""
import sys

import pytest
from mmaction.registry import MODELS

import tsm_plugin

CLASS_MODULES = ('tsm_plugin.models.backbones.mobileone_tsm',
                 'mmaction.models.backbones.mobileone_tsm')


@pytest.fixture
def without_mmpretrain(monkeypatch):
    for name in ['mmpretrain'] + [n for n in sys.modules
                                  if n.startswith('mmpretrain.')]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    for name in CLASS_MODULES:  # imported again, from scratch
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize('how', ['registry', 'attribute'])
def test_build_names_the_zoo_extra(without_mmpretrain, how):
    assert 'MobileOneTSM' in tsm_plugin.MODELS.module_dict
    with pytest.raises(ImportError) as error:
        if how == 'registry':
            MODELS.build(dict(type='tsm_plugin.MobileOneTSM', arch='s0'))
        else:
            tsm_plugin.MobileOneTSM  # noqa: B018
    message = str(error.value)
    assert 'tsm_plugin.MobileOneTSM needs mmpretrain' in message
    assert "pip install -e '.[zoo]'" in message


def test_other_attributes_stay_attribute_errors():
    with pytest.raises(AttributeError, match='NoSuchThing'):
        tsm_plugin.NoSuchThing  # noqa: B018
