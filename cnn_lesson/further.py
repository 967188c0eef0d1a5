"""Going further: a recipe that beats the reference lesson's accuracy in the same CPU time.

The changes to the reference recipe, each explained in lesson 5 (`05_going_further.ipynb`):

- data augmentation with Keras preprocessing layers (random horizontal flips and shifts),
  so the network sees a slightly different picture of each image every epoch;
- a one-cycle learning rate (`cnn_lesson.training.one_cycle_schedule`) with a higher peak;
- bigger batches (256), which a CPU processes faster per image;
- label smoothing: the loss aims at 0.9 for the right class instead of 1.0;
- a wider network with a residual (shortcut) block and global pooling instead of `Flatten`;
- on CPUs that compute in bfloat16 natively, mixed precision (see `cnn_lesson.precision`).

Everything else (the data pipeline, `train`, `evaluate`) is the package's own.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from cnn_lesson.data import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.precision import FLOAT32, fast_precision, layers_computing_in
from cnn_lesson.training import one_cycle_schedule, steps_per_epoch, train

FURTHER_EPOCHS = 8
FURTHER_BATCH_SIZE = 256
FURTHER_PEAK_LEARNING_RATE = 4e-3
LABEL_SMOOTHING = 0.1
SHIFT_FRACTION = 0.0625  # 2 pixels of 32


def augmentation(shift: float = SHIFT_FRACTION, seed: int | None = None) -> keras.Sequential:
    """Random horizontal flips and shifts, as Keras preprocessing layers.

    They change the images only while training (`training=True`); at evaluation they pass
    images through unchanged. Used by lesson 5, which shows their effect on one image.

    Args:
        shift: the largest shift, as a fraction of the image's height and width.
        seed: seed of the random transformations.

    Returns:
        A `keras.Sequential` of the two layers.
    """
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed, name="random_flip"),
            layers.RandomTranslation(
                shift, shift, fill_mode="reflect", seed=seed, name="random_shift"
            ),
        ],
        name="augmentation",
    )


def _conv_bn(x, filters: int, name: str):
    """Conv2D(3x3, same padding, no bias) -> BatchNormalization -> ReLU."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_batchnorm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def create_further_model(
    filters: tuple[int, int, int, int] = (32, 64, 128, 256),
    augment: bool = True,
    residual_convs: int = 1,
    name: str = "cifar10_resnet",
    precision: str | None = None,
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
            (None: `fast_precision()`). The output layer always computes in float32, so
            that the probabilities and the loss keep their precision.

    Returns:
        An uncompiled functional `keras.Model`.
    """
    with layers_computing_in(precision or fast_precision()):
        return _further_model(filters, augment, residual_convs, name)


def _further_model(filters, augment, residual_convs, name) -> keras.Model:
    first, second, third, fourth = filters
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = augmentation()(inputs) if augment else inputs
    x = _conv_bn(x, first, "stage1")
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
    """
    with (strategy or tf.distribute.get_strategy()).scope():
        model = create_further_model(**model_options)
        model.compile(
            optimizer=keras.optimizers.Adam(one_cycle_schedule(total_steps, peak_learning_rate)),
            loss=SmoothedSparseCrossentropy(label_smoothing),
            metrics=["accuracy"],
        )
    return model


class EpochTimer(keras.callbacks.Callback):
    """Records, at the end of each epoch, the seconds since training began.

    Lesson 5 plots accuracy against these seconds; the benchmark stores them. After `fit`,
    `seconds[i]` and `val_accuracy[i]` belong to epoch i + 1.
    """

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.seconds: list[float] = []
        self.val_accuracy: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        self.val_accuracy.append(float((logs or {}).get("val_accuracy", np.nan)))


def train_further(
    train_data: tuple[np.ndarray, np.ndarray],
    validation_data: tuple[np.ndarray, np.ndarray],
    epochs: int = FURTHER_EPOCHS,
    batch_size: int = FURTHER_BATCH_SIZE,
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    callbacks=(),
    verbose: int = 2,
    **model_options,
) -> tuple[keras.Model, keras.callbacks.History]:
    """Build, compile and train lesson 5's network with the going-further recipe.

    Used by lesson 5 and `benchmarks/train_speed.py --recipes further`.

    Args:
        train_data: `(train_images, train_labels)`, uint8 images.
        validation_data: `(validation_images, validation_labels)`.
        epochs: epochs to train.
        batch_size: images per batch.
        seed: the random seed (starting weights, shuffling, augmentation).
        strategy: a `tf.distribute` strategy (None: TensorFlow's default).
        callbacks: more Keras callbacks.
        verbose: 2 prints one line per epoch, 0 nothing.
        **model_options: passed to `create_further_model`.

    Returns:
        `(model, history)`; `history.seconds` is the training's wall time and
        `history.epoch_seconds` the seconds since the start at the end of each epoch.
    """
    keras.utils.set_random_seed(seed)
    total_steps = epochs * steps_per_epoch(len(train_data[0]), batch_size)
    model = build_further_model(total_steps, strategy=strategy, **model_options)
    timer = EpochTimer()
    history = train(
        model, train_data, validation_data, epochs=epochs, batch_size=batch_size, seed=seed,
        callbacks=[timer, *callbacks], verbose=verbose,
    )
    history.epoch_seconds = timer.seconds
    return model, history


def benchmark_runs(path) -> list[tuple[str, list[float], list[float]]]:
    """The per-epoch figures `benchmarks/train_speed.py` wrote, for `plot_accuracy_against_time`.

    Used by lesson 5, which plots them beside its own run.

    Args:
        path: the benchmark's JSON file (by default `<output folder>/train_speed.json`).

    Returns:
        `(label, epoch seconds, accuracy after each epoch)` for each recipe the benchmark
        ran; an empty list when there is no such file.
    """
    import json
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return []
    figures = json.loads(path.read_text(encoding="utf-8"))
    return [
        (f"{run['recipe']} ({run['epochs']} epochs, benchmark)", run["epoch_seconds"],
         run["epoch_val_accuracy"])
        for run in figures["recipes"]
    ]
