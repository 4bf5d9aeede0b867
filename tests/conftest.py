import os

import pytest
import torch

# As `custom_imports` does in a config: before anything imports mmaction.models.
import tsm_plugin  # noqa: F401,E402


def pytest_configure(config):
    if os.environ.get('PYTEST_XDIST_WORKER'):
        # `make test` runs 2 workers on 2 cores: one thread each, not 2 x 2
        torch.set_num_threads(1)
    config.addinivalue_line(
        'markers', 'whole_machine: minutes of training that want both cores: '
        '`make test` runs these alone, after the parallel part')
    config.addinivalue_line(
        'markers', 'zoo: needs torchvision, timm and mmpretrain: `make test` '
        'runs these in .venv-zoo (torch 2.14.1 + torchvision 0.29.1)')
    # mmcv-lite warns about its missing compiled op on import: harmless here.
    config.addinivalue_line(
        'filterwarnings',
        'ignore:Fail to import ``MultiScaleDeformableAttention``:UserWarning')


ZOO_MODULE = 'pytestmark = pytest.mark.zoo'


def pytest_ignore_collect(collection_path, config):
    """A run that deselects zoo tests (`-m 'not zoo'`, the core venv) does not
    import the test modules marked zoo as a whole: they import timm,
    torchvision or mmpretrain at the top. The zoo venv runs them."""
    if 'not zoo' in (config.option.markexpr or '') \
            and collection_path.suffix == '.py' \
            and collection_path.name.startswith('test_') \
            and ZOO_MODULE in collection_path.read_text():
        return True
    return None


# Modules that run MMAction2's tools for minutes: first, so that under
# `make test` (2 workers, whole modules) one worker runs them while the
# other takes the many short modules, instead of both waiting on them last.
LONGEST_FIRST = ('demo/test_demo_run.py', 'runners/test_resume.py',
                 'runners/test_mim.py', 'runners/test_bad_data.py',
                 'runners/test_distributed.py')


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FIRST)
                     if path.endswith('tests/' + name)), len(LONGEST_FIRST))
    items.sort(key=rank)  # stable: the order within each module is kept


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
