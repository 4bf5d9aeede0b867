import pytest

from tsm_plugin.demo.make_data import make_dataset


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """16 training and 8 validation videos, 32x32, 8 frames."""
    root = tmp_path_factory.mktemp('tiny_demo_data')
    make_dataset(str(root), num_train=16, num_val=8, size=32, frames=8)
    return root
