"""Training that loses no work: a backup after every epoch and the best model so far.

Used by `cnn_lesson.training.train` when it is given an output folder (lesson 3 and the
command line). After an interrupted kernel or a killed process, the same call continues
from the last finished epoch, but only the same run: a backup records the run it belongs to
(`saved.describe_run`), and another run (other data, seed, quick mode, precision, model or
epochs) is refused rather than mixed with it, as is a damaged backup (`saved`) and a second
run in the same folder at the same time (`lock`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import numbers
import os
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

import keras
import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.backup.lock import holding_folder, lock_folder, unlock_folder
from cnn_lesson.backup.saved import (
    FACT_TYPES,
    BACKUP_FOLDER,
    BEST_MODEL_FILE,
    EPOCH_LOG_FILE,
    EPOCH_WEIGHTS,
    METADATA_FILE,
    OWN_FACTS,
    PARTIAL,
    WAY_OUT,
    WEIGHTS_FILE,
    _damaged,
    backup_epoch,
    readable_weights,
    SavedRun,
    check_restored_weights,
    data_facts,
    describe_run,
    holds_weights,
    differences,
    read_saved_run,
    weights_fingerprint,
)
from cnn_lesson.config import MAX_SEED, whole_number
from cnn_lesson.errors import BackupError, OutputError, SettingsError, shown
from cnn_lesson.files import (
    advice, atomic_path, flush_folder, flush_to_disk, prepare_output_dir, read_json, reason,
    refuse_folders_in_the_way, remove_stale_partials, write_json,
)
from cnn_lesson.precision import float32_copy
from cnn_lesson.model_checks import check_savable
from cnn_lesson.saving import HISTORY_FILE, MODEL_FILES

__all__ = ["BACKUP_FOLDER", "BEST_MODEL_FILE", "EPOCH_LOG_FILE", "RUN_FILES",
           "ResumableTraining", "finish_killed_saves", "forget_finished_runs",
           "holding_folder", "resumable_training", "resume_callbacks"]

# Room kept free beside a backup being saved: h5py's own error on a full disk ended in a
# crash, so a save that might not fit is not begun.
BACKUP_MARGIN_BYTES = 5 * 1024 * 1024

# The files a run writes in its output folder: the backup's, then those lesson 3, lesson 4
# and the command line save after it. None of them may be a folder when the run begins.
RUN_FILES = (BEST_MODEL_FILE, EPOCH_LOG_FILE, *MODEL_FILES, HISTORY_FILE, "metrics.json",
             "training_history.png")


class _EpochLog(keras.callbacks.Callback):
    """Keeps every finished epoch's metrics, and the seconds of training at its end.

    Keras' `BackupAndRestore` restores weights, optimizer and the epoch number after an
    interruption, but a resumed `fit` only returns the epochs it ran itself; this log holds
    the earlier ones too, so the history of a resumed run is complete. `seconds` counts
    training time across interruptions (the time the run stood still is not counted).
    With a `path` it is written to that JSON file after every epoch, atomically, with `run`
    (the run's description), and once more when `fit` ends, marked finished.
    """

    def __init__(self, path: Path | None, previous: dict[str, list[float]],
                 previous_weights: list[str] = ()):
        super().__init__()
        self.path = path
        self.run: dict[str, Any] | None = None
        self.skipped = False  # set when `fit` trains nothing: the run had finished
        self.history = {key: list(values) for key, values in previous.items()}
        self.epoch_weights = list(previous_weights)  # see `saved.check_restored_weights`
        self._offset = (self.history.get("seconds") or [0.0])[-1]
        self._started = time.perf_counter()

    def start_over(self) -> None:
        """Forget the epochs of an earlier run (the same dict: `ResumableTraining.history`)."""
        self.history.clear()
        self.epoch_weights.clear()
        self._offset = 0.0

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
            self.epoch_weights.append(weights_fingerprint(self.model))
            write_json(self.path, {"run": self.run, "history": self.history,
                                   EPOCH_WEIGHTS: self.epoch_weights})

    def on_train_end(self, logs=None):
        if self.path is not None and not self.skipped:
            write_json(self.path, {"run": self.run, "history": self.history, "finished": True,
                                   "weights": weights_fingerprint(self.model)})


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


class _Backup(keras.callbacks.BackupAndRestore):
    """Keras' `BackupAndRestore`, restoring only a backup of the same run.

    When training begins (the model and the epochs are known then), it describes this run
    and compares it with the saved one: the same run, unfinished, is restored by Keras; the
    same run, finished, with the model in the state it ended in (a notebook cell run twice)
    trains nothing; the same run, finished, on a new model is restored from the weights it
    kept and trains nothing, unless the folder's `model.keras` holds those weights (its
    result was saved: it trains again); another run is refused if the backup is unfinished
    (or, with `keep_unsaved`, finished and never saved), and replaces it otherwise. Its two
    files are written beside them and renamed (`_save_model`; a save killed between the two
    renames is finished by `finish_killed_saves`); a backup damaged anyway (an earlier
    version, Keras' own) is found by `saved.read_saved_run` before `fit`, and a restore that
    fails is reported the same way. (Keras'
    `double_checkpoint` would instead restore the epoch before, silently, with an epoch log
    one epoch ahead: a plain message is clearer. It stays off, so `_save_model` writes no
    `.bkp` copies.)
    """

    def __init__(self, output_dir: Path, saved: SavedRun | None, epoch_log: _EpochLog,
                 best_model: _KeepBestModel, facts: Mapping[str, Any], verbose: int,
                 keep_unsaved: bool = False):
        super().__init__(str(output_dir / BACKUP_FOLDER))
        self.output_dir = output_dir
        self.saved = saved
        self.epoch_log = epoch_log
        self.best_model = best_model
        self.facts = dict(facts)
        self.verbose = verbose
        self.keep_unsaved = keep_unsaved

    def on_train_begin(self, logs=None):
        # Keras' own refusal of an unbuilt model is a raw ValueError; the best model is saved
        # after each epoch, so a model that cannot be saved would fail then, its epoch lost.
        check_savable(self.model, "Training with a backup (an output folder)")
        finish_killed_saves(Path(self.backup_dir))  # a killed run's (resume_callbacks did too)
        run = describe_run(self.model, self.params, self.facts)
        self.epoch_log.run = run
        saved = self.saved
        if saved is not None and saved.finished:
            if not differences(saved.run, run) and saved.weights == weights_fingerprint(self.model):
                self._skip_finished_run(saved)
                return
            unsaved = Path(self.backup_dir).is_dir() and not self._saved_as_model_file(saved)
            found = differences(saved.run, run)
            # Only into a model that has not trained: one trained on since (model.fit after
            # the run) would lose those epochs to the restore.
            untrained = not self.model.optimizer.built or int(self.model.optimizer.iterations) == 0
            if unsaved and not found and untrained:
                self._restore_finished_run(saved)
                return
            if unsaved and found and self.keep_unsaved:  # the command line: its runs end saved
                raise BackupError(
                    f"The output folder {shown(self.output_dir.name)}/ holds a finished run "
                    f"({saved.done} epoch(s)) whose model was never saved there (the command "
                    "stopped before saving it, or lesson 3 ran without its saving cell), so "
                    "this other run does not replace it: " + "; ".join(found) + ". To keep "
                    "it, run that run again, which restores it (the command then saves it; in "
                    "lesson 3 run the training cell, then the saving cell), or choose another "
                    "output folder (--output DIR); to discard it, add --fresh.")
            if unsaved and self.verbose:  # a notebook's folder, where nothing may ever save
                print(f"{shown(self.output_dir.name)}/ held a finished run of {saved.done} "
                      "epoch(s) whose model was not saved there; "
                      + ("this other run replaces its kept weights." if found else
                         "this model has trained since, so it trains on as a new run, and "
                         "the kept weights are replaced."))
            _remove_backup(Path(self.backup_dir))  # a finished run's leftover; or a BackupError
            self.epoch_log.start_over()
            self.best_model.best = -np.inf
            saved = None
        if saved is not None:
            found = differences(saved.run, run)
            if found:
                raise BackupError(
                    f"The output folder {shown(self.output_dir.name)}/ holds the backup of another "
                    f"run ({saved.done} epoch(s) done), so this run does not continue it: "
                    + "; ".join(found) + ". " + WAY_OUT
                )
        if saved is not None:  # an unfinished run resumes: the next epoch is backed up
            _check_writable(Path(self.backup_dir))  # now, not after that epoch's training
        self._restore(logs)
        if saved is not None:
            check_restored_weights(self.model, saved, Path(self.backup_dir))
        if self.verbose and saved is not None and saved.done:
            print(f"Resuming from the backup in {shown(self.output_dir.name)}/{BACKUP_FOLDER}: "
                  f"{saved.done} epoch(s) already done.")

    def _save_model(self) -> None:
        """Keras' save of the backup, written beside its two files and renamed onto them.

        Keras writes the weights and the epoch number in place: a full disk (or a kill) while
        it wrote left a damaged backup, and with it every finished epoch lost, and h5py's error
        on a full disk ended in a crash. This overrides a private method of Keras'
        `BackupAndRestore` (3.x; `test_backup` checks that Keras still has it and calls this),
        as nothing public lets the files be written atomically; it keeps Keras' own paths.
        """
        backup_dir = Path(self.backup_dir)
        weights, metadata = Path(self._weights_path), Path(self._training_metadata_path)
        existed = weights.is_file()
        # Twice the last save (both versions exist for a moment); before the first, twice the
        # model's variables, sized from their shapes (not copied out of TensorFlow).
        needed = 2 * (weights.stat().st_size if existed else sum(
            math.prod(variable.shape) * np.dtype(variable.dtype).itemsize
            for variable in self.model.variables))
        where = backup_dir if backup_dir.is_dir() else self.output_dir

        temporaries = [backup_dir / f".partial-{os.getpid()}.weights.h5",  # Keras' suffix
                       backup_dir / f".partial-{os.getpid()}.json"]
        renaming = False  # both written: from here the files say how far the save went

        def half_saved() -> bool:
            """The weights renamed, not the epoch number: it follows, or is kept. Told by the
            files, not by a flag set after the rename: Ctrl-C during `os.replace` is raised
            once it returns, before the next line."""
            return renaming and not os.path.lexists(temporaries[0]) \
                and os.path.lexists(temporaries[1])

        def done(then: str = "free some space, then ") -> str:
            if half_saved():  # its epoch number kept (below) for `finish_killed_saves`
                return (f"The backup's weights are this epoch's, and its epoch number waits in "
                        f"{temporaries[1].name}: {then}run the same training again, which "
                        "finishes the save and continues from it.")
            return (f"The backup of the last epoch saved ({shown(backup_dir)}) is intact: "
                    f"{then}run the same training again to continue from it." if existed else
                    f"No epoch had been backed up yet: {then}run it again.")

        if shutil.disk_usage(where).free < needed + BACKUP_MARGIN_BYTES:
            raise OutputError(f"The disk of {shown(self.output_dir)} is full, so the training "
                              f"backup cannot be saved and training stopped here. {done()}")
        try:
            backup_dir.mkdir(parents=True, exist_ok=True)
            self.model.save_weights(temporaries[0], overwrite=True)
            temporaries[1].write_text(json.dumps({"epoch": self._current_epoch,
                                                  "batch": self._last_batch_seen}))
            # Both written, and on the disk, before either is replaced: a failure above (or a
            # power cut) leaves the last backup as it was. (A kill between the two renames is
            # finished by the next run: `finish_killed_saves`.)
            for temporary in temporaries:
                flush_to_disk(temporary)
            renaming = True
            os.replace(temporaries[0], weights)
            os.replace(temporaries[1], metadata)
            flush_folder(backup_dir)
        except OSError as error:
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            # A link to nothing, a loop or a file in the folder's place is no full disk.
            in_the_way = (f"{BACKUP_FOLDER} is in the way (a file, or a symbolic link to "
                          "nothing): remove it, or choose another output folder.")
            raise OutputError(f"Could not save the training backup in {shown(backup_dir)}: "
                              f"{reason(error)}. "
                              f"{done() if full else done('fix that, then ')} "
                              + advice(error, backup_dir, in_the_way if error.errno in (
                                  errno.EEXIST, errno.ELOOP) else
                                  "Check that folder, or choose another output folder.")
                              ) from error
        except BaseException:  # Ctrl-C between the renames: the save is finished first
            if half_saved():
                with contextlib.suppress(OSError):
                    os.replace(temporaries[1], metadata)
            raise
        finally:
            for temporary in temporaries[:1] if half_saved() else temporaries:
                with contextlib.suppress(OSError):  # a kept epoch number: `finish_killed_saves`
                    temporary.unlink(missing_ok=True)
            if not existed:  # an empty folder beside an epoch log would read as damaged
                with contextlib.suppress(OSError):
                    backup_dir.rmdir()  # only if empty: a save that succeeded is kept

    def _restore(self, logs=None) -> None:
        """Keras' restore of the backup (none there: nothing to do), or a BackupError."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                super().on_train_begin(logs)
            for warning in caught:  # Keras warns, and goes on, when the state does not fit
                if "Skipping variable loading" in str(warning.message):
                    raise ValueError("its optimizer state does not fit this model")
                warnings.warn(warning.message, warning.category, stacklevel=2)
        except (OSError, ValueError, KeyError, TypeError) as error:
            # One line: Keras' own message goes on with a list of every layer not loaded.
            raise _damaged(Path(self.backup_dir),
                           f"{BACKUP_FOLDER}/{WEIGHTS_FILE} could not be restored into this "
                           f"model: {_one_line(error)}", "perhaps by a run stopped while it was "
                           "saving, or by another network's weights copied there") from error

    def _saved_as_model_file(self, saved: SavedRun) -> bool:
        """Whether the folder's `model.keras` holds the weights the finished run ended with:
        then its result is saved, and a new model given to the same `fit` trains again from
        the start. Otherwise the run's result was never saved (a kernel restarted, or the
        command stopped, between the end of training and the saving), and it is restored."""
        return saved.weights is not None and holds_weights(self.output_dir / MODEL_FILES[0],
                                                           saved.weights)

    def _restore_finished_run(self, saved: SavedRun) -> None:
        """The finished run's weights and optimizer state back into the model, from the
        backup it kept; `fit` then trains nothing (Keras' restore sets the first epoch)."""
        if backup_epoch(Path(self.backup_dir)) != saved.done \
                or not readable_weights(Path(self._weights_path)):  # a pipe hung
            raise BackupError(f"The finished run's weights in {shown(self.output_dir.name)}/"
                              f"{BACKUP_FOLDER} are damaged or from another epoch. " + WAY_OUT)
        self._restore()
        if weights_fingerprint(self.model) != saved.weights:
            raise BackupError(f"The finished run's weights in {shown(self.output_dir.name)}/"
                              f"{BACKUP_FOLDER} are not those it ended with. " + WAY_OUT)
        self.epoch_log.skipped = True
        if self.verbose:
            print(f"This run had already finished its {saved.done} epoch(s), but its model was "
                  f"not saved after: the trained weights are restored from "
                  f"{shown(self.output_dir.name)}/{BACKUP_FOLDER}, nothing was trained again, and "
                  "the history holds those epochs. To train again from the start, create the "
                  "model again (in lesson 3, run the cell that makes it) and pass fresh=True "
                  "here (--fresh on the command line).")

    def _skip_finished_run(self, saved: SavedRun) -> None:
        # `_initial_epoch` is how Keras' own restore tells `fit` where to start.
        self.model._initial_epoch = self.params["epochs"]
        self.epoch_log.skipped = True
        if self.verbose:
            print(f"This run already finished its {saved.done} epoch(s), and the model is the "
                  "one it ended with: nothing was trained or overwritten, and the history "
                  "holds those epochs. To train again from the start, create the model again "
                  "(in lesson 3, run the cell that makes it) and pass fresh=True here; "
                  "fresh=True alone would train this already-trained model further.")

    def on_train_end(self, logs=None):
        # Keras leaves `_initial_epoch` set after a restore, and a later `fit` of the same
        # model would then skip that many epochs.
        self.model._initial_epoch = None
        # Not Keras' own `on_train_end`, which removes the backup: it stays, the epoch log
        # marking the run finished, so that the trained weights survive until they are
        # saved (see `_saved_as_model_file`). Another run in the folder removes it (see
        # `on_train_begin`), and so does fresh=True.


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
                 resumed_epochs: int, lock: tuple[Path, object] | None = None):
        self._epoch_log = epoch_log
        self.callbacks = callbacks
        self.resumed_epochs = resumed_epochs
        self._lock = lock  # (folder, owner) of the folder's lock, if this run took it

    @property
    def history(self) -> dict[str, list[float]]:
        return self._epoch_log.history

    def finish(self, history: keras.callbacks.History | None = None) -> keras.callbacks.History:
        """After `fit`: a `History` holding every epoch; the output folder is free again.

        Args:
            history: what `fit` returned (its `.history` is replaced by the complete one);
                None makes a new `History`.

        Returns:
            The `History`, with `.history` complete, `.seconds` the training time and
            `.weights_fingerprint` the fingerprint of the weights `fit` ended with (see
            `weights_fingerprint`), which `save_history` writes: a History saved after the
            model trained on is then told from the model saved with it.
        """
        if history is None:
            history = keras.callbacks.History()
        history.history = {key: list(values) for key, values in self.history.items()}
        history.seconds = (self.history.get("seconds") or [0.0])[-1]
        model = self._epoch_log.model  # set by `fit`; None if it never ran
        if isinstance(model, keras.Model) and model.built:
            history.weights_fingerprint = weights_fingerprint(model)
        self.release()
        return history

    def release(self) -> None:
        """Free the output folder for other runs (`finish` does; so does ending the process)."""
        if self._lock is not None:
            unlock_folder(*self._lock)


