"""Tests here switch backends and seed generators on them; leave the global random state as it was found, so a
later test in the same worker (which may rely on the global generator being a numpy one) is not affected."""
import random

import pytest

import kusari.random as _krandom


@pytest.fixture(autouse=True)
def _restore_global_random_state():
    saved_global, saved_py = _krandom._global, random.getstate()
    yield
    _krandom._global = saved_global
    random.setstate(saved_py)
