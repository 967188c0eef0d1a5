"""Training the lesson's model: preparing data, compiling, fitting, evaluating.

Used by lesson 3 (`03_training.ipynb`) and the command line (`python -m cnn_lesson train`).
Saving and loading models lives in `cnn_lesson.saving`.
"""

from __future__ import annotations

import numbers
import os
from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from cnn_lesson.arguments import checked
from cnn_lesson.backup import resumable_training
from cnn_lesson.data.checks import checked_images_and_labels, class_numbers
from cnn_lesson.config import share, whole_number
from cnn_lesson.errors import DataError, LessonOrderError, SettingsError
from cnn_lesson.model_checks import (
    check_classifier, check_compiled_for_labels, check_images_fit, check_labels_fit,
    check_savable,
)
from cnn_lesson.precision import inner_optimizer

BATCH_SIZE = 128
MAX_BATCH_SIZE = 65_536  # far above any lesson's; 2**70 reached TensorFlow as a raw error
PEAK_LEARNING_RATE = 2e-3
# Learning rates the optimizer can hold: Keras keeps them as float32, where 1e-300 is 0 (no
# training at all) and 1e40 infinite. Both ends are far beyond any rate that learns.
MIN_LEARNING_RATE, MAX_LEARNING_RATE = 1e-20, 1e20
VALIDATION_FRACTION = 0.1


@checked
def normalize_images(images: np.ndarray) -> np.ndarray:
    """Scale uint8 pixels (0..255) to float32 values in 0..1, the range the model expects.

    Used by lesson 1 (before/after normalising) and lesson 4 (predictions).

    Args:
        images: uint8 array of shape (N, 32, 32, 3).

    Returns:
        A float32 array of the same shape. float32 rather than numpy's default float64
        halves the memory and is what Keras computes in anyway.

    Raises:
        DataError: not pixel values, or floats already in 0..1 (normalised once already).
    """
    try:
        array = np.asarray(images)
    except ValueError:  # a ragged list
        array = np.asarray(None)
    # Only images of numbers from 0 to 255: None became NaN, text became numbers, negative or
    # 16-bit pixels were scaled out of 0..1, complex ones lost their imaginary part, and a
    # single number became a number.
    if array.ndim < 3 or array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)) or not array.size \
            or not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 255:
        raise DataError(f"normalize_images needs pixel values from 0 to 255 (the uint8 images "
                        f"load_cifar10 gives), not {type(images).__name__} {images!r:.60}.")
    pixels = array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.integer) and 0.0 < float(pixels.max()) <= 1.0:
        # Divided by 255 again, they would be near-black pictures that still train, badly.
        raise DataError("These images are already normalised (floats from 0 to 1): "
                        "normalize_images takes the uint8 images (0..255) and is applied once. "
                        "Pass the images as load_cifar10 gives them.")
    return pixels / np.float32(255.0)


@checked
def split_validation(
    images: np.ndarray,
    labels: np.ndarray,
    fraction: float = VALIDATION_FRACTION,
    seed: int = 0,
    max_train_images: int | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out a random `fraction` of the training images as a validation set.

    The validation set measures progress during training; the test set is kept for one
    final measurement at the end. Used by lesson 3 and the command line.

    Args:
        images: training images, shape (N, 32, 32, 3).
        labels: their labels, shape (N, 1) or (N,).
        fraction: the share held out, strictly between 0 and 1.
        seed: the random seed of the shuffle.
        max_train_images: keep at most this many training images (quick mode passes
            `Settings.max_train_images`, 2,000); None keeps all. The validation set is the
            same either way.

    Returns:
        `(train_images, train_labels), (validation_images, validation_labels)`.

    Raises:
        SettingsError: `fraction` is not between 0 and 1.
        DataError: the labels are not class numbers 0..9, one per image, or `fraction` leaves
            no image to train on.
    """
    # numbers.Real: numpy's float32 and Fractions too (np.float32(0.1) was refused)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) \
            or not 0.0 < fraction < 1.0:
        raise SettingsError(f"fraction must be between 0 and 1 (exclusive), got {fraction!r}.")
    fraction = float(fraction)
    seed = whole_number("seed", seed, 0)
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) != len(labels):
        raise DataError(f"{len(images):,} images but {len(labels):,} labels: they must pair up.")
    if len(images) < 2:
        raise DataError(f"{len(images)} image(s): a validation set and a training set need at "
                        "least 2.")
    class_numbers(labels, count=len(images))
    order = np.random.default_rng(seed).permutation(len(images))
    held_out = max(1, int(round(len(images) * fraction)))
    if held_out >= len(images):
        raise DataError(f"fraction={fraction} of {len(images):,} images holds out all of them and "
                        "leaves none to train on: use a smaller fraction, such as 0.1.")
    validation, train = order[:held_out], order[held_out:]
    if max_train_images is not None:
        whole_number("max_train_images", max_train_images)
        train = np.sort(train[:max_train_images])
    return (images[train], labels[train]), (images[validation], labels[validation])


@checked
def take_subset(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pick `count` random images and their labels (quick mode trains on a subset).

    Args:
        images: the images.
        labels: their labels.
        count: how many to keep; all of them if `count` is at least their number.
        seed: the random seed.

    Returns:
        `(images, labels)` of the subset, in a random order.
    """
    count, seed = whole_number("count", count), whole_number("seed", seed, 0)
    images, labels = np.asarray(images), np.asarray(labels)  # lists cannot be indexed by a list
    if len(images) != len(labels):
        raise DataError(f"{len(images):,} images but {len(labels):,} labels: they must pair up.")
    if count >= len(images):
        return images, labels
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), size=count, replace=False))
    return images[chosen], labels[chosen]