def _facts(run: Mapping[str, Any] | None) -> dict[str, Any]:
    """`run` as facts that come back from the backup's JSON as they went in, or a
    SettingsError: text keys, and text, True/False, None, whole or finite numbers as values
    (numpy's numbers become Python's; a NaN or a tuple would never equal itself again, and
    the same run could not resume)."""
    if run is None:
        return {}
    if not isinstance(run, Mapping):
        raise SettingsError(f"run must map names to facts, such as {{'data source': label}}, "
                            f"not {type(run).__name__} {run!r:.60}.")
    facts = {}
    for name, value in run.items():
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif isinstance(value, numbers.Integral):
            value = int(value)
        elif isinstance(value, numbers.Real):
            value = float(value)
        if not isinstance(name, str) or not isinstance(value, (str, bool, int, float,
                                                               type(None))) \
                or isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"run must map names (text) to text, True/False or finite "
                                f"numbers (it is written to the backup as JSON); {name!r}: "
                                f"{value!r:.60} is not one.")
        if name in OWN_FACTS:
            raise SettingsError(f"run names {name!r}, which the course reads from the model and "
                                "fit itself (and compares): use another name for your fact.")
        expected = FACT_TYPES.get(name)  # a fact the course records itself: of its type
        kinds = expected if isinstance(expected, tuple) else (expected,)
        if expected is not None and (not isinstance(value, kinds)
                                     or (isinstance(value, bool) and bool not in kinds)):
            raise SettingsError(f"run names {name!r}, a fact the course records itself, as "
                                f"{type(value).__name__} {value!r:.40}: give it as the course "
                                "does, or use another name.")
        facts[name] = value
    return facts


