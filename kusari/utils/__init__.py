"""Utilities (Keras ``keras.utils``): to_categorical, normalize, pad_sequences, set_random_seed, Progbar, …"""
from kusari.utils.numerical_utils import normalize, to_categorical
from kusari.utils.progbar import Progbar
from kusari.utils.rng_utils import clear_session, set_random_seed
from kusari.utils.sequence_utils import pad_sequences

__all__ = ["Progbar", "clear_session", "normalize", "pad_sequences", "set_random_seed", "to_categorical"]
