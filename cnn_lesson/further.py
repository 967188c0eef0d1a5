"""Going further: a recipe that beats the reference lesson's accuracy in the same CPU time.

The changes to the reference recipe, each explained in lesson 5 (`05_going_further.ipynb`):

- data augmentation with Keras preprocessing layers (random horizontal flips and shifts),
  so the network sees a slightly different picture of each image every epoch;
- a one-cycle learning rate (`cnn_lesson.training.one_cycle_schedule`) with a higher peak;
- bigger batches (256), with the peak learning rate doubled to match;
- label smoothing: the loss aims at 0.91 for the right class and 0.01 for each other one,
  instead of 1 and 0;
- a wider network with a residual (shortcut) block and global pooling instead of `Flatten`;
- a first convolution that is not trained: its filters whiten the 3x3 patches of the training
  images (`whitening_filters`), a trick of the CIFAR-10 speed records (hlb-CIFAR10, airbench);
- on CPUs that compute in bfloat16 natively, mixed precision (see `cnn_lesson.precision`).

Everything else (the data pipeline, `train` with its backup after every epoch, `evaluate`)
is the package's own.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from cnn_lesson.arguments import checked
from cnn_lesson.config import MAX_SEED, share, user_path, whole_number
from cnn_lesson.data import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.data.checks import checked_images, checked_images_and_labels
from cnn_lesson.errors import DataError, ModelFileError, SettingsError, shown
from cnn_lesson.model import BATCHNORM_MOMENTUM, checked_model_name, filter_counts
from cnn_lesson.precision import FLOAT32, fast_precision, layers_computing_in
from cnn_lesson.saving import HISTORY_FILE, load_history
from cnn_lesson.training import (
    checked_callbacks, checked_pair, checked_strategy, one_cycle_schedule, require_arrays,
    steps_per_epoch, train,
)

FURTHER_EPOCHS = 8
FURTHER_BATCH_SIZE = 256
FURTHER_PEAK_LEARNING_RATE = 4e-3
LABEL_SMOOTHING = 0.1
SHIFT_FRACTION = 0.0625  # 2 pixels of 32
WHITENING_IMAGES = 5000  # training images whose patches set the whitening filters
WHITENING_EPSILON = 1e-2  # added to each variance: the faintest directions are not blown up
FURTHER_FOLDER = "going_further"  # lesson 5's own folder inside the output folder
# The widest stage and the most residual convolutions `create_further_model` builds. Keras
# builds the layers before they could be counted: these keep the largest network (seven 3x3
# convolutions of 512 x 512 filters, 16.5 million parameters) under `create_model`'s
# MAX_PARAMETERS (20 million, about 300 MB to train); the lesson's widest stage has 256.
MAX_FILTERS = 512
MAX_RESIDUAL_CONVS = 4
# Patches of size x size pixels make a covariance matrix of (3 size^2)^2 numbers: size=100
# on large images asked numpy for 7 GB. The network's first convolution is 3x3.
MAX_WHITENING_SIZE = 8


def most_whitening_filters(size: int = 3) -> int:
    """The most filters `whitening_filters` gives for `size` x `size` patches: each of the
    patch's numbers (size x size x 3) is a direction, kept with its negative."""
    return 2 * size * size * 3
# 4 times lesson 5's batch. The step's activations grow with it, and the random images alone
# are 12 KB each (batch_size=10**6 asked numpy for 12 GB).
MAX_SPEED_BATCH_SIZE = 1024
MAX_SPEED_STEPS = 1000  # the lesson times 5; 1,000 of 256 images take many minutes on a CPU
# The most batches `one_cycle_schedule` counts (TensorFlow's int32 step counter).
MAX_TOTAL_STEPS = 2**31 - 1

Run = tuple[str, list[float], list[float]]  # (label, seconds after each epoch, val. accuracy)