@checked
def resumable_training(
    output_dir: str | Path | None, fresh: bool = False, verbose: int = 1,
    run: Mapping[str, Any] | None = None, data=None, seed: int | None = None,
    keep_unsaved: bool = False,
) -> ResumableTraining:
    """Prepare a `fit` that backs up after every epoch and continues after an interruption.

    Keras' `BackupAndRestore` saves weights, optimizer state and the epoch number in
    `output_dir/training_backup/`; an epoch log keeps the run's description and the metrics
    and times of finished epochs; `best_model.keras` keeps the model with the best
    validation accuracy so far. Run the same code again after an interruption and `fit`
    continues from the last finished epoch, if it is the same run: the same model and
    precision, the same epochs and batches per epoch, and the same `data`, `seed` and `run`
    facts (without `data` and `seed` it cannot tell other data or another seed). A finished
    run marks its log finished and keeps its backup: the same `fit` again on the model it
    trained then trains nothing and says so (lesson 3's cell run twice), and on a new model
    (the kernel restarted, or the command stopped, before the model was saved) it restores
    the trained weights and trains nothing, unless `output_dir/model.keras` holds them: then
    the run's result is saved and it trains again from the start. `fresh` always does.

    Used by lesson 3 (`03_training.ipynb`), lesson 5 (in its own folder) and `train`.

    Args:
        output_dir: where the backup and the best model live, created when missing; None
            keeps no backup (the history still records every epoch and its time).
        fresh: discard an existing backup and start over.
        verbose: nonzero prints a line when resuming or when the run had finished.
        run: more facts that make this run itself, compared with the backup's (`train`
            gives the batch size, the command line the data source's name).
        data: `(train_data, validation_data)`, as `split_validation` returns them: the
            number of training images and a fingerprint of both sets are compared too, so a
            backup made on other data is not continued (lesson 3 and `train` pass them).
        seed: the run's seed, compared too.
        keep_unsaved: refuse another run while a finished run's model is not saved in
            `output_dir` (the command line, which saves every run it finishes); without it,
            another run replaces that run's kept weights and says so (a notebook's folder,
            where nothing may ever save them).

    Returns:
        A `ResumableTraining`: pass its `callbacks` to `fit`, then call its `finish()`.

    Raises:
        OutputError: `output_dir` is a file, cannot be written, or its disk is full; or a
            folder has the name of a file the run writes (`RUN_FILES`).
        BackupError: another run is using `output_dir` now, or its backup is damaged
            (here); the backup belongs to another run, or (with `keep_unsaved`) to a
            finished run never saved (when `fit` begins).
    """
    if seed is not None:  # written to the backup as JSON: numpy's integers are not
        seed = whole_number("seed", seed, minimum=0, maximum=MAX_SEED)
    # The course's facts of the data and the seed win over a `run` naming them otherwise: a
    # backup made on other images or another seed would be continued without a word.
    facts = {**_facts(run), **data_facts(data, seed)}
    if output_dir is None:
        epoch_log = _EpochLog(None, {})
        return ResumableTraining(epoch_log, [epoch_log], 0)
    output_dir = prepare_output_dir(output_dir)  # created if missing; a bad folder fails now
    refuse_folders_in_the_way(output_dir, RUN_FILES)  # not an hour later, when saving
    owner = object()
    locked = lock_folder(output_dir, owner)  # before reading: another run may be writing
    try:
        # A killed save's half-written model, say (sample_images.png: the command line's).
        remove_stale_partials(output_dir, (*RUN_FILES, "sample_images.png"))
        epoch_log, callbacks, saved = resume_callbacks(output_dir, fresh, verbose, facts,
                                                       keep_unsaved)
    except BaseException:
        if locked:
            unlock_folder(output_dir, owner)
        raise
    resumed = saved.done if saved is not None and not saved.finished else 0
    return ResumableTraining(epoch_log, callbacks, resumed, (output_dir, owner) if locked else None)


