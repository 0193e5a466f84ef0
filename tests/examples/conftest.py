"""Every example test runs on every installed backend (numpy, torch, jax): the examples' code is unchanged, only
``kusari.set_backend`` differs (after tests/conftest.py's own set-up)."""
import pytest

import kusari
from kusari import backend as _backend


@pytest.fixture(autouse=True, params=_backend.installed())
def example_backend(request):
    kusari.set_backend(request.param)
    return request.param