@checked
def augmentation(shift: float = SHIFT_FRACTION, seed: int | None = None) -> keras.Sequential:
    """Random horizontal flips and shifts, as Keras preprocessing layers.

    They change the images only while training (`training=True`); at evaluation they pass
    images through unchanged. Used by lesson 5, which shows their effect on one image.

    Args:
        shift: the largest shift, as a fraction of the image's height and width.
        seed: seed of the random transformations.

    Returns:
        A `keras.Sequential` of the two layers.

    Raises:
        SettingsError: `shift` is not a share from 0 up to 1, or `seed` not a seed.
    """
    # Keras refused shift=2.0 and seed=2**70 with its own ValueErrors.
    shift = share("shift", shift, SHIFT_FRACTION)
    if seed is not None:
        seed = whole_number("seed", seed, 0, MAX_SEED)
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed, name="random_flip"),
            layers.RandomTranslation(
                shift, shift, fill_mode="reflect", seed=seed, name="random_shift"
            ),
        ],
        name="augmentation",
    )


@checked
def whitening_filters(images: np.ndarray, filters: int = 32, size: int = 3,
                      epsilon: float = WHITENING_EPSILON) -> np.ndarray:
    """Weights for a first convolution that whitens the images' patches.

    Every `size` x `size` patch of an RGB image is a point in 27 dimensions (for 3x3). Over
    many patches, some directions vary a lot (the overall brightness) and most very little
    (fine colour-opponent edges). The eigenvectors of the patches' covariance matrix are
    those directions; dividing each by the square root of its variance (plus `epsilon`)
    gives filters whose outputs all vary about equally, so the layers after them see every
    direction at one scale. The `filters // 2` strongest directions are kept, each with its
    negative (ReLU then keeps both signs). Computed with numpy, not Keras: it is a fixed
    computation on the data, done once before training.

    Args:
        images: uint8 training images (N, 32, 32, 3); `WHITENING_IMAGES` of them are plenty.
        filters: the convolution's filters, an even number up to 2 x size x size x 3.
        size: the patch (and kernel) size.
        epsilon: added to each variance, a small positive number.

    Returns:
        A float32 array (size, size, 3, filters), the layout of a Keras `Conv2D` kernel.

    Raises:
        DataError: the images are not RGB images of at least `size` x `size` pixels, or not
            pixels (uint8, or finite floats in 0..1).
        SettingsError: `filters` is odd, or more than twice the patch's numbers; `size` or
            `epsilon` is out of range.
    """
    size = whole_number("size", size, 1, MAX_WHITENING_SIZE)
    # epsilon=-1 (or 0) gave NaN filters: the square root of a negative variance.
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) \
            or not 0 < epsilon < math.inf:
        raise SettingsError(f"epsilon={epsilon!r}: use a small positive number such as "
                            f"{WHITENING_EPSILON:g}.")
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or not len(images) \
            or min(images.shape[1:3]) < size:
        raise DataError(f"whitening_filters needs RGB images (N, height, width, 3), N at least "
                        f"1, not shape {images.shape}.")
    # The images it reads. NaN pixels gave NaN filters; bool, complex and object arrays were
    # taken as pixels.
    checked_images(images[:WHITENING_IMAGES])
    dimensions = size * size * 3
    most = most_whitening_filters(size)
    if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters % 2 \
            or not 2 <= filters <= most:
        raise SettingsError(f"filters={filters!r}: whitening gives an even number of filters "
                            f"from 2 to {most} (each direction and its negative).")
    scale = 255.0 if np.issubdtype(images.dtype, np.integer) else 1.0  # floats: in 0..1
    total, sums = 0, np.zeros(dimensions, np.float64)
    products = np.zeros((dimensions, dimensions), np.float64)
    for start in range(0, min(len(images), WHITENING_IMAGES), 500):  # about 100 MB at a time
        pixels = np.asarray(images[start:start + 500], dtype=np.float32) / scale
        patches = np.lib.stride_tricks.sliding_window_view(pixels, (size, size), axis=(1, 2))
        # (images, rows, columns, RGB, size, size) -> one row per patch: its rows, columns, RGB
        patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, dimensions).astype(np.float64)
        total += len(patches)
        sums += patches.sum(axis=0)
        products += patches.T @ patches
    mean = sums / total
    covariance = products / total - np.outer(mean, mean)
    variances, directions = np.linalg.eigh(covariance)
    strongest = np.argsort(variances)[::-1][: filters // 2]
    kernel = directions[:, strongest] / np.sqrt(variances[strongest] + epsilon)
    kernel = np.concatenate([kernel, -kernel], axis=1)
    return kernel.reshape(size, size, 3, filters).astype(np.float32)


def _conv_bn(x, filters: int, name: str, trainable: bool = True):
    """Conv2D(3x3, same padding, no bias) -> BatchNormalization -> ReLU.

    Batch normalisation's momentum is lesson 3's 0.9 (see `cnn_lesson.model`), so that its
    moving statistics keep up with the weights during the one-cycle warm-up. A convolution
    that is not `trainable` keeps the weights it is given (see `whitening_filters`).
    """
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv",
                      trainable=trainable)(x)
    x = layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM, name=f"{name}_batchnorm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