def _check_writable(backup_dir: Path) -> None:
    """The backup folder of a run about to resume can take its next save (a read-only
    `training_backup/` copied from elsewhere, say): a probe file made and removed there.

    Raises:
        BackupError: it cannot be written (why, and what to do); nothing was trained.
    """
    probe = backup_dir / f".write-test-{os.getpid()}"  # as `prepare_output_dir` probes
    try:
        weights = backup_dir / WEIGHTS_FILE
        # as `_Backup._save_model` needs it: both versions of the weights for a moment
        if weights.is_file() and shutil.disk_usage(backup_dir).free \
                < 2 * weights.stat().st_size + BACKUP_MARGIN_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        probe.write_bytes(b"ok")
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            what = "make that folder writable"
        elif error.errno in (errno.ENOSPC, errno.EDQUOT):
            what = "free some disk space there"
        else:
            what = "fix that"
        raise BackupError(
            f"Cannot write to the training backup {shown(backup_dir)}: {reason(error)}, so no "
            f"epoch could be backed up there. Nothing was trained, and the backup is as it "
            f"was: {what}, then run the same training again to continue from it.") from error
    finally:
        with contextlib.suppress(OSError):  # made, then the write failed: not left behind
            probe.unlink(missing_ok=True)


# Where the lessons keep runs inside their output folder: lesson 3's own run and its exercises'
# (`exercises/<name>`), lesson 5's run (`going_further`, `further.FURTHER_FOLDER`), its
# comparison and exercise runs, and runs a learner keeps in its exercise folder.
LESSON_RUNS = (".", "exercises/*", "going_further", "going_further/*", "going_further/*/*")


