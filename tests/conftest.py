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


# The slowest modules first, slowest leading (seconds of one worker, measured
# 2026-12-07 under `make test` on an earlier session's slower machine; on the
# next session's, the demo took 176-183 s and the rest kept their order), so
# that under `make test` (2 workers, whole modules, `--no-loadscope-reorder`:
# xdist's default order, by number of tests, put the one- and two-test modules
# that run MMAction2's tools for a minute last, where one worker ran them while
# the other idled) the short modules fill in around them. A module missing
# here only runs later.
LONGEST_FIRST = (
    'demo/test_demo_learns.py',  # the demo's three trainings: 342-353 s
    'configs/test_inference_api.py',  # 91
    'test_stack_fixes.py',  # 59
    'deploy/test_export.py',  # 48
    'runners/test_mim.py',  # 45 with its pip install
    'configs/test_configs.py',  # 41
    'benchmarks/test_bench_tada.py',  # 37
    'runners/test_resume.py',  # 37
    'test_doc_commands.py',  # 31
    'models/backbones/test_resnet_tada.py',  # 29
    'ops/test_shift_module.py',  # 29
    'deploy/test_runner.py',  # 27
    'runners/test_distributed.py',  # 26
    'runners/test_bad_data.py',  # 25
    'deploy/test_quantize.py',  # 25
    'convert/test_tsm_original.py',  # 24
    'models/backbones/test_autocast_training.py',  # 23
    'models/test_mmaction_compat.py',  # 23
    'convert/test_tadaconv_convert.py',  # 20
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FIRST)
                     if path.endswith('tests/' + name)), len(LONGEST_FIRST))
    items.sort(key=rank)  # stable: the order within each module is kept


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
