import pytest

from tests.callbacks.fakes import FakeModel


@pytest.fixture
def model():
    return FakeModel()
