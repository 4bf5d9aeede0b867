import pytest
import torch

# As `custom_imports` does in a config: before anything imports mmaction.models.
import tsm_plugin  # noqa: F401,E402


def pytest_configure(config):
    # mmcv-lite warns about its missing compiled op on import: harmless here.
    config.addinivalue_line(
        'filterwarnings',
        'ignore:Fail to import ``MultiScaleDeformableAttention``:UserWarning')


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
