"""Which backends the cross-backend tests run on: every installed one besides numpy (the reference)."""
import pytest

from kusari import backend as _backend

OTHERS = [b for b in _backend.installed() if b != "numpy"]


def others_or_skip():
    """pytest params for the non-numpy backends; one skipped param saying why when none is installed."""
    if not OTHERS:
        return [pytest.param("none", marks=pytest.mark.skip(reason="no backend besides numpy is installed "
                                                                    "(pip install 'kusari[torch]' or '[jax]')"))]
    return OTHERS


def cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()