DEFAULT_FILTERS = (32, 64, 128, 256)


def _checked_filters(filters) -> tuple[int, int, int, int]:
    """`filters` as four ints from 1 to MAX_FILTERS, or a SettingsError."""
    return filter_counts(filters, "create_further_model", MAX_FILTERS, DEFAULT_FILTERS)


@checked
def create_further_model(
    filters: tuple[int, int, int, int] = DEFAULT_FILTERS,
    augment: bool = True,
    residual_convs: int = 1,
    name: str = "cifar10_resnet",
    precision: str | None = None,
    shift: float = SHIFT_FRACTION,
    whitening: np.ndarray | None = None,
) -> keras.Model:
    """Build lesson 5's network: four convolution stages and a residual (shortcut) block.

    32x32 -> conv(32) -> pool -> conv(64) -> pool -> conv(128) -> residual block: conv(128)
    whose input is added back to its output -> pool -> conv(256) -> global max pooling ->
    Dense(10, softmax); 540,394 parameters. Each conv is followed by batch normalisation and
    ReLU. The images are expected in 0..1 (`make_dataset` scales them).

    A second convolution in the residual block (`residual_convs=2`, 688,362 parameters)
    reached about the same accuracy in 6 epochs on 2 CPU cores but cost 1.8x the time per
    image, so the lesson keeps one.

    Used by lesson 5 (`05_going_further.ipynb`).

    Args:
        filters: filters of the four stages.
        augment: put the random flips and shifts (see `augmentation`) in front.
        residual_convs: convolutions inside the residual block (0: no block).
        name: the model's name.
        precision: the dtype policy of its layers, "float32" or "mixed_bfloat16"
            (None: `fast_precision()`). The output layer always computes in float32: the
            softmax and the loss need float32's precision (bfloat16 keeps 2 to 3
            significant digits).
        shift: the augmentation's largest shift, as a fraction of the image's size.
        whitening: the first convolution's weights (see `whitening_filters`), kept as they
            are: that layer is not trained. None: it is trained like the others.

    Returns:
        An uncompiled functional `keras.Model`.

    Raises:
        SettingsError: an argument is out of range (see `MAX_FILTERS`, `MAX_RESIDUAL_CONVS`),
            or `whitening` does not fit the first convolution.
    """
    filters = _checked_filters(filters)
    # residual_convs=-1 built a residual block without a convolution, adding x to itself.
    residual_convs = whole_number("residual_convs", residual_convs, 0, MAX_RESIDUAL_CONVS)
    checked_model_name(name)
    shift = share("shift", shift, SHIFT_FRACTION)
    with layers_computing_in(precision or fast_precision()):
        model = _further_model(filters, augment, residual_convs, name, shift,
                               whitening is None)
    if whitening is not None:
        first = model.get_layer("stage1_conv")
        first.set_weights([_checked_whitening(whitening, tuple(first.kernel.shape))])
    return model


