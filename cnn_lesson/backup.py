"""Training that loses no work: a backup after every epoch and the best model so far.

Used by `cnn_lesson.training.train` when it is given an output folder (lesson 3 and the
command line). After an interrupted kernel or a killed process, the same call continues
from the last finished epoch.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from cnn_lesson.files import atomic_path, prepare_output_dir, write_json
from cnn_lesson.precision import float32_copy

BACKUP_FOLDER = "training_backup"
BEST_MODEL_FILE = "best_model.keras"
EPOCH_LOG_FILE = "training_backup_history.json"


class _EpochLog(keras.callbacks.Callback):
    """Keeps every finished epoch's metrics, and the seconds of training at its end.

    Keras' `BackupAndRestore` restores weights, optimizer and the epoch number after an
    interruption, but a resumed `fit` only returns the epochs it ran itself; this log holds
    the earlier ones too, so the history of a resumed run is complete. `seconds` counts
    training time across interruptions (the time the run stood still is not counted).
    With a `path` it is written to that JSON file after every epoch.
    """

    def __init__(self, path: Path | None, previous: dict[str, list[float]]):
        super().__init__()
        self.path = path
        self.history = {key: list(values) for key, values in previous.items()}
        self._offset = (self.history.get("seconds") or [0.0])[-1]
        self._started = time.perf_counter()

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key == "learning_rate":
                continue
            self.history.setdefault(key, []).append(float(value))
        seconds = self._offset + time.perf_counter() - self._started
        self.history.setdefault("seconds", []).append(round(seconds, 2))
        if self.path is not None:
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


class ResumableTraining:
    """The callbacks that make a `model.fit` resumable, and the complete history after it.

    Made by `resumable_training`; used by lesson 3 around its `model.fit` call, by lesson 5
    and by `cnn_lesson.training.train`:

        progress = resumable_training(output_dir)
        model.fit(..., callbacks=[*progress.callbacks, live_training_plot(progress.history)])
        history = progress.finish()

    Attributes:
        callbacks: the Keras callbacks to pass to `fit`.
        history: every finished epoch's metrics so far, those before an interruption
            included, with `seconds` (training time at the end of each epoch).
        resumed_epochs: epochs restored from a backup (0 for a new run).
    """

    def __init__(self, epoch_log: _EpochLog, callbacks: list[keras.callbacks.Callback],
                 resumed_epochs: int):
        self._epoch_log = epoch_log
        self.callbacks = callbacks
        self.resumed_epochs = resumed_epochs

    @property
    def history(self) -> dict[str, list[float]]:
        return self._epoch_log.history

    def finish(self, history: keras.callbacks.History | None = None) -> keras.callbacks.History:
        """After `fit`: a `History` holding every epoch, and the epoch log file removed.

        Args:
            history: what `fit` returned (its `.history` is replaced by the complete one);
                None makes a new `History`.

        Returns:
            The `History`, with `.history` complete and `.seconds` the training time.
        """
        if history is None:
            history = keras.callbacks.History()
        history.history = {key: list(values) for key, values in self.history.items()}
        history.seconds = (self.history.get("seconds") or [0.0])[-1]
        if self._epoch_log.path is not None:
            self._epoch_log.path.unlink(missing_ok=True)
        return history


def resumable_training(
    output_dir: str | Path | None, fresh: bool = False, verbose: int = 1
) -> ResumableTraining:
    """Prepare a `fit` that backs up after every epoch and continues after an interruption.

    Keras' `BackupAndRestore` saves weights, optimizer state and the epoch number in
    `output_dir/training_backup/`; an epoch log keeps the metrics and times of finished
    epochs; `best_model.keras` keeps the model with the best validation accuracy so far.
    Run the same code again after an interruption and `fit` continues from the last
    finished epoch. A finished run removes its backup (Keras does) and its log (`finish`).

    Used by lesson 3 (`03_training.ipynb`), lesson 5 (in its own folder) and `train`.

    Args:
        output_dir: where the backup and the best model live, created when missing; None
            keeps no backup (the history still records every epoch and its time).
        fresh: discard an existing backup and start over.
        verbose: nonzero prints a line when resuming.

    Returns:
        A `ResumableTraining`: pass its `callbacks` to `fit`, then call its `finish()`.

    Raises:
        OutputError: `output_dir` is a file, cannot be written, or its disk is full.
    """
    if output_dir is None:
        epoch_log = _EpochLog(None, {})
        return ResumableTraining(epoch_log, [epoch_log], 0)
    output_dir = prepare_output_dir(output_dir)  # created if missing; a bad folder fails now
    epoch_log, callbacks = resume_callbacks(output_dir, fresh, verbose)
    resumed = len(epoch_log.history.get("loss", []))
    return ResumableTraining(epoch_log, callbacks, resumed)


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
            print(f"Resuming from the backup in {backup_dir.parent.name}/{BACKUP_FOLDER}: "
                  f"{done} epoch(s) already done.")
    best = max(previous.get("val_accuracy", [-np.inf]))
    epoch_log = _EpochLog(log_path, previous)
    # Order matters when a process is killed between two of them: the best model first,
    # then the log, then the backup that marks the epoch as done.
    return epoch_log, [
        _KeepBestModel(output_dir / BEST_MODEL_FILE, best),
        epoch_log,
        keras.callbacks.BackupAndRestore(str(backup_dir)),
    ]
