"""``BackupAndRestore``: back the whole training state up at each epoch's end, so that a ``fit`` interrupted by a
crash, a kill or an exception picks up where it stopped when run again — bit for bit."""
import glob
import os

from kusari.callbacks.callback import Callback

__all__ = ["BackupAndRestore"]


class BackupAndRestore(Callback):
    """Resume an interrupted ``fit`` exactly (Keras' ``keras.callbacks.BackupAndRestore``).

    At the end of every epoch the model's weights, optimizer state (slots, step count, so schedules too), the data
    order generator, the global and the layers' random generators and the epoch number are written atomically to
    ``backup_dir/latest.kusari``. When ``fit`` starts and that file exists, all of it is loaded back into the
    (already built and compiled) model and training goes on at the next epoch; the result is bit-identical to a
    run that was never interrupted. When ``fit`` ends normally the backup is deleted (``delete_checkpoint=True``).

    Args:
        backup_dir: the folder for the backup (created when needed); one per training run.
        save_freq: ``"epoch"`` (the only mode: a backup in the middle of an epoch could not be resumed exactly).
        delete_checkpoint: delete the backup once training ends normally.

    >>> import os, tempfile, numpy as np, kusari
    >>> folder = tempfile.mkdtemp()
    >>> model = kusari.Sequential([kusari.Input((2,)), kusari.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> cb = kusari.callbacks.BackupAndRestore(folder, delete_checkpoint=False)
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
    >>> os.listdir(folder)
    ['latest.kusari']
    """

    FILE = "latest.kusari"

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if double_checkpoint:
            raise NotImplementedError("BackupAndRestore(double_checkpoint=True) is not supported by kusari yet; its "
                                      "backup is written atomically (temporary file, then rename)")
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch', got {save_freq!r}; a backup in the "
                             "middle of an epoch could not be resumed exactly")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self.restored_epoch = None

    @property
    def _path(self):
        return os.path.join(self.backup_dir, self.FILE)

    def on_train_begin(self, logs=None):
        from kusari.saving.archive import _restore_checkpoint
        self.restored_epoch = None
        # temporary files a killed process left behind are never a backup: remove them
        for tmp in glob.glob(os.path.join(glob.escape(self.backup_dir), "." + self.FILE + ".*.tmp")):
            try:
                os.remove(tmp)
            except OSError:
                pass
        if os.path.exists(self._path):
            training = _restore_checkpoint(self.model, self._path)
            self.restored_epoch = int(training.get("epoch", 0))
            self.model._initial_epoch = self.restored_epoch

    def on_epoch_end(self, epoch, logs=None):
        from kusari.saving.archive import _save_checkpoint
        os.makedirs(self.backup_dir, exist_ok=True)
        _save_checkpoint(self.model, self._path, {"epoch": epoch + 1})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass
