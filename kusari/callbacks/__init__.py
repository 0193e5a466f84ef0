"""Callbacks (Keras ``keras.callbacks``): hooks that ``fit`` / ``evaluate`` / ``predict`` call, and the standard ones.

>>> from kusari import callbacks
>>> cbs = callbacks.CallbackList([callbacks.History()], epochs=1)
>>> cbs.on_train_begin()
>>> cbs.on_epoch_end(0, {"loss": 0.5})
>>> cbs.callbacks[0].history
{'loss': [0.5]}
"""
from kusari.callbacks.backup_and_restore import BackupAndRestore
from kusari.callbacks.callback import Callback, CallbackList
from kusari.callbacks.csv_logger import CSVLogger
from kusari.callbacks.early_stopping import EarlyStopping
from kusari.callbacks.history import History
from kusari.callbacks.lambda_callback import LambdaCallback
from kusari.callbacks.learning_rate_scheduler import LearningRateScheduler
from kusari.callbacks.model_checkpoint import ModelCheckpoint
from kusari.callbacks.progbar_logger import ProgbarLogger
from kusari.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from kusari.callbacks.tensorboard import SummaryFileWriter, TensorBoard, create_file_writer
from kusari.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["BackupAndRestore", "Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "SummaryFileWriter",
           "TensorBoard", "TerminateOnNaN", "create_file_writer"]
