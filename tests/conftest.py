"""Shared test set-up: backend from KUSARI_TEST_BACKEND (default numpy), fixed seeds."""
import os

import numpy as np
import pytest

import kusari


@pytest.fixture(autouse=True)
def _backend_and_seed():
    kusari.set_backend(os.environ.get("KUSARI_TEST_BACKEND", "numpy"))
    np.random.seed(0)
    yield
