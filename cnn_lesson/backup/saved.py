"""What a training backup holds, which run it belongs to, and whether it is intact.

A backup is three things in the output folder: Keras' `training_backup/` (weights, optimizer
state and the epoch number), the epoch log `training_backup_history.json` (the run's
description, every finished epoch's metrics and a fingerprint of its weights) and
`best_model.keras`. The epoch log and Keras' backup also stay after a run finishes, the log
marked finished, so that running the same training again on the same model is recognised
(lesson 3's cell run twice) and trains nothing, and so that a finished run whose model was
never saved can be restored instead of trained again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import keras
import numpy as np

from cnn_lesson.errors import BackupError, SettingsError, shown
from cnn_lesson.files import closed_to_us, is_regular_file, read_json

BACKUP_FOLDER = "training_backup"
BEST_MODEL_FILE = "best_model.keras"
EPOCH_LOG_FILE = "training_backup_history.json"
WEIGHTS_FILE = "latest.weights.h5"  # the names Keras' BackupAndRestore gives its two files
METADATA_FILE = "training_metadata.json"
EPOCH_WEIGHTS = "epoch weights"  # the epoch log's key for `SavedRun.epoch_weights`
# The files `_Backup._save_model` writes before renaming them onto Keras' two: a process
# killed while saving leaves them (`.partial-PID.weights.h5`, `.partial-PID.json`).
PARTIAL = re.compile(r"^\.partial-(\d+)\.(weights\.h5|json)$")
# The metrics every course run logs (every model of the course is compiled with
# metrics=["accuracy"]), which `plot_history` and the lessons read.
LOGGED_METRICS = ("loss", "accuracy")

# Facts shown in messages but not compared: the same images may come from an archive or a
# folder; the "data" fingerprint compares the images themselves.
SHOWN_ONLY = ("data source",)
COMPILED = "optimizer and loss"  # a hash, shown as "other settings" (see `differences`)
FORMAT, RUN_FORMAT = "format", 2  # 2: since the trainable flags, the compile settings, ...
# The command line's fingerprint of its data (training and test images), among a run's facts:
# it also tells a run of `python -m cnn_lesson train` from the lessons' runs.
COMMAND_DATA = "command's data"
# Fingerprints of the images (`data_facts`'s, the command's): shown as words, not hashes.
DATA_FINGERPRINTS = ("data", COMMAND_DATA)
# The facts `describe_run` records itself: a `run` given to `resumable_training` or `train`
# may not name them (they would no longer be compared, or mark the backup as another format).
OWN_FACTS = (FORMAT, "model", "precision", "epochs", COMPILED, "batches per epoch")
# The types `describe_run` (and `data_facts`, and `train`'s batch size) writes for the facts
# the course sets itself; any other fact is text, True/False, a number or None (`_facts`).
FACT_TYPES = {FORMAT: int, "model": str, "precision": str, "epochs": int, COMPILED: str,
              "batches per epoch": (int, type(None)), "seed": int, "training images": int,
              "data": str, "batch size": int, "data source": (str, type(None))}

WAY_OUT = ("To keep that backup, choose another output folder (--output DIR, or another "
           "output_dir); to discard it and start over, add --fresh (fresh=True in Python).")


@dataclass
class SavedRun:
    """A run found in the output folder.

    Attributes:
        run: its description (see `describe_run`).
        history: the metrics of its finished epochs, `done` of them.
        done: epochs finished (and restored by the backup, when not `finished`).
        finished: its `fit` ended; then `weights` fingerprints the weights it ended with.
        weights: see `weights_fingerprint`.
        epoch_weights: the fingerprint of the weights after each of the `done` epochs (empty
            in a log written before the course recorded them).
    """

    run: dict[str, Any]
    history: dict[str, list[float]]
    done: int
    finished: bool = False
    weights: str | None = None
    epoch_weights: list[str] = field(default_factory=list)


def _digest(*parts: bytes) -> str:
    hasher = hashlib.blake2b(digest_size=6)
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()


def weights_fingerprint(model: keras.Model) -> str:
    """A short hash of the model's weights: equal only for a model in the same state.

    The weights are hashed as the lessons save them (`cnn_lesson.precision.float32_copy`):
    float16 and float64 weights as float32, so that a model and the file it was saved as
    have the same fingerprint. float32 weights hash as they are, as they always did.
    """
    return _digest(*(_as_saved(weight).tobytes() for weight in model.weights))


def _as_saved(weight) -> np.ndarray:
    values = np.asarray(weight.numpy())
    if keras.backend.is_float_dtype(weight.dtype):
        return values.astype(np.float32, copy=False)
    return values


def holds_weights(path: Path, fingerprint: str) -> bool:
    """Whether the model file at `path` holds the weights of that `weights_fingerprint` (a
    file that is not a regular file, such as a pipe that would never end, or that does not
    load: no). Used by the backup and the command line to tell a run's saved result."""
    if not is_regular_file(path):
        return False
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception:  # noqa: BLE001 - a file that does not load is not the run's model
        return False
    return weights_fingerprint(model) == fingerprint


