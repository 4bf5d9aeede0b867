"""Fixtures of the backbone tests."""
import pytest
import torch


@pytest.fixture(scope='module')
def one_thread():
    """Tiny forwards: on a busy 2-core machine a second thread mostly waits
    (use with ``pytest.mark.usefixtures('one_thread')``)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
