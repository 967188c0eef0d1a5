"""Fixtures shared by the data tests (`test_data.py`, `test_bad_input.py`)."""

import pytest

import cifar_writer as writer


@pytest.fixture
def data():
    """A tiny CIFAR-10 in memory: 2 images per class per batch (100 training, 20 test)."""
    return writer.make_data(per_class_per_batch=2, seed=0)


@pytest.fixture
def cache_dir(tmp_path):
    """A data cache of this test's own."""
    return tmp_path / "cache"