def forget_finished_runs(folder: Path) -> list[Path]:
    """Remove the weights that the lessons' finished runs in `folder` kept (each
    `training_backup/` beside an epoch log marked finished), so that those runs train again
    instead of being restored: `notebooks refresh` stores the outputs of new runs. Unfinished
    backups, best models and saved models stay.

    Only the lessons' own folders are looked in (`LESSON_RUNS`), and not through links: an
    output folder set to a home folder must not lose the kept weights of every run in it.
    A run of `python -m cnn_lesson train` there that is not over is refused, not forgotten:
    finished with its model never saved (stopped between its training and its saving), its
    kept weights are the only copy of that training, and the command restores them;
    unfinished, lesson 3 would fail on it. Returns the folders removed.

    Raises:
        BackupError: such a run of the command (named, with the way out); nothing is removed.
    """
    from cnn_lesson.backup.saved import COMMAND_DATA

    root = Path(folder)
    finished = []
    for run_dir in _lesson_run_folders(root):
        try:
            log = read_json(run_dir / EPOCH_LOG_FILE)
        except (OSError, ValueError):  # none, unreadable, not JSON
            continue
        backup = run_dir / BACKUP_FOLDER
        if not isinstance(log, dict) or not backup.is_dir() or backup.is_symlink():
            continue
        run = log.get("run")
        if isinstance(run, dict) and COMMAND_DATA in run:
            if os.access(run_dir, os.W_OK | os.X_OK):
                with holding_folder(run_dir):  # a run training there: "Another ... is using"
                    _refuse_a_commands_run(run_dir, log)
            else:  # no run can be training in a folder it cannot write, nor lock it
                _refuse_a_commands_run(run_dir, log)
        if log.get("finished") is not True:
            continue  # the lessons resume their own unfinished runs
        finished.append(backup)
    for backup in finished:
        _remove_backup(backup)
    return finished