def _checked_whitening(whitening, expected: tuple) -> np.ndarray:
    """`whitening` as the float32 kernel of shape `expected`, or a SettingsError: text was
    numpy's raw ValueError, and NaN or infinite weights trained to a NaN loss without a
    word."""
    how = f"whitening_filters(images, {expected[-1]}) makes one"
    try:
        array = np.asarray(whitening)
    except ValueError:  # a ragged list
        raise SettingsError(f"whitening is a ragged list; the first convolution's kernel is an "
                            f"array of shape {expected} ({how}).") from None
    if array.shape != expected:
        raise SettingsError(f"whitening has shape {array.shape}; the first "
                            f"convolution's kernel is {expected} ({how}).")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise SettingsError(f"whitening holds {array.dtype} values, not numbers: pass the "
                            f"first convolution's weights as finite numbers ({how}).")
    with np.errstate(over="ignore"):  # beyond float32's range: infinite, refused below
        kernel = array.astype(np.float32)
    if not np.all(np.isfinite(kernel)):
        raise SettingsError("whitening holds NaN or infinite values (or numbers too large for "
                            f"float32), which train to a NaN loss: pass finite numbers ({how}).")
    return kernel


def _further_model(filters, augment, residual_convs, name, shift, train_first) -> keras.Model:
    first, second, third, fourth = filters
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = augmentation(shift)(inputs) if augment else inputs
    x = _conv_bn(x, first, "stage1", trainable=train_first)
    x = layers.MaxPooling2D(2, name="pool1")(x)  # 16x16
    x = _conv_bn(x, second, "stage2")
    x = layers.MaxPooling2D(2, name="pool2")(x)  # 8x8
    x = _conv_bn(x, third, "stage3")
    if residual_convs:
        shortcut = x
        for index in range(residual_convs):
            x = _conv_bn(x, third, f"residual{index + 1}")
        x = layers.Add(name="residual_add")([shortcut, x])
    x = layers.MaxPooling2D(2, name="pool3")(x)  # 4x4
    x = _conv_bn(x, fourth, "stage4")
    x = layers.GlobalMaxPooling2D(name="global_pool")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype=FLOAT32,
                           name="class_probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="cnn_lesson")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy with label smoothing, for class-number labels such as CIFAR-10's.

    Keras' `SparseCategoricalCrossentropy` has no `label_smoothing`; its
    `CategoricalCrossentropy` has, but wants one-hot labels. This loss one-hot encodes the
    labels, then applies `CategoricalCrossentropy`'s smoothing: the target becomes
    `1 - smoothing + smoothing / 10` for the right class and `smoothing / 10` for the others.
    Used by lesson 5.
    """

    def __init__(self, label_smoothing: float = LABEL_SMOOTHING, name: str = "smoothed_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        one_hot = keras.ops.one_hot(labels, keras.ops.shape(y_pred)[-1])
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@checked
def build_further_model(
    total_steps: int,
    peak_learning_rate: float = FURTHER_PEAK_LEARNING_RATE,
    label_smoothing: float = LABEL_SMOOTHING,
    strategy: tf.distribute.Strategy | None = None,
    **model_options,
) -> keras.Model:
    """Create lesson 5's network and compile it for the going-further recipe.

    Adam with a one-cycle learning rate over `total_steps` batches, cross-entropy with label
    smoothing, accuracy. Like `cnn_lesson.training.build_model`, it builds inside a
    `tf.distribute` strategy's scope (None: TensorFlow's default, one CPU or GPU).

    Args:
        total_steps: batches the whole training will run (see `steps_per_epoch`).
        peak_learning_rate: the top of the one-cycle schedule.
        label_smoothing: how much of the target moves from the right class to the others.
        strategy: the distribution strategy.
        **model_options: passed to `create_further_model`.

    Returns:
        The compiled model.

    Raises:
        SettingsError: `label_smoothing` is not a share from 0 up to 1, a model option or
            `total_steps` is out of range, or `strategy` is not a `tf.distribute` strategy.
    """
    # 1.5 or -1 were taken: the targets then were no probabilities.
    label_smoothing = share("label_smoothing", label_smoothing, LABEL_SMOOTHING)
    with checked_strategy(strategy).scope():
        model = create_further_model(**model_options)
        model.compile(
            optimizer=keras.optimizers.Adam(one_cycle_schedule(total_steps, peak_learning_rate)),
            loss=SmoothedSparseCrossentropy(label_smoothing),
            metrics=["accuracy"],
        )
    return model


@checked
def measure_training_speed(
    precision: str, batch_size: int = FURTHER_BATCH_SIZE, steps: int = 5, seed: int = 0
) -> float:
    """Images per second of lesson 5's network training in `precision`, on random images.

    Builds and compiles the network as `train_further` does, runs one training step that is
    not counted (TensorFlow prepares the computation then), and times the next `steps`.
    Lesson 5 calls it for float32 and mixed_bfloat16, to show what mixed precision buys on
    the learner's computer.

    Args:
        precision: "float32" or "mixed_bfloat16".
        batch_size: images per step.
        steps: timed steps.
        seed: seed of the random images and starting weights.

    Returns:
        Images per second over the timed steps.

    Raises:
        SettingsError: `batch_size`, `steps` or `seed` is out of range.
    """
    # batch_size=0 failed inside TensorFlow, seed=-1 in numpy; steps=0 timed nothing (0.0).
    batch_size = whole_number("batch_size", batch_size, 1, MAX_SPEED_BATCH_SIZE)
    steps = whole_number("steps", steps, 1, MAX_SPEED_STEPS)
    seed = whole_number("seed", seed, 0, MAX_SEED)
    keras.utils.set_random_seed(seed)
    model = build_further_model(total_steps=steps + 1, precision=precision)
    rng = np.random.default_rng(seed)
    images = rng.random((batch_size, *IMAGE_SHAPE), dtype=np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=(batch_size, 1))
    model.train_on_batch(images, labels)  # not timed: the step is prepared here
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, labels)
    return steps * batch_size / (time.perf_counter() - started)


@checked
def train_further(
    train_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
    epochs: int = FURTHER_EPOCHS,
    batch_size: int = FURTHER_BATCH_SIZE,
    seed: int = 0,
    output_dir: str | os.PathLike | None = None,
    fresh: bool = False,
    strategy: tf.distribute.Strategy | None = None,
    callbacks=(),
    verbose: int = 2,
    whiten: bool = True,
    **model_options,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Build, compile and train lesson 5's network with the going-further recipe.

    With an `output_dir`, training is resumable as in lesson 3: `train` backs it up there
    after every epoch, and the same call after an interruption continues from the last
    finished epoch (it prints "Resuming ..."); the best model so far is kept there as
    `best_model.keras`. Lesson 5 passes its own folder (`output_dir / FURTHER_FOLDER`), so it
    never touches lesson 3's backup or models.

    Used by lesson 5 and `benchmarks/train_speed.py --recipes further`.

    Args:
        train_data: `(train_images, train_labels)`, uint8 images.
        validation_data: `(validation_images, validation_labels)`.
        epochs: epochs to train, counting those done before an interruption.
        batch_size: images per batch.
        seed: the random seed (starting weights, shuffling, augmentation).
        output_dir: where to keep the backup and the best model; None keeps nothing.
        fresh: start over, discarding a backup in `output_dir`.
        strategy: a `tf.distribute` strategy (None: TensorFlow's default).
        callbacks: more Keras callbacks.
        verbose: 2 prints one line per epoch, 0 nothing.
        whiten: the first convolution whitens the patches of the training images and is not
            trained (`whitening_filters`: an even number of filters up to 54); False trains
            it like the others, of any width. A `whitening` of one's own (a model option)
            wins over both: it is used as given, not trained.
        **model_options: passed to `build_further_model` (e.g. `label_smoothing`,
            `peak_learning_rate`) and from there to `create_further_model` (e.g. `augment`).

    Returns:
        `(model, history)`; `history.history` holds every epoch's metrics and `seconds`
        (training time at the end of each epoch, across an interruption), `history.seconds`
        the total.

    Raises:
        SettingsError: an argument or a model option is out of range, `train_data` or
            `validation_data` is not an (images, labels) pair, or the whitening (`whiten`)
            cannot fill the first convolution (an odd width, or more than 54).
        DataError: the images or labels are not CIFAR-10's (32 x 32 x 3 pixels, 0 to 9).
        LessonOrderError, BackupError: as `cnn_lesson.training.train` raises them.
    """
    # Every argument first, in the learner's own words: the whitening and the model take
    # seconds, and their errors named `total_steps` or "expected (N, [8], ...)" (the third
    # item of a triple taken as the images' shape).
    require_arrays(train_data=train_data, validation_data=validation_data)
    train_data = checked_pair("train_data", train_data)
    validation_data = checked_pair("validation_data", validation_data)
    epochs, batch_size = whole_number("epochs", epochs), whole_number("batch_size", batch_size)
    seed = whole_number("seed", seed, 0, MAX_SEED)  # np.int64 failed in Keras, -1 in numpy
    checked_strategy(strategy)
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise SettingsError(f"output_dir must be a folder's path or None, not "
                            f"{type(output_dir).__name__} {output_dir!r}.")
    # a generator is read once: here; the rate follows a one-cycle schedule
    callbacks = checked_callbacks(callbacks, scheduled=True)
    filters = _checked_filters(model_options.get("filters", DEFAULT_FILTERS))
    first_filters = filters[0]
    whiten = whiten and model_options.get("whitening") is None  # the learner's own wins
    # whitening_filters' limits for 3 x 3 patches; its own message named `filters=64`, an
    # argument the learner never gave, and not the way out.
    most = most_whitening_filters()  # the patch size train_further whitens
    if whiten and (first_filters % 2 or first_filters > most):
        raise SettingsError(
            f"filters={filters}: the whitened first convolution (whiten=True, the default) "
            f"takes an even number of filters from 2 to {most}, not {first_filters}. Pass "
            "whiten=False to train a first convolution of any width.")
    checked_images_and_labels(*train_data, IMAGE_SHAPE)
    checked_images_and_labels(*validation_data, IMAGE_SHAPE)
    steps = steps_per_epoch(len(train_data[0]), batch_size)
    if epochs * steps > MAX_TOTAL_STEPS:
        raise SettingsError(f"epochs={epochs:,}: that many epochs of {steps:,} "
                            f"batch{'es' if steps != 1 else ''} are more than the "
                            f"{MAX_TOTAL_STEPS:,} steps the learning rate schedule counts; use "
                            "fewer epochs.")
    keras.utils.set_random_seed(seed)
    if whiten:  # the whitening's place, filled below: the model options are checked first
        model_options["whitening"] = np.zeros((3, 3, 3, first_filters), np.float32)
    model = build_further_model(epochs * steps, strategy=strategy, **model_options)
    if whiten:
        with checked_strategy(strategy).scope():
            model.get_layer("stage1_conv").set_weights(
                [whitening_filters(train_data[0], first_filters)])
    history = train(
        model, train_data, validation_data, epochs=epochs, batch_size=batch_size, seed=seed,
        output_dir=output_dir, fresh=fresh, callbacks=callbacks, verbose=verbose,
    )
    return model, history


