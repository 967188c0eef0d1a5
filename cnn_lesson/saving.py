"""Saving the trained model and loading it back, safely.

Used by lesson 3 (`03_training.ipynb`), which saves the model, and lesson 4
(`04_results.ipynb`), which loads it (or, without it, trains a stand-in that is kept apart).
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import zipfile
from pathlib import Path
from typing import Mapping, NamedTuple

import keras
import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.config import MAX_SEED, user_path
from cnn_lesson.errors import (
    CnnLessonError, DataError, ModelFileError, OutputError, SettingsError, shown,
)
from cnn_lesson.files import atomic_path, link_problem, read_json, reason, refuse_broken_link
from cnn_lesson.model_checks import check_savable
from cnn_lesson.precision import float32_copy

MODEL_FILES = ("model.keras", "model.h5")
HOW_TO_MAKE_A_MODEL = (
    "Run notebooks/03_training.ipynb (or `python -m cnn_lesson train`) to train and save one."
)


@contextlib.contextmanager
def _quiet_legacy_format_warning():
    """Silence Keras' "HDF5 is legacy" log line: the lesson saves `.h5` on purpose (the
    reference lesson promises it) and says so; the line only alarms learners."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@checked
def save_model(model: keras.Model, output_dir: str | os.PathLike) -> dict[str, Path]:
    """Save the model as `model.keras` (Keras' own format) and `model.h5` (the older HDF5).

    The `.h5` file is written from a copy of the model: Keras 3 replaces the optimizer of a
    model object it saves as `.h5`, which would spoil every later `.keras` save of it (and
    learners do run the saving cell twice). Both files are written atomically, so an
    interrupted save leaves the previous files intact. A model trained in mixed precision
    is saved as its float32 copy (`cnn_lesson.precision.float32_copy`): the same weights and
    optimizer state, loadable and fast everywhere. So is a model of float16 or float64
    layers: float64 weights are rounded to float32's 7 digits, and a line says so (the course
    saves float32 models only; the loaded model predicts very nearly, not exactly, the same).

    Args:
        model: the trained model.
        output_dir: the folder to save into (it must exist).

    Returns:
        `{"keras": path, "h5": path}`.
    """
    if not isinstance(model, keras.Model):
        raise SettingsError(f"save_model needs the trained Keras model, not "
                            f"{type(model).__name__} {model!r:.80}.")
    check_savable(model, "save_model")
    folder = _folder_to_save_in(output_dir, "save_model")
    rounded = any(keras.backend.standardize_dtype(weight.dtype) == "float64"
                  for weight in model.weights)
    model = float32_copy(model)  # the same model if it already computes in float32
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    paths = {}
    for name, source in zip(MODEL_FILES, (model, copy)):
        path = folder / name
        with atomic_path(path) as temporary, _quiet_legacy_format_warning():
            source.save(temporary)
        paths[path.suffix.lstrip(".")] = path
    if rounded:
        print("save_model: the model's float64 weights were saved as float32, rounded to about 7 "
              "digits, as every model the course saves; it will predict very nearly the same.")
    return paths


def _folder_to_save_in(output_dir, caller: str) -> Path:
    """The folder `save_model`/`save_history` write into, or an error that says what to pass:
    a learner's natural mistake is the file's path (`output/model.keras`), which is often
    their trained model; the message must not tell them to move it away."""
    if not isinstance(output_dir, (str, os.PathLike)):
        raise SettingsError(f"{caller} needs the folder's path, not "
                            f"{type(output_dir).__name__} {output_dir!r:.80}.")
    if "\0" in os.fspath(output_dir):
        raise SettingsError(f"{caller} was given the path {shown(output_dir)!r}, which holds a NUL "
                            "character that no folder name can: pass the output folder.")
    folder = user_path(output_dir, caller)  # `~/out`, as prepare_output_dir takes it
    # os.path.isfile: Path.is_file raises for a name too long on Python 3.10 and 3.11
    if folder.suffix.lower() in (".keras", ".h5", ".json") or os.path.isfile(folder):
        raise SettingsError(f"{caller} takes the folder to save into, such as "
                            f"{shown(folder.parent)}, not a file's path ({shown(folder)}): it "
                            "names the files itself.")
    refuse_broken_link(folder)  # a loop was "Free some disk space"
    return folder


