"""Training that loses no work: a backup after every epoch and the best model so far.

Used by `cnn_lesson.training.train` when it is given an output folder (lesson 3 and the
command line). After an interrupted kernel or a killed process, the same call continues
from the last finished epoch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np

from cnn_lesson.files import atomic_path, write_json
from cnn_lesson.precision import float32_copy

BACKUP_FOLDER = "training_backup"
BEST_MODEL_FILE = "best_model.keras"
EPOCH_LOG_FILE = "training_backup_history.json"


class _EpochLog(keras.callbacks.Callback):
    """Keeps every finished epoch's metrics in a JSON file beside the backup.

    Keras' `BackupAndRestore` restores weights, optimizer and the epoch number after an
    interruption, but a resumed `fit` only returns the epochs it ran itself; this file holds
    the earlier ones, so the history of a resumed run is complete.
    """

    def __init__(self, path: Path, previous: dict[str, list[float]]):
        super().__init__()
        self.path = path
        self.history = {key: list(values) for key, values in previous.items()}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key == "learning_rate":
                continue
            self.history.setdefault(key, []).append(float(value))
        write_json(self.path, self.history)


class _KeepBestModel(keras.callbacks.Callback):
    """Saves the model whenever validation accuracy improves, atomically.

    Keras' `ModelCheckpoint` writes in place, so a crash during its save could leave a
    truncated file; this one writes through `atomic_path`.
    """

    def __init__(self, path: Path, best: float = -np.inf):
        super().__init__()
        self.path = path
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get("val_accuracy")
        if current is not None and current > self.best:
            self.best = float(current)
            with atomic_path(self.path) as temporary:
                float32_copy(self.model).save(temporary)  # saved as `save_model` does


def resume_callbacks(
    output_dir: Path, fresh: bool, verbose: int
) -> tuple[_EpochLog, list[keras.callbacks.Callback]]:
    """The callbacks that back training up in `output_dir`, and the epoch log among them.

    Keras' `BackupAndRestore` saves weights, optimizer state and the epoch number; the
    epoch log keeps the metrics of finished epochs; `_KeepBestModel` keeps the best model.
    With `fresh`, an existing backup is discarded first.
    """
    backup_dir = output_dir / BACKUP_FOLDER
    log_path = output_dir / EPOCH_LOG_FILE
    if fresh:
        shutil.rmtree(backup_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)
    previous: dict[str, list[float]] = {}
    if backup_dir.exists() and log_path.exists():
        try:
            previous = json.loads(log_path.read_text(encoding="utf-8"))
            metadata = json.loads((backup_dir / "training_metadata.json").read_text("utf-8"))
            done = int(metadata["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            previous, done = {}, 0
        # The log is written just before the backup: if a kill fell between the two, the
        # log holds one epoch more than the backup restores. The backup is the truth.
        previous = {key: values[:done] for key, values in previous.items()}
        if verbose and done:
            print(f"Resuming from the backup in {backup_dir}: {done} epoch(s) already done.")
    best = max(previous.get("val_accuracy", [-np.inf]))
    epoch_log = _EpochLog(log_path, previous)
    # Order matters when a process is killed between two of them: the best model first,
    # then the log, then the backup that marks the epoch as done.
    return epoch_log, [
        _KeepBestModel(output_dir / BEST_MODEL_FILE, best),
        epoch_log,
        keras.callbacks.BackupAndRestore(str(backup_dir)),
    ]
