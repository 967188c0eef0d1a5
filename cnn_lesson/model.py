"""The lesson's convolutional neural network.

Used by lesson 2 (`02_the_model.ipynb`), which builds and explains it, and lesson 3, which
trains it.
"""

from __future__ import annotations

import numbers

import keras
from keras import layers

from cnn_lesson.arguments import checked
from cnn_lesson.data import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.config import share, whole_number
from cnn_lesson.errors import SettingsError
from cnn_lesson.precision import FLOAT32, fast_precision, layers_computing_in


# Keras' default momentum, 0.99, makes batch normalisation's moving statistics (used when
# predicting) follow the weights over ~100 batches. During the one-cycle warm-up they lagged
# so far behind that validation accuracy after epoch 1 was near chance (16.5% against 50%
# with freshly computed statistics) and dipped again at epoch 3. 0.9 follows over ~10 batches:
# 37.5% after epoch 1, and the same final test accuracy, since momentum does not change the
# training itself (benchmarks/batchnorm_momentum.py measures it; README "Performance").
BATCHNORM_MOMENTUM = 0.9
REFERENCE_BATCHNORM_MOMENTUM = 0.99  # the reference lesson's (Keras' default)


def _conv_block(filters: int, block: int, dropout: bool, momentum: float) -> list[layers.Layer]:
    """Conv2D(3x3, ReLU) -> BatchNormalization -> MaxPooling2D(2) [-> Dropout(0.25)]."""
    return [
        layers.Conv2D(filters, (3, 3), activation="relu", name=f"conv{block}"),
        layers.BatchNormalization(momentum=momentum, name=f"batchnorm{block}"),
        layers.MaxPooling2D((2, 2), name=f"pool{block}"),
        *([layers.Dropout(0.25, name=f"dropout{block}")] if dropout else []),
    ]


MODEL_NAME = "cifar10_cnn"  # create_model's; the command line recognises its files by it


@checked
def create_model(
    filters: tuple[int, int, int] = (32, 64, 128),
    dense_units: int = 128,
    dropout: bool = True,
    name: str = MODEL_NAME,
    precision: str | None = FLOAT32,
    batchnorm_momentum: float = BATCHNORM_MOMENTUM,
) -> keras.Sequential:
    """Build the reference lesson's CNN (161,610 parameters, 704 of them not trainable).

    Three blocks of Conv2D -> BatchNormalization -> MaxPooling2D -> Dropout with 32, 64 and
    128 filters, then Flatten -> Dense(128, ReLU) -> BatchNormalization -> Dropout(0.5) ->
    Dense(10, softmax). Every layer has a fixed name, so `model.summary()` prints the same
    text each time. The model expects images scaled to 0..1 (see
    `cnn_lesson.training.normalize_images`).

    Lesson 2 (`02_the_model.ipynb`) writes this model out as `keras.Sequential` code; a test
    (`tests/test_model.py`) keeps the two identical. Lesson 3 (`03_training.ipynb`) trains it
    in `fast_precision()`, and its overfitting demonstration uses `dropout=False`; the
    exercises change the widths.

    Args:
        filters: the filters of the three convolution blocks.
        dense_units: the neurons of the hidden Dense layer.
        dropout: False leaves out the four Dropout layers (to see overfitting happen).
        name: the model's name, shown by `model.summary()`.
        precision: "float32" (the reference lesson's) or "mixed_bfloat16": the layers then
            multiply in bfloat16 but keep float32 weights (see `cnn_lesson.precision`). The
            output layer computes in float32 either way, so the probabilities and the loss
            keep their precision. None means `fast_precision()`.
        batchnorm_momentum: how slowly batch normalisation's moving statistics follow the
            batches: 0.9 (the course's), or 0.99 (Keras' default, the reference lesson's).

    Returns:
        An uncompiled `keras.Sequential` model (compile it with
        `cnn_lesson.training.compile_model`).
    """
    filters = filter_counts(filters, "create_model", maximum=4096, example=(32, 64, 128))
    # Bounded: 10**12 units asked TensorFlow for terabytes. int(): Keras refuses numpy's ints.
    dense_units = whole_number("dense_units", dense_units, maximum=100_000)
    checked_model_name(name)
    share("batchnorm_momentum", batchnorm_momentum, 0.9)
    # Each bound above alone is safe, not all of them together: (4096, 4096, 4096) filters
    # and 100,000 units asked TensorFlow for 6 GB, and failed with its own error.
    count = parameter_count(filters, dense_units)
    if count > MAX_PARAMETERS:
        raise SettingsError(
            f"filters={tuple(filters)!r} with dense_units={dense_units:,} make a model of "
            f"{count:,} parameters, which would need about {16 * count / 2**30:.0f} GB to "
            f"train; the lesson's has 161,610. Keep it under {MAX_PARAMETERS:,}.")
    with layers_computing_in(precision or fast_precision()):
        return _sequential(filters, dense_units, dropout, name,
                           batchnorm_momentum)


def filter_counts(filters, caller: str, maximum: int, example: tuple[int, ...]) -> tuple[int, ...]:
    """`filters` as ints (Keras refuses numpy's), as many as `example` has, each from 1 to
    `maximum`; or a SettingsError naming `caller`. For `create_model` and lesson 5's
    `create_further_model`."""
    if isinstance(filters, (str, bytes)) or not hasattr(filters, "__len__") \
            or len(filters) != len(example) or not all(
                isinstance(count, numbers.Integral) and not isinstance(count, bool)
                and 1 <= count <= maximum for count in filters):
        words = {3: "three", 4: "four"}.get(len(example), str(len(example)))
        raise SettingsError(f"filters={filters!r}: {caller} needs {words} filter counts, whole "
                            f"numbers from 1 to {maximum:,}, e.g. filters={example}.")
    return tuple(int(count) for count in filters)


