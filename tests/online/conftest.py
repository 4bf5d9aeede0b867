import pytest
import torch


@pytest.fixture(autouse=True)
def _two_threads():
    # The 2-core CI machine: keep torch from oversubscribing it.
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    yield
    torch.set_num_threads(threads)