@checked
def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int = BATCH_SIZE,
    shuffle: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of (normalised images, labels) for Keras, from uint8 arrays.

    The images stay uint8 in memory (150 MB for CIFAR-10's training set instead of 1.2 GB
    as float64) and are scaled to 0..1 batch by batch.

    Args:
        images: uint8 images, shape (N, 32, 32, 3).
        labels: labels, shape (N, 1) or (N,).
        batch_size: images per batch.
        shuffle: reshuffle the order every epoch (for training).
        seed: seed of the shuffle.

    Returns:
        A `tf.data.Dataset` of `(float32 images, labels)` batches.
    """
    images, labels = checked_images_and_labels(images, labels)
    # One shape, whichever came in: Keras traces a model once per label shape, and a model
    # trained on (N, 1) labels then evaluated on (N,) ones failed inside Keras. (N, 1), as
    # load_cifar10 gives them, so that a model.fit of one's own on those labels agrees too.
    labels = labels.reshape(-1, 1)
    batch_size = whole_number("batch_size", batch_size, maximum=MAX_BATCH_SIZE)
    scale = 1 / 255.0 if np.issubdtype(images.dtype, np.integer) else 1.0  # floats: 0..1
    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32) * scale, y))
    # Fixed settings instead of tf.data's autotuning: scaling a batch is cheap, and two
    # batches ready ahead keep 2 CPU cores busy. Autotuning cost nothing per step, but every
    # time an iterator ended (at each epoch Keras makes new ones, and at the end of `fit`)
    # its tuning thread held things up: 18 s per epoch of 45,000 images that trained in
    # 20 s, and 48 s at the end of a 10-epoch fit (measured here, README "Performance").
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


@checked
def one_cycle_schedule(
    total_steps: int, peak_learning_rate: float = PEAK_LEARNING_RATE, warmup_fraction: float = 0.3
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A one-cycle learning rate: warm up linearly to a peak, then decay along a cosine.

    Keras' `CosineDecay` with a warm-up is exactly this, so we use it. Used by lesson 3.

    Args:
        total_steps: the number of batches the whole training will run.
        peak_learning_rate: the learning rate at the top of the warm-up.
        warmup_fraction: the share of the steps spent warming up.

    Returns:
        A schedule to pass as `learning_rate` to `compile_model`.
    """
    # TensorFlow counts steps in 32-bit integers: 2**70 failed only once training began.
    total_steps = whole_number("total_steps", total_steps, maximum=2**31 - 1)
    if isinstance(peak_learning_rate, bool) or not isinstance(peak_learning_rate, numbers.Real) \
            or not MIN_LEARNING_RATE <= peak_learning_rate <= MAX_LEARNING_RATE:
        raise SettingsError(f"peak_learning_rate={peak_learning_rate!r:.60}: use a number from "
                            f"{MIN_LEARNING_RATE:g} to {MAX_LEARNING_RATE:g}, such as 2e-3.")
    peak_learning_rate = float(peak_learning_rate)  # TensorFlow refuses Fractions
    warmup_fraction = share("warmup_fraction", warmup_fraction, 0.3)
    warmup_steps = int(total_steps * warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=0.01,
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


@checked
def compile_model(
    model: keras.Model,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
) -> keras.Model:
    """Compile with Adam, sparse categorical cross-entropy and accuracy.

    Used by lesson 3 and after loading a `.h5` model in lesson 4.

    Args:
        model: the model to compile.
        learning_rate: a number, or a schedule such as `one_cycle_schedule(...)`.

    Returns:
        The same model, compiled.
    """
    check_classifier(model, "compile_model")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule) and (
            isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real)
            or not MIN_LEARNING_RATE <= learning_rate <= MAX_LEARNING_RATE):
        raise SettingsError(f"learning_rate={learning_rate!r:.60}: use a number from "
                            f"{MIN_LEARNING_RATE:g} to {MAX_LEARNING_RATE:g} such as 1e-3, or a "
                            "schedule such as one_cycle_schedule(total_steps).")
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = float(learning_rate)  # Keras refuses ints, numpy's and Fractions
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