def data_fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """A short hash of an image set, from its labels and a sample of about 1,000 images.

    `train` hashes the validation set and the training set (each sampled), so that a backup
    made on other images, or on training images changed since, is not continued.
    """
    step = max(1, len(images) // 1000)
    return _digest(str(np.shape(images)).encode(), np.ascontiguousarray(labels).tobytes(),
                   np.ascontiguousarray(images[::step]).tobytes())


def data_facts(data, seed: int | None) -> dict[str, Any]:
    """The facts `resumable_training(..., data=, seed=)` adds to a run's description.

    Args:
        data: `((train_images, train_labels), (validation_images, validation_labels))`, or
            None.
        seed: the run's seed, or None.
    """
    facts: dict[str, Any] = {} if seed is None else {"seed": seed}
    if data is not None:
        try:
            (train_images, train_labels), (validation_images, validation_labels) = data
        except (TypeError, ValueError):
            raise SettingsError("data must be (train_data, validation_data), each (images, "
                                "labels), as split_validation returns them.") from None
        try:
            facts["training images"] = len(train_images)
            # Both sets: a backup made on other training images (the same validation images,
            # or other ones) is not continued.
            facts["data"] = (data_fingerprint(validation_images, validation_labels)
                             + data_fingerprint(train_images, train_labels))
        except (TypeError, ValueError):  # None from a cell that has not run, say
            raise SettingsError("data must be (train_data, validation_data), each (images, "
                                "labels) arrays, as split_validation returns them.") from None
    return facts


def _named(value: Any) -> str:
    """A value JSON cannot write, by its name: a loss function as its module and name (its
    repr holds a memory address, which differs in every process)."""
    return (f"{getattr(value, '__module__', type(value).__module__)}."
            f"{getattr(value, '__qualname__', type(value).__qualname__)}")


def _compiled(model: keras.Model) -> str:
    """A short hash of what `compile` set: the optimizer with its learning rate (or schedule)
    and the loss with its settings (e.g. label smoothing)."""
    def settings(thing) -> str:
        config = dict(thing.get_config()) if hasattr(thing, "get_config") else {"": thing}
        config.pop("name", None)  # Keras numbers the names: adam, adam_1, ...
        return f"{type(thing).__name__}:{json.dumps(config, sort_keys=True, default=_named)}"

    return _digest(settings(getattr(model, "optimizer", None)).encode(),
                   settings(getattr(model, "loss", None)).encode())


def describe_run(model: keras.Model, params: Mapping[str, Any],
                 facts: Mapping[str, Any]) -> dict[str, Any]:
    """What makes a training run itself: the model, its precision, the epochs, the data.

    Args:
        model: the model `fit` trains (known when training begins).
        params: the callbacks' `params` (`epochs` and `steps`, the batches per epoch).
        facts: what the caller knows besides (`train` adds the seed, the number of training
            images and the data's fingerprint; the command line the data source).

    Returns:
        A flat dict of short values, compared as they are and shown in messages.
    """
    # The trainable flag too: a frozen layer has as many parameters as a trained one, but
    # another optimizer state (lesson 5's whitened first convolution, `whiten=False`).
    layers = [f"{type(layer).__name__}:{layer.count_params()}:{layer.trainable}"
              for layer in model.layers]
    run: dict[str, Any] = {
        FORMAT: RUN_FORMAT,
        "model": f"{model.count_params():,} parameters, layers {_digest(*map(str.encode, layers))}",
        "precision": model.dtype_policy.name,
        "epochs": params.get("epochs"),
        COMPILED: _compiled(model),
    }
    if "batch size" not in facts:  # lesson 3's own `fit`: the batches tell the batch size
        run["batches per epoch"] = params.get("steps")
    run.update(facts)
    return run


def differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two runs, each as `name: value (backup), value (this run)`."""
    keys = [key for key in [*saved, *(key for key in current if key not in saved)]
            if key not in SHOWN_ONLY and saved.get(key) != current.get(key)]
    found = [f"{key}: {_shown(saved.get(key))} (backup), {_shown(current.get(key))} (this run)"
             for key in keys if key not in (*DATA_FINGERPRINTS, COMPILED)]
    if COMPILED in keys:
        found.append(f"{COMPILED}: other settings than the backup's (e.g. the learning rate or "
                     "label smoothing)")
    if any(key in keys for key in DATA_FINGERPRINTS):  # hashes: said in words
        before, after = saved.get("data source"), current.get("data source")
        if before != after:
            found.append(f"data: {_shown(before)} (backup), {_shown(after)} (this run)")
        elif not found:  # another seed also gives another validation set: said already
            found.append("data: other images than the backup's" + (f" ({after})" if after else ""))
    return found


def _shown(value: Any) -> str:
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _damaged(backup_dir: Path, what: str,
             cause: str = "probably by a run stopped while it was saving") -> BackupError:
    return BackupError(
        f"The training backup in {shown(backup_dir.parent.name)}/ is damaged ({what}), {cause}; "
        "it cannot be continued. Start over with --fresh (fresh=True in Python), which "
        "discards it, or choose another output folder."
    )


def _dangling(backup_dir: Path) -> BackupError:
    return BackupError(
        f"{shown(backup_dir.parent.name)}/{BACKUP_FOLDER} is a symbolic link to nothing (a loop, "
        "or its target was moved or deleted), where the training backup should be; nothing was "
        "trained, and the epoch log was left as it was. Put the backup back where the link "
        "points (e.g. mount its disk) and run again; to start over, add --fresh (fresh=True in "
        "Python), which removes the link only; or choose another output folder."
    )


def holds_a_backup(backup_dir: Path) -> bool:
    """Whether `backup_dir` is a folder holding anything besides the half-written files of a
    killed save (`PARTIAL`): a kill during a run's very first save leaves only those, and no
    epoch was backed up. A folder that cannot be listed counts as holding one (the checks of
    its files then say what is wrong); so does an empty one (the course never leaves one)."""
    if not backup_dir.is_dir():
        return False
    try:
        names = [entry.name for entry in os.scandir(backup_dir)]
    except OSError:
        return True
    return not names or any(not PARTIAL.match(name) for name in names)


def _read_json(path: Path) -> Any:
    return read_json(path)


def _epochs_logged(history: Mapping[str, list]) -> int:
    return min((len(values) for values in history.values()), default=0)


def read_saved_run(output_dir: Path) -> SavedRun | None:
    """The run whose backup or finished log is in `output_dir`, checked; None if none.

    An unfinished backup must be whole: a process killed while saving (or a backup written in
    place, as Keras' own and the course's before 2026-11-29 were) can leave a truncated
    weights file or a broken JSON file, or a pipe or device in a file's place; an epoch log
    with fewer epochs than the backup would give a history that lacks epochs. The log may
    hold one epoch more than the backup (it is written first; a kill can fall between the
    two): the backup is the truth, and that epoch is dropped. A finished log is checked as
    strictly (`_check_log`): it is restored, plotted and saved as it is. A backup folder that
    holds only the half-written files of a killed first save is no backup; a
    `training_backup` that is a symbolic link to nothing is refused, not taken for none.

    Raises:
        BackupError: the backup is damaged, or was made by an older version of the course.
    """
    backup_dir = output_dir / BACKUP_FOLDER
    log_path = output_dir / EPOCH_LOG_FILE
    log: Any = None
    if backup_dir.is_symlink() and not os.path.exists(backup_dir):  # ELOOP reads as missing
        raise _dangling(backup_dir)
    _refuse_unreadable(output_dir)
    if backup_dir.exists() and not backup_dir.is_dir():
        raise _damaged(backup_dir, f"{BACKUP_FOLDER} is a file, not Keras' backup folder")
    has_backup = holds_a_backup(backup_dir)
    if log_path.exists():
        try:
            log = _read_json(log_path)
        except (OSError, ValueError):
            if has_backup:
                raise _damaged(backup_dir, f"{EPOCH_LOG_FILE} cannot be read") from None
    if isinstance(log, dict) and "finished" in log:
        # Checked as strictly as an unfinished log: it is restored and plotted as it is.
        _check_log(backup_dir, log, run_required=False)
        history = log["history"]
        return SavedRun(log.get("run") or {}, history, _epochs_logged(history), True,
                        log.get("weights"))
    if not has_backup:
        return None  # nothing finished an epoch: nothing to continue
    if log is None:
        raise _damaged(backup_dir, f"{EPOCH_LOG_FILE} is missing")
    if not isinstance(log, dict):  # every version wrote a dict
        raise _damaged(backup_dir, f"{EPOCH_LOG_FILE} is not an epoch log")
    # The first version wrote the metrics alone, no "history" or "run"; format 1 its run.
    if "history" not in log or "run" not in log \
            or (isinstance(log["run"], dict) and log["run"].get(FORMAT) != RUN_FORMAT):
        raise BackupError(
            f"The training backup in {shown(output_dir.name)}/ was made by an earlier version of "
            "the course, which recorded less about its run, so it is not continued. "
            + WAY_OUT
        )
    _check_log(backup_dir, log, run_required=True)
    done = backup_epoch(backup_dir)
    if done is None:
        raise _damaged(backup_dir, f"{BACKUP_FOLDER}/{METADATA_FILE} is missing or broken")
    if not readable_weights(backup_dir / WEIGHTS_FILE):
        raise _damaged(backup_dir, f"{BACKUP_FOLDER}/{WEIGHTS_FILE} is missing or truncated")
    history = log["history"]
    if _epochs_logged(history) < done:
        raise _damaged(backup_dir, f"{EPOCH_LOG_FILE} holds {_epochs_logged(history)} "
                                   f"epoch(s), the backup {done}")
    epoch_weights = log.get(EPOCH_WEIGHTS, [])
    if not isinstance(epoch_weights, list) or not all(isinstance(f, str) for f in epoch_weights):
        raise _damaged(backup_dir, f"{EPOCH_WEIGHTS!r} in {EPOCH_LOG_FILE} is not a list of "
                                   "fingerprints")
    return SavedRun(log["run"], {key: values[:done] for key, values in history.items()}, done,
                    epoch_weights=epoch_weights[:done])


def _refuse_unreadable(output_dir: Path) -> None:
    """A BackupError when the backup's files cannot be read for their permissions (another
    user's, in a shared folder): they are not damaged, and --fresh would discard them."""
    backup_dir = output_dir / BACKUP_FOLDER
    path = closed_to_us((output_dir / EPOCH_LOG_FILE, backup_dir, backup_dir / METADATA_FILE,
                         backup_dir / WEIGHTS_FILE))
    if path is not None:
        raise BackupError(
            f"The training backup in {shown(output_dir.name)}/ cannot be read: "
            f"{shown(path.relative_to(output_dir))} is not readable (permission denied). "
            "Nothing was changed: make it readable (e.g. `chmod -R u+rwX` on "
            f"{BACKUP_FOLDER} and {EPOCH_LOG_FILE}), or choose another output folder "
            "(--output DIR, or another output_dir).")


def backup_epoch(backup_dir: Path) -> int | None:
    """The epoch number Keras' backup in `backup_dir` names (from 1), or None if its
    metadata file is missing, not a file, or broken."""
    try:
        done = _read_json(backup_dir / METADATA_FILE)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(done, bool) or not isinstance(done, int) or done < 1:  # Keras counts from 1
        return None
    return done


def check_restored_weights(model: keras.Model, saved: SavedRun, backup_dir: Path) -> None:
    """Raise the "damaged" error unless the weights Keras restored are those the epoch log
    recorded for the backup's last epoch. Keras writes the weights, then the epoch number:
    a kill between the two leaves epoch N's weights marked as epoch N-1's, which every other
    check passes, and the run would train epoch N again on top of itself."""
    if len(saved.epoch_weights) < saved.done:
        return  # a log from before the fingerprints: nothing to compare
    if weights_fingerprint(model) != saved.epoch_weights[saved.done - 1]:
        raise _damaged(backup_dir, f"{BACKUP_FOLDER}/{WEIGHTS_FILE} does not hold the weights "
                                   f"of epoch {saved.done}, the epoch its "
                                   f"{METADATA_FILE} names")


# Not a kill: the course writes the epoch log whole (`write_json` is atomic).
_EDITED = "probably by an edit or another program"


def _check_log(backup_dir: Path, log: Mapping[str, Any], run_required: bool) -> None:
    """Raise the "damaged" error unless the epoch log has the shape `_EpochLog` writes: `run`
    a dict (or, in a finished log, missing) of the facts `describe_run` writes, with their
    types; `history` a dict of equally long lists of finite numbers, `loss` and `accuracy`
    among them; in a finished log, `finished` true and `weights` a fingerprint."""
    def damaged(what: str) -> BackupError:
        return _damaged(backup_dir, what, _EDITED)

    run = log.get("run")
    if not isinstance(run, dict) and (run_required or run is not None):
        raise damaged(f"the run in {EPOCH_LOG_FILE} is not a description")
    for name, value in (run or {}).items():
        expected = FACT_TYPES.get(name, (str, bool, int, float, type(None)))
        expected = expected if isinstance(expected, tuple) else (expected,)
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected) \
                or (isinstance(value, float) and not math.isfinite(value)):
            raise damaged(f"{name!r} of the run in {EPOCH_LOG_FILE} is {type(value).__name__} "
                          f"{value!r:.40}, not what the course writes")
    history = log.get("history")
    if not isinstance(history, dict):
        raise damaged(f"the history in {EPOCH_LOG_FILE} is not a table of metrics")
    for key in LOGGED_METRICS:
        if key not in history:
            raise damaged(f"{EPOCH_LOG_FILE} holds no {key!r}")
    for key, values in history.items():
        if not isinstance(values, list) or not all(_float(value) is not None for value in values):
            raise damaged(f"{key!r} in {EPOCH_LOG_FILE} is not a list of numbers")
        if not all(math.isfinite(_float(value)) for value in values):
            raise _damaged(backup_dir, f"{key!r} in {EPOCH_LOG_FILE} holds NaN or an infinite "
                                       "value", "by a training that diverged or by an edit")
    lengths = {key: len(values) for key, values in history.items()}
    if len(set(lengths.values())) > 1:
        raise damaged(f"the metrics in {EPOCH_LOG_FILE} have different lengths "
                      f"({', '.join(f'{key}: {n}' for key, n in lengths.items())})")
    if "finished" in log:
        if log["finished"] is not True:
            raise damaged(f"'finished' in {EPOCH_LOG_FILE} is {log['finished']!r:.40}, not true")
        if not lengths["loss"]:
            raise damaged(f"{EPOCH_LOG_FILE} is marked finished but holds no epoch")
        if not isinstance(log.get("weights"), (str, type(None))):
            raise damaged(f"'weights' in {EPOCH_LOG_FILE} is not a fingerprint")


def _float(value: Any) -> float | None:
    """`value` as a float; None for what is not a number (a bool, text) or is a whole number
    no float can hold (10**400: `float` raises OverflowError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def readable_weights(path: Path) -> bool:
    """Whether an HDF5 weights file opens and lists its contents (a truncated one does not)."""
    import h5py  # Keras' own dependency for `.weights.h5`

    if not is_regular_file(path):  # h5py would wait forever on a pipe
        return False
    try:
        with h5py.File(path, "r") as file:
            file.visit(lambda name: None)
    except (OSError, ValueError, RuntimeError):
        return False
    return True