def _refuse_a_commands_run(run_dir: Path, log: dict) -> None:
    """A BackupError for a run of `python -m cnn_lesson train` in a lesson's folder that is
    not over: unfinished (lesson 3 would meet another run's backup, its message cut short,
    after the lessons before it ran), or finished with its model never saved (its kept
    weights are the only copy of that training); nothing for one whose model is saved."""
    from cnn_lesson.files import closed_to_us

    model_file = run_dir / MODEL_FILES[0]
    weights, finished = log.get("weights"), log.get("finished") is True
    if finished and closed_to_us([model_file]) is not None:
        raise BackupError(
            f"{shown(model_file)} cannot be read (permission denied), so refreshing cannot tell "
            "whether the finished run of `python -m cnn_lesson train` there was saved. Nothing "
            "was changed: make it readable (e.g. `chmod u+r` on it), then refresh again.")
    if finished and isinstance(weights, str) and holds_weights(model_file, weights):
        return
    run = log["run"]
    command = f"`{_the_command(run_dir, run)}` (without --fresh)"
    state = (f"a finished run of `python -m cnn_lesson train` whose model was never saved: "
             f"{BACKUP_FOLDER}/ there keeps the only copy of its weights, and refreshing the "
             f"lessons would remove it. Run {command}: it restores them and saves its model "
             "without training" if finished else
             f"an unfinished run of `python -m cnn_lesson train`, which the lessons cannot "
             f"continue. Finish it with {command}")
    raise BackupError(f"{shown(run_dir)} holds {state}; or move that folder away, or set "
                      "CNN_LESSON_OUTPUT to another folder; then refresh. Nothing was changed.")