@checked
def build_model(
    model_fn=None,
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    strategy: tf.distribute.Strategy | None = None,
) -> keras.Model:
    """Create and compile a model inside a `tf.distribute` strategy's scope.

    With the default (None) this is TensorFlow's default strategy: one CPU or GPU. A learner
    with several GPUs passes `tf.distribute.MirroredStrategy()` and the same lesson code
    trains on all of them (each batch is split between the GPUs). Used by lesson 5 and the
    README's "more than one GPU" section.

    Args:
        model_fn: a function returning an uncompiled model (default: `create_model`).
        learning_rate: a number or a schedule, as for `compile_model`.
        strategy: the distribution strategy; None means `tf.distribute.get_strategy()`.

    Returns:
        The compiled model, its variables placed by the strategy.
    """
    if model_fn is None:
        from cnn_lesson.model import create_model as model_fn
    if not callable(model_fn) or isinstance(model_fn, keras.Model):  # a model is callable too
        raise SettingsError(f"model_fn must be a function that returns a model, such as "
                            f"create_model (no brackets), not {type(model_fn).__name__}.")
    with checked_strategy(strategy).scope():
        try:
            model = model_fn()
        except TypeError as error:  # e.g. a function that wants arguments
            raise SettingsError(f"model_fn could not be called without arguments ({error}): "
                                "pass a function such as create_model, or "
                                "lambda: create_model(dropout=False).") from error
        if not isinstance(model, keras.Model):
            raise SettingsError(f"model_fn returned {type(model).__name__}, not a Keras model: "
                                "it must end with `return model`.")
        return compile_model(model, learning_rate=learning_rate)


def checked_strategy(strategy) -> tf.distribute.Strategy:
    """The strategy to build in (TensorFlow's default for None), or a SettingsError: @checked
    lets anything through for a class annotation, and text failed with "'str' object has no
    attribute 'scope'". Used by `build_model` and lesson 5's `build_further_model`."""
    if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise SettingsError(f"strategy={strategy!r:.40}: pass a tf.distribute strategy, such as "
                            "tf.distribute.MirroredStrategy(), or None for one CPU or GPU.")
    return strategy or tf.distribute.get_strategy()


def checked_callbacks(callbacks, scheduled: bool = False) -> list[keras.callbacks.Callback]:
    """`callbacks` as a list of Keras callbacks (a generator is read once, here), or a
    SettingsError. Used by `train` and `cnn_lesson.further.train_further`.

    With `scheduled` (the optimizer's rate is a schedule, such as `one_cycle_schedule`), a
    callback that sets the learning rate is refused too: Keras cannot set a scheduled rate
    and fails in the middle of training, its epochs lost."""
    if isinstance(callbacks, (keras.callbacks.Callback, str, bytes)) \
            or not hasattr(callbacks, "__iter__"):
        raise SettingsError(f"callbacks={callbacks!r:.40}: pass a list of Keras callbacks, "
                            "such as [live_training_plot()].")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise SettingsError(f"callbacks holds {callback!r:.40}, which is not a Keras "
                                "callback: pass a list of them, such as "
                                "[live_training_plot()].")
        if scheduled and isinstance(callback, RATE_CALLBACKS):
            raise SettingsError(
                f"callbacks holds a {type(callback).__name__}, which sets the learning rate, "
                "but the optimizer's rate follows a schedule (compile_model's one-cycle "
                "schedule), which Keras cannot change during training. Drop the callback, or "
                "compile with a constant rate it can change: compile_model(model, 1e-3).")
    return callbacks


# Keras' callbacks that set the optimizer's learning rate as training goes.
RATE_CALLBACKS = (keras.callbacks.LearningRateScheduler, keras.callbacks.ReduceLROnPlateau)