def _epochs(count: int) -> str:
    return f"{count} epoch{'s' if count != 1 else ''}"


def _lesson3_run(output_dir: Path) -> tuple[Run | None, str]:
    """Lesson 3's run from its history.json, or None and why not."""
    how = ("Run notebooks/03_training.ipynb (it saves history.json with its times in the "
           "output folder), then this cell again, to compare the two.")
    try:
        values = load_history(output_dir)
    except ModelFileError as error:
        if (output_dir / HISTORY_FILE).exists():  # there, but damaged: say so, not "missing"
            return None, f"Lesson 3's history cannot be used: {error}"
        return None, "No lesson 3 history in the output folder. " + how
    seconds, accuracy = values.get("seconds"), values.get("val_accuracy")
    if not seconds or not accuracy or len(seconds) != len(accuracy):
        return None, ("The output folder's history.json has no training times (it was saved "
                      "before lesson 3 recorded them). " + how)
    return (f"lesson 3 ({_epochs(len(accuracy))})", list(seconds), list(accuracy)), ""


@checked
def runs_to_compare(output_dir: str | os.PathLike, history) -> list[Run]:
    """Lesson 3's run (when the output folder has it) and lesson 5's, for the time plot.

    Lesson 3 saves `history.json` with `seconds` and `val_accuracy` after each epoch; both
    lessons hold out the same validation images (the same seed), so their validation
    accuracies can be drawn on one axis. Prints one line: the two runs' totals, or that
    lesson 3's run is missing and how to get it. Used by lesson 5 with
    `cnn_lesson.plot_accuracy_against_time`.

    Args:
        output_dir: the lessons' output folder (where lesson 3 saved `history.json`).
        history: lesson 5's `History` (or its `.history` dict), with `seconds`.

    Returns:
        `(label, seconds after each epoch, validation accuracy after each epoch)` for lesson
        3 (when found) and lesson 5, in that order.

    Raises:
        SettingsError: `output_dir` is a file, not a folder.
        DataError: `history` is not lesson 5's history (no `seconds` per epoch, for one).
    """
    folder = user_path(output_dir, "output_dir")
    if os.path.isfile(folder):  # it read as "no lesson 3 history"
        raise SettingsError(f"output_dir={shown(folder)!r} is a file, not a folder: pass the "
                            "output folder, settings().output_dir.")
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise DataError(f"history={history!r:.60}: pass the History that train_further "
                        "returned (model, history = train_further(...)), or its .history dict.")
    absent = [key for key in ("seconds", "val_accuracy") if key not in values]
    if absent:  # a plain model.fit records no 'seconds'
        raise DataError(f"history has no {absent[0]!r} (it has {list(values)}): pass the "
                        "History that train_further returned, which records the training "
                        "time after each epoch; model.fit does not.")
    try:  # one finite number per epoch in each, and as many of one as of the other
        numbers_only = all(isinstance(value, numbers.Real) and not isinstance(value, bool)
                           for key in ("seconds", "val_accuracy") for value in values[key])
        seconds, accuracy = (np.asarray(values[key], dtype=float)
                             for key in ("seconds", "val_accuracy"))
        # Shares and times: [50, 60] was read as percentages of 100, drawn far off the plot.
        usable = numbers_only and seconds.ndim == 1 and len(seconds) \
            and seconds.shape == accuracy.shape and np.all(np.isfinite(seconds)) \
            and np.all(np.isfinite(accuracy)) and np.all((accuracy >= 0) & (accuracy <= 1)) \
            and np.all(seconds >= 0)
    except (TypeError, ValueError, OverflowError):  # text, None, 10**400
        usable = False
    if not usable:
        raise DataError(f"history's 'seconds' and 'val_accuracy' must be lists of numbers, "
                        f"one per epoch each and at least one, not {values['seconds']!r:.40} "
                        f"and {values['val_accuracy']!r:.40}: pass the History that "
                        "train_further returned.")
    this_run: Run = (f"lesson 5, going further ({_epochs(len(values['val_accuracy']))})",
                     list(values["seconds"]), list(values["val_accuracy"]))
    lesson3, missing = _lesson3_run(folder)
    runs = [this_run] if lesson3 is None else [lesson3, this_run]
    if lesson3 is None:
        print(missing + " The plot shows this lesson's run alone.")
    else:
        print("; ".join(f"{label}: {seconds[-1]:.0f} s, validation accuracy {accuracy[-1]:.1%} "
                        "at the end" for label, seconds, accuracy in runs))
    return runs