@checked
def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a model saved by `save_model`, ready to predict, evaluate or train further.

    A `.h5` file is loaded without its training configuration and compiled again, because
    Keras 3 cannot continue training a `.h5` model loaded with its saved compile state.

    Args:
        path: a `.keras` or `.h5` file.

    Returns:
        The compiled model.

    Raises:
        ModelFileError: the file is missing, truncated or not a Keras model.
    """
    from cnn_lesson.training import compile_model  # training imports nothing from here

    if not isinstance(path, (str, os.PathLike)):
        raise SettingsError(f"load_model needs a file's path, e.g. output_dir / \"model.keras\", "
                            f"not {type(path).__name__} {path!r}.")
    file = user_path(path, "load_model", ModelFileError)
    try:
        is_folder, is_file = file.is_dir(), file.is_file()
    except OSError as error:  # e.g. a name too long for the file system
        raise ModelFileError(f"No saved model can be at {shown(file)}: "
                             f"{reason(error)}. {HOW_TO_MAKE_A_MODEL}") from None
    if is_folder:
        raise ModelFileError(f"{file} is a folder, not a saved model. {HOW_TO_MAKE_A_MODEL}")
    if not is_file:
        raise ModelFileError(f"No saved model at {file}. {HOW_TO_MAKE_A_MODEL}")
    if file.suffix not in (".keras", ".h5"):
        raise ModelFileError(f"{file} is not a .keras or .h5 model file. {HOW_TO_MAKE_A_MODEL}")
    try:
        with open(file, "rb"):
            pass
    except OSError as error:  # zipfile.is_zipfile would call it "truncated"
        raise ModelFileError(
            f"{file} cannot be read ({error}). If the model is yours, make the file readable "
            "(e.g. `chmod u+r`); otherwise train your own. The file was left as it is."
        ) from None
    if file.suffix == ".keras" and not zipfile.is_zipfile(file):
        raise ModelFileError(
            f"{file} is not a complete .keras model (truncated or not a model). "
            f"{HOW_TO_MAKE_A_MODEL}"
        )
    # Lesson 5's models are compiled with the package's own loss: Keras finds it by name.
    from cnn_lesson.further import SmoothedSparseCrossentropy

    try:
        if file.suffix == ".keras":
            return keras.models.load_model(file, custom_objects={
                "cnn_lesson>SmoothedSparseCrossentropy": SmoothedSparseCrossentropy})
        model = keras.models.load_model(file, compile=False)
    except CnnLessonError:  # the course's own, e.g. from its loss: it says what is wrong
        raise
    except Exception as error:  # Keras raises many types for a damaged file
        raise ModelFileError(
            f"{file} could not be loaded as a Keras model ({type(error).__name__}: "
            f"{str(error)[:200]}). The file is damaged or not a model. {HOW_TO_MAKE_A_MODEL}"
        ) from error
    # Outside the `try`: compile_model's refusal (a model without a softmax, say) is not
    # a damaged file
    return compile_model(model)


HISTORY_FILE = "history.json"
# The metrics lessons 4 and 5 draw from it, when present; `loss` and `accuracy` always are.
PER_EPOCH = ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")
# Not a metric: a fingerprint of the weights of the model the history was saved with.
WEIGHTS_KEY = "weights of the model when saved"


@checked
def save_history(history, output_dir: str | os.PathLike) -> Path:
    """Save a training history (a Keras `History` or its dict) as `history.json`, atomically.

    Used by lesson 3, so that lesson 4 can plot the history in a fresh kernel.
    """
    from cnn_lesson.files import write_json

    folder = _folder_to_save_in(output_dir, "save_history")
    values = getattr(history, "history", history)
    try:
        # Text keys and series of numbers only: the text "123" was saved as three epochs, a
        # dict as its keys, a set in any order, and the keys None and "None" as one.
        numbers = {_text_key(key): [_number(value) for value in _series(series)]
                   for key, series in values.items()}
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise SettingsError("save_history needs the History that fit returned (or its "
                            f".history dict of numbers per epoch), not {type(history).__name__} "
                            f"{history!r:.80}.") from None
    problem = _history_problem(numbers)  # what load_history would refuse: never written
    if problem:
        what_to_do = accuracy_named_acc(numbers) or "Pass the History that fit returned."
        raise SettingsError(f"save_history was given a history that could not be loaded back: "
                            f"{problem}. {what_to_do} The folder's {HISTORY_FILE} was left as "
                            "it was.")
    weights = _fingerprint_of(history)
    if weights is not None:  # so that load_trained_model can tell a model saved at another time
        numbers[WEIGHTS_KEY] = weights
    return write_json(folder / HISTORY_FILE, numbers)


def _fingerprint_of(history) -> str | None:
    """The fingerprint of the weights the history's `fit` ended with: the one `train` (and
    `ResumableTraining.finish`) stamped on it, which a later `fit` of the model does not
    change; for a plain `model.fit` History, that of its model's weights now; None for a dict."""
    stamped = getattr(history, "weights_fingerprint", None)
    if isinstance(stamped, str):
        return stamped
    model = getattr(history, "model", None)  # a History knows the model fit trained
    if isinstance(model, keras.Model) and model.built:
        from cnn_lesson.backup.saved import weights_fingerprint

        return weights_fingerprint(model)
    return None