def has_scheduled_rate(model: keras.Model) -> bool:
    """Whether the model's optimizer takes its learning rate from a schedule. (Keras keeps it
    in a private attribute: the public `learning_rate` gives the current value.) The rate of
    a `LossScaleOptimizer` (mixed_float16's) is its inner optimizer's: its own is a plain
    variable that a rate callback cannot set either."""
    optimizer = inner_optimizer(getattr(model, "optimizer", None))
    rate = getattr(optimizer, "_learning_rate", None)
    return isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) or callable(rate)


def check_optimizer_is_the_models(model: keras.Model) -> None:
    """A `SettingsError` when the model's optimizer was built for other variables than the
    ones the model trains, and Keras has not prepared its training yet: `fit` would fail on
    its first step with Keras' "Unknown variable". This is so for a `.h5` file loaded by
    `keras.models.load_model` with its compile state (Keras 3 builds its optimizer for none of
    the model's variables), and for a layer unfrozen after loading a model. A layer frozen or
    unfrozen between two `train` calls on the same model is left to Keras, which trains on
    as prepared."""
    optimizer = inner_optimizer(model.optimizer)
    if not getattr(optimizer, "built", False) \
            or getattr(model, "train_function", None) is not None:  # fit has run on it
        return
    try:
        known = optimizer._trainable_variables_indices  # Keras' record of what it was built for
        unknown = [variable for variable in model.trainable_variables
                   if optimizer._var_key(variable) not in known]
    except (AttributeError, TypeError):  # another Keras: left to it
        return
    if unknown:
        name = getattr(unknown[0], "path", unknown[0].name)
        raise SettingsError(
            f"The model's optimizer was built for other variables than the model's own (such as "
            f"{name}), as with a .h5 file loaded by keras.models.load_model or a layer unfrozen "
            "after loading: Keras cannot train it so. Load the file with load_model from "
            "cnn_lesson, or compile it again first with compile_model(model).")