def _the_command(run_dir: Path, run: dict) -> str:
    """The `train` command line of a run of the command, from its facts: every setting the
    backup compares (a command without its --seed would be another run, refused)."""
    from cnn_lesson.data.synthetic import SYNTHETIC_LABEL

    source = run.get("data source")
    data = "synthetic" if source == SYNTHETIC_LABEL else f"<its data: {source}>" if source \
        else "<its data>"
    words = ["python -m cnn_lesson train", f"--data {data}", f"--output {shown(run_dir)}",
             f"--epochs {run.get('epochs')}", f"--seed {run.get('seed')}",
             f"--precision {run.get('precision')}"]
    return " ".join(words + (["--quick"] if run.get("quick") else []))


def _lesson_run_folders(root: Path) -> list[Path]:
    """The folders matching `LESSON_RUNS` in `root`, none reached through a link.

    Raises:
        BackupError: a folder among them can be listed but not entered (named).
    """
    found = []
    try:
        for pattern in LESSON_RUNS:
            found += _matching(root, pattern)
    except PermissionError as error:  # a folder that can be listed, not entered (mode 444)
        closed = os.fsdecode(error.filename) if error.filename else root
        raise BackupError(
            f"Cannot look into {shown(closed)} (permission denied), where the lessons keep "
            "their runs. Nothing was changed: make it readable (e.g. `chmod -R u+rX` on it), "
            "or set CNN_LESSON_OUTPUT to another folder, then refresh.") from None
    return found


def _matching(root: Path, pattern: str) -> list[Path]:
    """The folders matching one of `LESSON_RUNS` in `root`, none reached through a link."""
    found = []
    for run_dir in sorted(root.glob(pattern)) if pattern != "." else [root]:
        parts = run_dir.relative_to(root).parts
        if run_dir.is_dir() and not any((root.joinpath(*parts[:end])).is_symlink()
                                        for end in range(1, len(parts) + 1)):
            found.append(run_dir)
    return found


def _one_line(error: BaseException) -> str:
    """The first line of an error's message, without Keras' "Example error message ..."."""
    text = " ".join(str(error).strip().split("\n", 1)[0].split())
    text = text.split(" Example error message", 1)[0].rstrip(" .:")
    return text[:200] or type(error).__name__


def _not_removed(path: Path, error: OSError, what: str, failed=None) -> BackupError:
    failed = failed or (os.fsdecode(error.filename) if error.filename else path)
    return BackupError(
        f"Could not remove {shown(failed)}: {reason(error)}, so {what} in "
        f"{shown(path.parent.name)}/ was not discarded (perhaps it belongs to another user, or "
        "is marked immutable). Remove it yourself, or choose another output folder.")


def _remove_backup(path: Path) -> None:
    """Remove Keras' backup folder, or a file or link that has its name (the course's own).

    Raises:
        BackupError: it, or a file in it, cannot be removed (named, with the reason).
    """
    def failed(_function, name, error) -> None:  # `name` in full (error.filename may not be)
        raise _not_removed(path, error, "the training backup", name) from None

    try:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink(missing_ok=True)
        elif path.exists():
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=failed)
            else:
                shutil.rmtree(path, onerror=lambda function, name, info: failed(function, name,
                                                                                 info[1]))
    except OSError as error:
        raise _not_removed(path, error, "the training backup") from None


