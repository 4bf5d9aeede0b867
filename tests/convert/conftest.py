import pytest
import torch


@pytest.fixture(autouse=True, scope='package')
def one_thread():
    """Small forwards: on the busy 2-core machine a second OpenMP thread
    mostly waits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