def accuracy_named_acc(values) -> str | None:
    """What to do about a history whose accuracy is named "acc" (a model compiled with
    metrics=["acc"]), which the lessons do not read; None for any other history. Used by
    `save_history` and the plots of training curves."""
    if isinstance(values, Mapping) and "acc" in values and "accuracy" not in values:
        return ('The model was compiled with metrics=["acc"], so its history names the accuracy '
                '"acc", where the lessons read "accuracy": compile it with metrics=["accuracy"] '
                "(as compile_model does) and train again.")
    return None


def _text_key(key) -> str:
    if not isinstance(key, str):
        raise TypeError(f"key {key!r} is not text")
    return key


def _series(series):
    if isinstance(series, (str, bytes, dict, set, frozenset)) or not hasattr(series, "__len__"):
        raise TypeError(f"{type(series).__name__} is not a list of numbers")
    return series


def _number(value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{value!r} is not a number")
    return float(value)  # OverflowError for 10**400


@checked
def load_history(output_dir: str | os.PathLike) -> dict[str, list[float]]:
    """Load the `history.json` that lesson 3 saved.

    Raises:
        ModelFileError: it is missing or not a history.
    """
    return _read_history(output_dir)[0]


def _read_history(output_dir) -> tuple[dict[str, list[float]], str | None]:
    """`load_history`'s history, and the fingerprint of the weights of the model it was saved
    with (None in a file saved without one)."""
    if not isinstance(output_dir, (str, os.PathLike)):
        raise SettingsError(f"load_history needs the folder's path, not "
                            f"{type(output_dir).__name__} {output_dir!r:.80}.")
    folder = user_path(output_dir, "load_history", ModelFileError)
    if folder.is_file():  # history.json/history.json is "not a folder": say so
        raise SettingsError(f"load_history takes the folder that holds {HISTORY_FILE}, such as "
                            f"output_dir, not a file's path ({shown(output_dir)}).")
    path = folder / HISTORY_FILE
    try:
        values = read_json(path)
    except OSError as error:  # not "damaged": a link loop, a file one may not read
        problem = link_problem(path)  # also for a link to nothing: not "No training history"
        if problem is None and isinstance(error, FileNotFoundError):
            raise ModelFileError(f"No training history at {path}. {HOW_TO_MAKE_A_MODEL}") \
                from None
        why = problem or (f"{reason(error)}. Make it readable (e.g. `chmod u+r`), or train "
                          "again: " + HOW_TO_MAKE_A_MODEL[0].lower() + HOW_TO_MAKE_A_MODEL[1:])
        raise ModelFileError(f"{shown(path)} cannot be read: {why}") from None
    except ValueError as error:
        raise ModelFileError(f"{path} is damaged ({error}). {HOW_TO_MAKE_A_MODEL}") from error
    if not isinstance(values, dict):
        raise ModelFileError(f"{path} holds no training history. {HOW_TO_MAKE_A_MODEL}")
    weights = values.pop(WEIGHTS_KEY, None)
    problem = _history_problem(values)
    if weights is not None and not isinstance(weights, str):
        problem = f"{WEIGHTS_KEY!r} is not a fingerprint"
    if problem:
        raise ModelFileError(f"{path} is damaged: {problem}. {HOW_TO_MAKE_A_MODEL}")
    return values, weights


def _history_problem(values: dict) -> str | None:
    """What is wrong with a loaded history, or None: every metric a list of numbers; `loss`,
    `accuracy` and the other metrics the lessons draw (when present) one finite value per
    epoch each."""
    for key, series in values.items():
        if not isinstance(series, list) or not all(
            isinstance(value, (int, float)) and not isinstance(value, bool) for value in series
        ):
            return f"{key!r} is not a list of numbers, one per epoch"
    for key in ("loss", "accuracy"):
        if key not in values:
            return f"it has no {key!r}"
    epochs = len(values["loss"])
    for key in (key for key in PER_EPOCH if key in values):
        series = values[key]
        if not series:
            return f"{key!r} holds no epochs"
        if len(series) != epochs:
            return f"{key!r} has {len(series)} value(s) and 'loss' {epochs}: one per epoch each"
        if not all(isinstance(value, int) or math.isfinite(value) for value in series):
            return (f"{key!r} holds NaN or an infinite value (the training diverged, or the "
                    "file was changed)")
    return None


STAND_IN_FOLDER = "stand_in"


class TrainedModel(NamedTuple):
    """What lesson 4 shows: the model, its history, where its files are and what it is.

    Returned by `load_trained_model`. Used by lesson 4 (`04_results.ipynb`).

    Attributes:
        model: the compiled model, ready to evaluate and predict.
        history: its training history (`accuracy`, `val_accuracy`, `loss`, `val_loss`, ...).
        folder: the folder holding its `model.keras` and `model.h5`: the output folder for
            lesson 3's model, its `stand_in/` subfolder for the stand-in.
        stand_in: True for the quick stand-in trained because lesson 3's model is missing.
        description: one line saying what the model is, without the folder's full path.
    """

    model: keras.Model
    history: dict[str, list[float]]
    folder: Path
    stand_in: bool
    description: str

    @property
    def kind(self) -> str:
        """What the model is, for checkpoints' messages: the stand-in or lesson 3's model."""
        return "the quick stand-in" if self.stand_in else "lesson 3's model"

    @property
    def full_run(self) -> bool:
        """Lesson 3's model after all the lesson's epochs: only then must its accuracy be in
        a full run's range (not for the stand-in, nor for a shorter run)."""
        from cnn_lesson.config import LESSON_EPOCHS

        return not self.stand_in and len(self.history.get("loss", [])) >= LESSON_EPOCHS


def _check_saved_together(folder: Path, model: keras.Model, weights: str | None) -> None:
    """A `ModelFileError` when the folder's `history.json` was saved with a model in another
    state than its `model.keras` (one of them saved again after more training, or copied in
    from another run): lesson 4 would show the curves of one model beside the results of
    another."""
    from cnn_lesson.backup.saved import weights_fingerprint

    if weights is not None and weights != weights_fingerprint(model):
        raise ModelFileError(
            f"{folder / MODEL_FILES[0]} and {folder / HISTORY_FILE} do not belong together: the "
            "history is of the model in another state (the model trained on after the training "
            "the history records, one of the two files was saved again after more training, or "
            "one was copied in from another run). Run lesson 3's saving cell again right after "
            "its training cell, which saves both, or train again (notebooks/03_training.ipynb, "
            "or `python -m cnn_lesson train`).")


def _epochs(history: dict[str, list[float]]) -> str:
    count = len(history.get("loss", history.get("accuracy", [])))
    return f"{count} epoch{'' if count == 1 else 's'}"


def _check_train_data(train_data) -> None:
    """`(train_images, train_labels)` as `load_cifar10` gives them, or a `DataError`."""
    from cnn_lesson.data import IMAGE_SHAPE
    from cnn_lesson.data.checks import checked_images_and_labels

    try:
        images, labels = train_data
    except (TypeError, ValueError):
        raise DataError("train_data must be (train_images, train_labels), as load_cifar10 "
                        "returns them.") from None
    try:
        checked_images_and_labels(images, labels, image_shape=IMAGE_SHAPE, at_least=2)
    except DataError as error:
        raise DataError(f"train_data, for the stand-in: {error}") from None


@checked
def load_trained_model(
    output_dir: str | os.PathLike,
    train_data: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    quick_images: int = 10_000,
) -> TrainedModel:
    """The model and history lesson 3 saved; or, when there are none, a quick stand-in.

    Lesson 4 runs on its own in a fresh kernel. With lesson 3's `model.keras` (or its
    `history.json`) in the output folder, both are loaded; a damaged or half-saved one
    raises, and is never replaced. Without them, a stand-in is trained for one epoch on
    `quick_images` training images, so the lesson can still be followed, and saved in the
    `stand_in/` subfolder: never as the output folder's `model.keras`, so it can never pass
    for lesson 3's model. Every later call without lesson 3's model trains the stand-in again
    (about half a minute on 2 cores), and says so again. Either way, one line on stdout says
    what the model is.

    Used by lesson 4 (`04_results.ipynb`).

    Args:
        output_dir: the lessons' output folder.
        train_data: `(train_images, train_labels)` for the stand-in.
        seed: the random seed of the stand-in.
        quick_images: how many images the stand-in trains on (in quick mode at most 2,000,
            `Settings.training_images`, like every training of the course).

    Returns:
        A `TrainedModel` (model, history, folder, stand_in, description).

    Raises:
        ModelFileError: lesson 3's model or history exists but cannot be loaded.
        OutputError: `output_dir` is a file, or the stand-in's folder cannot be written.
        DataError: the stand-in is needed and `train_data` is not CIFAR-10-shaped.
        SettingsError: `seed` or `quick_images` is out of range.
    """
    from cnn_lesson.files import prepare_output_dir
    from cnn_lesson.model import create_model
    from cnn_lesson.training import (
        compile_model, one_cycle_schedule, split_validation, steps_per_epoch, train,
    )

    if not isinstance(output_dir, (str, os.PathLike)):
        raise OutputError(f"output_dir must be a folder's path, not {type(output_dir).__name__} "
                          f"{output_dir!r}: pass settings().output_dir.")
    folder = user_path(output_dir, "output_dir", OutputError)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file, not the output folder. Pass the folder lesson 3 "
                          "saved into (settings().output_dir, CNN_LESSON_OUTPUT).")
    if not folder.exists() and os.fspath(output_dir) != os.fspath(output_dir).strip():
        # "output " trained a stand-in in a new folder beside lesson 3's model
        raise OutputError(f"There is no folder {shown(output_dir)!r}, with spaces around its "
                          f"name: did you mean {shown(output_dir).strip()!r}? Pass the folder "
                          "lesson 3 saved into (settings().output_dir).")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed <= MAX_SEED:
        raise SettingsError(f"seed={seed!r}: use a whole number from 0 to {MAX_SEED:,}.")
    if isinstance(quick_images, bool) or not isinstance(quick_images, (int, np.integer)) \
            or quick_images < 1:
        raise SettingsError(f"quick_images={quick_images!r}: use a whole number of at least 1.")
    from cnn_lesson.config import settings

    seed = int(seed)  # Keras' set_random_seed refuses numpy's integers
    quick_images = settings().training_images(quick_images)
    if (folder / MODEL_FILES[0]).exists() or (folder / HISTORY_FILE).exists():
        model, (history, weights) = load_model(folder / MODEL_FILES[0]), _read_history(folder)
        _check_saved_together(folder, model, weights)
        missing = [key for key in ("val_loss", "val_accuracy") if key not in history]
        if missing:  # lesson 4 plots and compares them
            raise ModelFileError(
                f"{folder / HISTORY_FILE} is damaged: it has no {' or '.join(map(repr, missing))}"
                f", which lesson 4 shows. {HOW_TO_MAKE_A_MODEL}")
        shapes = (tuple(model.input_shape[1:]), tuple(model.output_shape[1:]))
        if shapes != ((32, 32, 3), (10,)):
            raise ModelFileError(
                f"{folder / MODEL_FILES[0]} is a model for other data: it takes {shapes[0]} and "
                f"answers {shapes[1]}, where lesson 4 needs a CIFAR-10 model, (32, 32, 3) to 10 "
                f"classes. It was left as it is. {HOW_TO_MAKE_A_MODEL}")
        description = (f"Loaded {MODEL_FILES[0]} from the output folder: lesson 3's model, "
                       f"{_epochs(history)} of training.")
        print(description)
        return TrainedModel(model, history, folder, False, description)

    _check_train_data(train_data)
    keras.utils.set_random_seed(seed)
    train_part, validation_part = split_validation(*train_data, seed=seed,
                                                   max_train_images=quick_images)
    description = (
        f"No model from lesson 3 in the output folder: training a quick STAND-IN (1 epoch on "
        f"{len(train_part[0]):,} images), saved in its {STAND_IN_FOLDER}/ subfolder. Its "
        "results will be poor: run lesson 3 for the real thing."
    )
    # Before training: a folder behind a link to nothing was refused after the training.
    stand_in_folder = prepare_output_dir(folder / STAND_IN_FOLDER)
    print(description)
    model = create_model()
    compile_model(model, one_cycle_schedule(steps_per_epoch(len(train_part[0]))))
    history = train(model, train_part, validation_part, epochs=1, seed=seed, verbose=0)
    save_model(model, stand_in_folder)
    save_history(history, stand_in_folder)
    return TrainedModel(model, load_history(stand_in_folder), stand_in_folder, True,
                        description)
