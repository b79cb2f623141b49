"""One torch thread in these tests: the models are small, and on a shared machine torch's
thread pool competing with other processes costs far more than it gains."""

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra (pip install torch)")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
