"""Models: ``Model`` (subclassed or functional), ``Sequential``, ``load_model``."""
from kusari.models.functional import Functional
from kusari.models.model import Model
from kusari.models.sequential import Sequential

from kusari.saving import load_model

__all__ = ["Functional", "Model", "Sequential", "load_model"]
