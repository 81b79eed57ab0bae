"""Shared test settings: a fixed, small torch thread count (2 cores here; more threads than cores is slow)."""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    from clusir.runtime import default_threads

    torch.set_num_threads(default_threads())
    yield