def _discard_backup(output_dir: Path) -> None:
    """fresh=True: remove the backup, then the epoch log, or neither when the log cannot be
    removed (an immutable file, another user's in a shared folder): a rename aside and back
    tells that before anything is removed. The log goes last: a log without a backup is no
    backup to continue, a backup without its log a damaged one.

    Raises:
        BackupError: something cannot be removed (named, with the reason).
    """
    log = output_dir / EPOCH_LOG_FILE
    if os.path.lexists(log):
        probe = output_dir / f".{Path(EPOCH_LOG_FILE).stem}.partial-{os.getpid()}.json"
        try:
            os.rename(log, probe)
            os.rename(probe, log)
        except OSError as error:
            raise _not_removed(log, error, "the training backup") from None
    _remove_backup(output_dir / BACKUP_FOLDER)
    try:
        log.unlink(missing_ok=True)
    except OSError as error:
        raise _not_removed(log, error, "the epoch log of the training backup") from None


def finish_killed_saves(backup_dir: Path) -> None:
    """Finish or remove the backup saves of processes killed in the middle of them.

    A save writes `.partial-PID.weights.h5` and `.partial-PID.json`, then renames them onto
    the backup's two files (`_Backup._save_model`). A process that no longer runs and left
    only its `.json` was killed between the two renames: its weights are in place, so the
    rename of the epoch number is finished here (`check_restored_weights` then compares the
    weights with the epoch log's fingerprint of that epoch, as for any resume). Any other
    partial of a dead process is removed (the last backup is intact), and the backup folder
    with them when they were all it held (a kill during the very first save): no epoch was
    backed up. Called with the folder's lock held.
    """
    if backup_dir.is_symlink() or not backup_dir.is_dir():
        return
    removed = False
    with contextlib.suppress(OSError):
        dead: dict[int, dict[str, Path]] = {}
        for path in list(backup_dir.iterdir()):
            match = PARTIAL.match(path.name)
            if match is None or path.is_symlink() or not path.is_file():
                continue
            pid = int(match.group(1))
            if pid != os.getpid():
                try:
                    os.kill(pid, 0)  # signal 0: only asks whether it runs
                    continue
                except ProcessLookupError:
                    pass
                except (PermissionError, OverflowError, ValueError):  # another user's, no pid
                    continue
            dead.setdefault(pid, {})[match.group(2)] = path
        for pid, partials in dead.items():
            if set(partials) == {"json"} and _finish_killed_save(backup_dir, partials["json"]):
                continue
            for path in partials.values():
                path.unlink()
                removed = True
    if removed:
        with contextlib.suppress(OSError):
            backup_dir.rmdir()  # only if empty now


def _finish_killed_save(backup_dir: Path, partial: Path) -> bool:
    """Rename a killed save's epoch number onto the backup's, if it is one and names a later
    epoch than the backup's (its weights were renamed already); whether it did."""
    try:
        epoch = read_json(partial)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1 \
            or not readable_weights(backup_dir / WEIGHTS_FILE):
        return False
    if epoch <= (backup_epoch(backup_dir) or 0):
        return False
    os.replace(partial, backup_dir / METADATA_FILE)
    flush_folder(backup_dir)
    return True


def resume_callbacks(
    output_dir: Path, fresh: bool, verbose: int, run: Mapping[str, Any] | None = None,
    keep_unsaved: bool = False,
) -> tuple[_EpochLog, list[keras.callbacks.Callback], SavedRun | None]:
    """The callbacks that back training up in `output_dir`, the epoch log among them.

    Keras' `BackupAndRestore` (as `_Backup`, for the same run only) saves weights, optimizer
    state and the epoch number; the epoch log keeps the metrics of finished epochs;
    `_KeepBestModel` keeps the best model. With `fresh`, an existing backup is discarded
    first. Also returns the saved run found (None if none).

    Raises:
        BackupError: the backup is damaged or from an older version of the course, or (with
            `fresh`) cannot be removed.
    """
    if fresh:
        _discard_backup(output_dir)
    finish_killed_saves(output_dir / BACKUP_FOLDER)  # before the backup is judged (a killed save's)
    saved = read_saved_run(output_dir)
    previous = saved.history if saved is not None else {}
    epoch_log = _EpochLog(output_dir / EPOCH_LOG_FILE, previous,
                          saved.epoch_weights if saved is not None and not saved.finished else [])
    best_model = _KeepBestModel(
        output_dir / BEST_MODEL_FILE,
        max(previous.get("val_accuracy", [-np.inf])) if saved and not saved.finished else -np.inf,
    )
    # Order matters when a process is killed between two of them: the best model first,
    # then the log, then the backup that marks the epoch as done.
    return epoch_log, [
        best_model,
        epoch_log,
        _Backup(output_dir, saved, epoch_log, best_model, run or {}, verbose, keep_unsaved),
    ], saved