def checked_model_name(name) -> str:
    """`name`, or a SettingsError unless it is a text without / (Keras refuses a / in names)."""
    if not isinstance(name, str) or not name or "/" in name:
        raise SettingsError(f"name={name!r}: use a text without /, e.g. \"my_model\" (Keras "
                            "refuses a / in names).")
    return name


MAX_PARAMETERS = 20_000_000  # 125 times the lesson's model; about 300 MB to train


def parameter_count(filters, dense_units: int) -> int:
    """The parameters `create_model(filters, dense_units)` will have, counted before Keras
    builds it: three 3x3 convolutions (each with a bias and batch normalisation's 4 numbers
    per filter), a 2x2 grid of the last one's maps into the dense layer (with its bias and
    batch normalisation), and 10 outputs."""
    first, second, third = (int(count) for count in filters)
    convolutions = sum(9 * before * after + 5 * after
                       for before, after in ((3, first), (first, second), (second, third)))
    return convolutions + (4 * third + 5) * dense_units + 10 * dense_units + 10


def _sequential(filters, dense_units, dropout, name, momentum) -> keras.Sequential:
    first, second, third = filters
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE, name="image"),
            *_conv_block(first, 1, dropout, momentum),
            *_conv_block(second, 2, dropout, momentum),
            *_conv_block(third, 3, dropout, momentum),
            layers.Flatten(name="flatten"),
            layers.Dense(dense_units, activation="relu", name="dense"),
            layers.BatchNormalization(momentum=momentum, name="batchnorm4"),
            *([layers.Dropout(0.5, name="dropout4")] if dropout else []),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=FLOAT32,
                         name="class_probabilities"),
        ],
        name=name,
    )


# Layers that hold layers: nested models, and Keras' `Pipeline` of preprocessing layers
# (none in Keras before 3.6).
_NESTING = (keras.Model, *filter(None, [getattr(keras.layers, "Pipeline", None)]))


def nested_layers(model: keras.Model):
    """Every layer of the model in order, looking inside the models nested in it (and in
    Keras' `Pipeline`s, whose augmentation the model checks judge).

    `model.layers` lists a nested `keras.Sequential` block as one layer; the plots and
    explorers that look for convolutions look inside it too (lessons 2 and 4).

    Yields:
        Pairs (layer, block): block is the top-level layer the layer sits in (itself when
        it is not nested).
    """
    def inside(layer):
        if isinstance(layer, _NESTING):
            for inner in layer.layers:
                yield from inside(inner)
        else:
            yield layer
    for top in model.layers:
        for layer in inside(top):
            yield layer, top


def _low_rank_part(layer, formula_count: int) -> str:
    """The parameters of a layer beyond its formula's, in words: those of LoRA
    (`layer.enable_lora(rank)` adds two small matrices), so that the row adds up."""
    extra = layer.count_params() - formula_count
    if not extra:
        return ""
    if getattr(layer, "lora_enabled", False):
        return f" + {extra:,} LoRA weights (rank {layer.lora_rank})"
    return f" + {extra:,} other weights"


@checked
def explain_parameters(model: keras.Model) -> list[tuple[str, str, int]]:
    """Where each layer's parameter count comes from, as (layer, formula, count) rows.

    Used by lesson 2 (`02_the_model.ipynb`) after `model.summary()`.

    Args:
        model: a built model made of the reference lesson's layer types.

    Returns:
        One row per layer: its name, the arithmetic behind its count, and the count.
    """
    if not isinstance(model, keras.Model):
        raise SettingsError(f"explain_parameters needs a Keras model (create_model()), not "
                            f"{type(model).__name__}.")
    if not model.built:
        raise SettingsError("The model is not built yet, so its layers have no weights to "
                            "count: give it an input shape (keras.Input(shape=(32, 32, 3)) as "
                            "its first layer, as create_model() does).")
    rows = []
    for layer in model.layers:
        count = layer.count_params()
        # Exact types: a subclass (a depthwise or transposed convolution) counts otherwise.
        bias = " + 1 bias" if getattr(layer, "use_bias", False) else ""
        if type(layer) is layers.Conv2D:
            height, width, channels, filters = layer.kernel.shape
            formula = f"({height}x{width}x{channels} weights{bias}) x {filters} filters"
            formula += _low_rank_part(layer, (height * width * channels + bool(bias)) * filters)
        elif type(layer) is layers.Dense:
            inputs, units = layer.kernel.shape
            formula = f"({inputs} inputs{bias}) x {units} units"
            formula += _low_rank_part(layer, (inputs + bool(bias)) * units)
        elif type(layer) is layers.BatchNormalization:
            features = layer.moving_mean.shape[0]
            learned = [name for name in ("gamma", "beta") if getattr(layer, name) is not None]
            formula = (f"{len(learned) + 2} x {features} ("
                       + (f"{', '.join(learned)} learned; " if learned else "")
                       + "mean, variance tracked)")
        elif count == 0:
            formula = "no parameters: a fixed operation"
        else:  # not one of the lesson's layer types: its count, without the arithmetic
            formula = f"{type(layer).__name__}: {count:,} parameters (not broken down here)"
        rows.append((layer.name, formula, count))
    return rows
