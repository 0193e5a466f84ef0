"""Saving and loading: the ``.kusari`` zip (JSON config + safetensors), weights files, registered classes."""
from kusari.saving.archive import ModelFileError, load_model, load_weights, save_model, save_weights
from kusari.saving.registry import get_registered_name, register_serializable

__all__ = ["ModelFileError", "get_registered_name", "load_model", "load_weights", "register_serializable",
           "save_model", "save_weights"]
