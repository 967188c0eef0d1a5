"""Mixed precision: computing in 16-bit bfloat16 where the CPU does it natively.

A network's weights are float32 (32 bits per number). Most of the arithmetic inside its
layers does not need that much: Keras' "mixed_bfloat16" policy keeps the weights in float32
and multiplies in bfloat16, which CPUs with bfloat16 instructions do faster. Lesson 3 trains
the reference network this way where it pays, lesson 5 explains it, and the models the
lessons save are plain float32 models either way (see `float32_copy`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import keras
import tensorflow as tf

from cnn_lesson.arguments import checked
from cnn_lesson.errors import SettingsError
from cnn_lesson.files import is_regular_file

FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
PRECISIONS = (FLOAT32, MIXED_BFLOAT16)
# Every processor in /proc/cpuinfo lists its flags, the first within its first few KB; the
# whole file of a 256-core server is about 1 MB.
MAX_CPUINFO_BYTES = 1024 * 1024


@checked
def fast_precision(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The Keras dtype policy that trains the lessons' networks fastest on this machine.

    "mixed_bfloat16" when there is no GPU and the CPU has bfloat16 instructions
    (`avx512_bf16` or `amx_bf16`, recent Intel and AMD server chips): measured on the
    course's 2-core machines, 1.2x the images per second of float32 for the reference network
    and 1.3x for lesson 5's. Everywhere else "float32": a CPU without those instructions
    would emulate bfloat16 and be slower, and on GPUs we have not measured it.
    Used by lessons 3 and 5 and by `python -m cnn_lesson train`.

    Args:
        cpuinfo: Linux's CPU description; elsewhere it does not exist, giving "float32".
            Only a file is read (its first `MAX_CPUINFO_BYTES`); anything else, such as a
            pipe or a device, is no CPU description, giving "float32" too.
    """
    if tf.config.list_physical_devices("GPU"):
        return FLOAT32
    # Like a missing file: a named pipe waited forever for a writer, /dev/zero never ended.
    # (/proc/cpuinfo is a regular file, of size 0 to stat: hence a bounded read, not a size.)
    if not is_regular_file(cpuinfo):
        return FLOAT32
    try:
        with open(cpuinfo, "rb") as file:
            text = file.read(MAX_CPUINFO_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return FLOAT32
    return MIXED_BFLOAT16 if {"avx512_bf16", "amx_bf16"} & set(text.split()) else FLOAT32


def check_precision(precision: str) -> str:
    """Return `precision` if the lessons support it; otherwise a SettingsError listing them."""
    if precision not in PRECISIONS:
        raise SettingsError(
            f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}. "
            "`fast_precision()` picks the faster one for this computer."
        )
    return precision


@contextlib.contextmanager
def layers_computing_in(precision: str):
    """Make the layers created inside this `with` block use the dtype policy `precision`.

    Keras layers take the global policy when they are created; this sets it for the block
    only and restores the previous one afterwards, also after an error.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(check_precision(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def computes_in_float32(model: keras.Model) -> bool:
    """Whether every layer of `model` (nested ones included) computes in float32."""
    return all(layer.dtype_policy.name == FLOAT32 for layer in _all_layers(model))


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):  # a model inside the model, like lesson 5's augmentation
            yield from _all_layers(layer)


def inner_optimizer(optimizer):
    """The optimizer a `LossScaleOptimizer` (mixed float16's) wraps, or `optimizer` itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def float32_copy(model: keras.Model) -> keras.Model:
    """The same trained model computing in float32: what the lessons save.

    A model trained in mixed precision has float32 weights already; only its layers'
    compute policy differs. Saving that policy would make the file compute in bfloat16
    wherever it is loaded, slowly on a CPU without bfloat16 instructions, and older tools
    could not read it. The copy has the same weights and, when `model` is compiled, the same
    optimizer with the same state, so it can go on training: the state of the variables the
    optimizer trains, also after a layer was frozen or unfrozen since (Keras' optimizer goes
    on with the variables it was built with until the model is compiled again). A float32
    model is returned as it is. A model of float16 or float64 layers (a non-mixed policy)
    gets float32 weights: float16's exactly, float64's rounded to float32's 7 digits.

    Used by `cnn_lesson.saving.save_model` and the best-model backup of `train`.

    Raises:
        SettingsError: the model's optimizer trains variables that are not the model's.
    """
    if computes_in_float32(model):
        return model

    def in_float32(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        if isinstance(layer, keras.layers.Layer):  # not an operation such as `x + y`'s Add,
            config["dtype"] = FLOAT32  # which computes in its inputs' type and takes none
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=in_float32, recursive=True)
    copy.set_weights(model.get_weights())
    if getattr(model, "optimizer", None) is not None and model.compiled:
        _copy_optimizer(model, copy)
    return copy


def _copy_optimizer(model: keras.Model, copy: keras.Model) -> None:
    """Compile `copy` as `model` is, its optimizer built over the copies of the variables
    `model`'s optimizer trains and holding the same state (none if it never trained)."""
    # Not compile_from_config, which builds the optimizer over the trainable variables of
    # now, not those the model's optimizer was built with
    copy.compile(**keras.saving.deserialize_keras_object(model.get_compile_config()))
    # float16 trains through a LossScaleOptimizer, which float32 does not need: the
    # state to copy is its inner optimizer's (the loss scale stays behind)
    source = inner_optimizer(model.optimizer)
    if not source.built:  # compiled, never trained: no state to copy
        copy.optimizer.build(copy.trainable_variables)
        return
    tracked = getattr(source, "_trainable_variables", None)  # Keras' record of them
    copy.optimizer.build(copy.trainable_variables if tracked is None
                         else _copied_variables(model, copy, tracked))
    targets, sources = inner_optimizer(copy.optimizer).variables, source.variables
    if len(targets) != len(sources):
        raise _not_copied(model)
    for target, source_variable in zip(targets, sources):
        target.assign(source_variable)


def _copied_variables(model: keras.Model, copy: keras.Model, variables) -> list:
    """The copy's counterparts of `model`'s `variables`, in their order: `clone_model`
    keeps the order of the weights."""
    positions = {id(weight): index for index, weight in enumerate(model.weights)}
    if any(id(variable) not in positions for variable in variables):
        raise _not_copied(model)
    return [copy.weights[positions[id(variable)]] for variable in variables]


def _not_copied(model: keras.Model) -> SettingsError:
    return SettingsError(
        f"The optimizer of the model {model.name!r} trains variables that are not the "
        "model's own, so its state cannot be saved with it. Compile the model again "
        "(compile_model(model)) before saving, which starts the optimizer afresh."
    )