def built_for(model: keras.Model, images, caller: str) -> None:
    """Build a `keras.Sequential` without `keras.Input` from the images' shape, as `fit`
    would, so that it is checked like any other (`check_classifier`) before it trains."""
    if model.built or not isinstance(model, keras.Sequential):
        return
    try:
        model.build((None, *np.shape(images)[1:]))
    except (ValueError, TypeError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise SettingsError(f"{caller}: the model cannot take images of shape "
                            f"{np.shape(images)} ({reason}). Start it with "
                            "keras.Input((32, 32, 3)), as create_model does.") from None
    check_classifier(model, caller)


@checked
def steps_per_epoch(image_count: int, batch_size: int = BATCH_SIZE) -> int:
    """How many batches one pass over `image_count` images takes."""
    image_count = whole_number("image_count", image_count)
    return -(-image_count // whole_number("batch_size", batch_size))


def require_arrays(**arrays) -> None:
    for name, value in arrays.items():
        if value is None:
            raise LessonOrderError(
                f"`{name}` is empty: run the cells that load and split the data first "
                "(Kernel > Restart Kernel and Run All Cells runs them in order)."
            )


@checked
def train(
    model: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
    epochs: int = 10,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    output_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 2,
    run: Mapping[str, object] | None = None,
    keep_unsaved: bool = False,
) -> keras.callbacks.History:
    """Fit a compiled model, printing one line per epoch; resumable when `output_dir` is set.

    With an `output_dir`, the training state is backed up there after every epoch
    (`training_backup/`), so after an interrupted kernel or a killed process the same call
    continues from the last finished epoch; the best model so far (by validation accuracy)
    is kept as `best_model.keras`. A finished run keeps its backup until its model is saved
    in `output_dir` (`save_model`): run again on a new model before that, it restores the
    trained weights instead of training again (see `resumable_training`). A backup continues
    only the same run: the seed, the number of training images, the data (a fingerprint of
    the validation set), the model, its precision and the epochs must match.

    Used by lesson 3 and the command line.

    Args:
        model: a compiled model (see `compile_model`).
        train_data: `(train_images, train_labels)`, uint8 images.
        validation_data: `(validation_images, validation_labels)`.
        epochs: total epochs, counting those done before an interruption.
        batch_size: images per batch.
        seed: seed of the shuffling.
        output_dir: where to keep the backup and the best model; None keeps nothing.
        fresh: start over, discarding an existing backup.
        callbacks: more Keras callbacks (e.g. a live plot; on a resume, one with a
            `show_earlier_epochs(history)` method is given the earlier epochs first).
        verbose: 2 prints one line per epoch, 0 prints nothing.
        run: more facts naming the run in the backup, e.g. `{"data source": label}`
            (shown when a backup belongs to another run).
        keep_unsaved: refuse another run while a finished run's model is not saved in
            `output_dir` (see `resumable_training`; the command line passes True).

    Returns:
        The `History`; its `.history` holds every epoch, including ones before a resume,
        and `seconds`, the training time at the end of each epoch; `.seconds` is the total.

    Raises:
        LessonOrderError: the model is not compiled or the data is missing.
        ValueError: an impossible argument (epochs or batch size below 1).
        BackupError: the backup in `output_dir` is another run's or damaged, or another
            run is using the folder (or, with `keep_unsaved`, it holds a finished run whose
            model was never saved).
    """
    require_arrays(train_data=train_data, validation_data=validation_data)
    check_classifier(model, "train")
    if getattr(model, "optimizer", None) is None or not model.compiled:
        raise LessonOrderError(
            "The model is not compiled: run the cell with `compile_model(model)` first."
        )
    check_compiled_for_labels(model)
    check_optimizer_is_the_models(model)
    epochs, batch_size = whole_number("epochs", epochs), whole_number("batch_size", batch_size)
    seed = whole_number("seed", seed, 0)
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise SettingsError(f"output_dir must be a folder's path or None, not "
                            f"{type(output_dir).__name__} {output_dir!r}.")
    train_images, train_labels = checked_pair("train_data", train_data)
    validation_images, validation_labels = checked_pair("validation_data", validation_data)
    check_images_fit(model, training=train_images, validation=validation_images)
    check_labels_fit(model, training=train_labels, validation=validation_labels)
    built_for(model, train_images, "train")
    training_set = make_dataset(train_images, train_labels, batch_size, shuffle=True, seed=seed)
    validation_set = make_dataset(validation_images, validation_labels, batch_size)

    if output_dir is not None:  # before the folder is locked or anything is written
        check_savable(model, "train with an output_dir")
    callbacks = checked_callbacks(callbacks, scheduled=has_scheduled_rate(model))
    progress = resumable_training(
        output_dir, fresh, verbose, run={**(run or {}), "batch size": batch_size},
        data=((train_images, train_labels), (validation_images, validation_labels)), seed=seed,
        keep_unsaved=keep_unsaved)
    if progress.resumed_epochs:  # plots start with the earlier epochs
        for callback in callbacks:
            if hasattr(callback, "show_earlier_epochs"):  # e.g. the live plot
                callback.show_earlier_epochs(progress.history)
    try:
        history = model.fit(
            training_set,
            validation_data=validation_set,
            epochs=epochs,
            callbacks=[*progress.callbacks, *callbacks],
            verbose=verbose,
            shuffle=False,  # the dataset reshuffles itself every epoch (see make_dataset)
        )
    finally:
        progress.release()  # the output folder is free again, also after an interruption
    return progress.finish(history)


@checked
def evaluate(
    model: keras.Model, test_images: np.ndarray, test_labels: np.ndarray, batch_size: int = 256
) -> tuple[float, float]:
    """Measure loss and accuracy on the test set, once, at the end. Used by lessons 3 and 4.

    Returns:
        `(test_loss, test_accuracy)`.
    """
    require_arrays(test_images=test_images, test_labels=test_labels)
    check_classifier(model, "evaluate")
    if not getattr(model, "compiled", False):
        raise LessonOrderError("The model is not compiled, so it has no loss or accuracy to "
                               "measure: run the cell with `compile_model(model)` first (a "
                               "model from `load_model` is compiled already).")
    check_compiled_for_labels(model)
    check_images_fit(model, test=test_images)
    check_labels_fit(model, test=test_labels)
    built_for(model, test_images, "evaluate")
    # by name: a model compiled with other metrics too gives more than two numbers
    results = model.evaluate(make_dataset(test_images, test_labels, batch_size), verbose=0,
                             return_dict=True)
    return float(results["loss"]), float(results["accuracy"])

def checked_pair(name: str, value) -> tuple:
    """`value` as (images, labels), or a SettingsError naming `name`. Used by `train` and
    `cnn_lesson.further.train_further`."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SettingsError(f"{name} must be (images, labels), as split_validation returns "
                            f"them, not {type(value).__name__} of length "
                            f"{len(value) if hasattr(value, '__len__') else '?'}.")
    return tuple(value)
