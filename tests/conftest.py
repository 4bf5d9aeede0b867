import pytest
import torch

# As `custom_imports` does in a config: before anything imports mmaction.models.
import tsm_plugin  # noqa: F401,E402


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'zoo: needs torchvision, timm and mmpretrain: `make test` '
        'runs these in .venv-zoo (torch 2.14.1 + torchvision 0.29.1)')
    # mmcv-lite warns about its missing compiled op on import: harmless here.
    config.addinivalue_line(
        'filterwarnings',
        'ignore:Fail to import ``MultiScaleDeformableAttention``:UserWarning')


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
