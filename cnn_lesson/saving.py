"""Saving the trained model and loading it back, safely.

Used by lesson 3 (`03_training.ipynb`), which saves the model, and lesson 4
(`04_results.ipynb`), which loads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from cnn_lesson.errors import ModelFileError
from cnn_lesson.files import atomic_path
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


def save_model(model: keras.Model, output_dir: str | os.PathLike) -> dict[str, Path]:
    """Save the model as `model.keras` (Keras' own format) and `model.h5` (the older HDF5).

    The `.h5` file is written from a copy of the model: Keras 3 replaces the optimizer of a
    model object it saves as `.h5`, which would spoil every later `.keras` save of it (and
    learners do run the saving cell twice). Both files are written atomically, so an
    interrupted save leaves the previous files intact. A model trained in mixed precision
    is saved as its float32 copy (`cnn_lesson.precision.float32_copy`): the same weights and
    optimizer state, loadable and fast everywhere.

    Args:
        model: the trained model.
        output_dir: the folder to save into (it must exist).

    Returns:
        `{"keras": path, "h5": path}`.
    """
    folder = Path(output_dir)
    model = float32_copy(model)  # the same model if it already computes in float32
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    paths = {}
    for name, source in zip(MODEL_FILES, (model, copy)):
        path = folder / name
        with atomic_path(path) as temporary, _quiet_legacy_format_warning():
            source.save(temporary)
        paths[path.suffix.lstrip(".")] = path
    return paths


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

    file = Path(path)
    if not file.is_file():
        raise ModelFileError(f"No saved model at {file}. {HOW_TO_MAKE_A_MODEL}")
    if file.suffix not in (".keras", ".h5"):
        raise ModelFileError(f"{file} is not a .keras or .h5 model file. {HOW_TO_MAKE_A_MODEL}")
    if file.suffix == ".keras" and not zipfile.is_zipfile(file):
        raise ModelFileError(
            f"{file} is not a complete .keras model (truncated or not a model). "
            f"{HOW_TO_MAKE_A_MODEL}"
        )
    try:
        if file.suffix == ".h5":
            return compile_model(keras.models.load_model(file, compile=False))
        return keras.models.load_model(file)
    except Exception as error:  # Keras raises many types for a damaged file
        raise ModelFileError(
            f"{file} could not be loaded as a Keras model ({type(error).__name__}: "
            f"{str(error)[:200]}). The file is damaged or not a model. {HOW_TO_MAKE_A_MODEL}"
        ) from error


HISTORY_FILE = "history.json"


def save_history(history, output_dir: str | os.PathLike) -> Path:
    """Save a training history (a Keras `History` or its dict) as `history.json`, atomically.

    Used by lesson 3, so that lesson 4 can plot the history in a fresh kernel.
    """
    from cnn_lesson.files import write_json

    values = getattr(history, "history", history)
    return write_json(Path(output_dir) / HISTORY_FILE,
                      {key: [float(v) for v in series] for key, series in values.items()})


def load_history(output_dir: str | os.PathLike) -> dict[str, list[float]]:
    """Load the `history.json` that lesson 3 saved.

    Raises:
        ModelFileError: it is missing or not a history.
    """
    import json

    path = Path(output_dir) / HISTORY_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"No training history at {path}. {HOW_TO_MAKE_A_MODEL}") from None
    except (OSError, ValueError) as error:
        raise ModelFileError(f"{path} is damaged ({error}). {HOW_TO_MAKE_A_MODEL}") from error
    if not isinstance(values, dict) or "accuracy" not in values:
        raise ModelFileError(f"{path} holds no training history. {HOW_TO_MAKE_A_MODEL}")
    return values


def load_trained_model(
    output_dir: str | os.PathLike,
    train_data: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    quick_images: int = 2_000,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """The model and history lesson 3 saved; or, when there are none, a quick stand-in.

    Lesson 4 runs on its own in a fresh kernel. When lesson 3 has not been run (no
    `model.keras` in the output folder), this says so on stderr, trains a one-epoch model on
    `quick_images` training images and saves it, so the lesson can still be followed. An
    existing but damaged model is never replaced: that raises instead.

    Used by lesson 4 (`04_results.ipynb`).

    Args:
        output_dir: the lessons' output folder.
        train_data: `(train_images, train_labels)` for the stand-in.
        seed: the random seed of the stand-in.
        quick_images: how many images the stand-in trains on.

    Returns:
        `(model, history)`.

    Raises:
        ModelFileError: a saved model or history exists but cannot be loaded.
    """
    import warnings

    from cnn_lesson.model import create_model
    from cnn_lesson.training import (
        compile_model, one_cycle_schedule, split_validation, steps_per_epoch, train,
    )

    folder = Path(output_dir)
    if (folder / MODEL_FILES[0]).exists() or (folder / HISTORY_FILE).exists():
        return load_model(folder / MODEL_FILES[0]), load_history(folder)
    warnings.warn(
        f"No trained model in {folder}: run notebooks/03_training.ipynb first for the real "
        f"one. Training a quick stand-in (1 epoch on {quick_images:,} images) so that this "
        "lesson can run; its results will be poor.",
        stacklevel=2,
    )
    keras.utils.set_random_seed(seed)
    train_part, validation_part = split_validation(*train_data, seed=seed, max_train_images=quick_images)
    model = create_model()
    compile_model(model, one_cycle_schedule(steps_per_epoch(len(train_part[0]))))
    history = train(model, train_part, validation_part, epochs=1, seed=seed, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, folder)
    save_history(history, folder)
    return model, history.history
