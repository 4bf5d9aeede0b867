import pytest
import torch


@pytest.fixture(scope='module')
def one_thread():
    # Small tensors: on the shared 2-core machines one thread runs these tests
    # ~5x faster than two (OpenMP joins wait for descheduled threads).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
