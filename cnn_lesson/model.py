"""The lesson's convolutional neural network.

Used by lesson 2 (`02_the_model.ipynb`), which builds and explains it, and lesson 3, which
trains it.
"""

from __future__ import annotations

import keras
from keras import layers

from cnn_lesson.data import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.precision import FLOAT32, fast_precision, layers_computing_in


def _conv_block(filters: int, block: int) -> list[layers.Layer]:
    """Conv2D(3x3, ReLU) -> BatchNormalization -> MaxPooling2D(2) -> Dropout(0.25)."""
    return [
        layers.Conv2D(filters, (3, 3), activation="relu", name=f"conv{block}"),
        layers.BatchNormalization(name=f"batchnorm{block}"),
        layers.MaxPooling2D((2, 2), name=f"pool{block}"),
        layers.Dropout(0.25, name=f"dropout{block}"),
    ]


def create_model(name: str = "cifar10_cnn", precision: str | None = FLOAT32) -> keras.Sequential:
    """Build the reference lesson's CNN (161,610 parameters, 704 of them not trainable).

    Three blocks of Conv2D -> BatchNormalization -> MaxPooling2D -> Dropout with 32, 64 and
    128 filters, then Flatten -> Dense(128, ReLU) -> BatchNormalization -> Dropout(0.5) ->
    Dense(10, softmax). Every layer has a fixed name, so `model.summary()` prints the same
    text each time. The model expects images scaled to 0..1 (see
    `cnn_lesson.training.normalize_images`).

    Used by lesson 2 (`02_the_model.ipynb`) and lesson 3 (`03_training.ipynb`), which trains
    it in `fast_precision()`.

    Args:
        name: the model's name, shown by `model.summary()`.
        precision: "float32" (the reference lesson's) or "mixed_bfloat16": the layers then
            multiply in bfloat16 but keep float32 weights (see `cnn_lesson.precision`). The
            output layer computes in float32 either way, so the probabilities and the loss
            keep their precision. None means `fast_precision()`.

    Returns:
        An uncompiled `keras.Sequential` model (compile it with
        `cnn_lesson.training.compile_model`).
    """
    with layers_computing_in(precision or fast_precision()):
        return _sequential(name)


def _sequential(name: str) -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, name="image"),
            *_conv_block(32, 1),
            *_conv_block(64, 2),
            *_conv_block(128, 3),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="dense"),
            layers.BatchNormalization(name="batchnorm4"),
            layers.Dropout(0.5, name="dropout4"),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=FLOAT32,
                         name="class_probabilities"),
        ],
        name=name,
    )


def explain_parameters(model: keras.Model) -> list[tuple[str, str, int]]:
    """Where each layer's parameter count comes from, as (layer, formula, count) rows.

    Used by lesson 2 (`02_the_model.ipynb`) after `model.summary()`.

    Args:
        model: a built model made of the reference lesson's layer types.

    Returns:
        One row per layer: its name, the arithmetic behind its count, and the count.
    """
    rows = []
    for layer in model.layers:
        count = layer.count_params()
        if isinstance(layer, layers.Conv2D):
            height, width, channels, filters = layer.kernel.shape
            formula = f"({height}x{width}x{channels} weights + 1 bias) x {filters} filters"
        elif isinstance(layer, layers.Dense):
            inputs, units = layer.kernel.shape
            formula = f"({inputs} inputs + 1 bias) x {units} units"
        elif isinstance(layer, layers.BatchNormalization):
            features = layer.gamma.shape[0]
            formula = f"4 x {features} (gamma, beta learned; mean, variance tracked)"
        else:
            formula = "no parameters: a fixed operation"
        rows.append((layer.name, formula, count))
    return rows
