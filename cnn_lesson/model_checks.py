"""Whether a model is one the lessons can train, measure and save, before Keras is asked.

Keras' own errors for a model the lessons cannot use (two outputs, logits, a one-hot loss,
a subclassed model at saving time) name neither the model nor what to change, and some
such models train without a word, wrongly. `cnn_lesson.training`, `cnn_lesson.evaluation`,
`cnn_lesson.saving` and the training backup check with these first.
"""

from __future__ import annotations

import re

import keras
import numpy as np

from cnn_lesson.data.checks import class_numbers
from cnn_lesson.errors import DataError, SettingsError


_COMPILE_IT = ("compile it with compile_model(model), which uses the loss and the accuracy the "
               "lessons need.")
_TRAINED_MODEL_HINT = (": this is what load_trained_model returns; pass its .model "
                       "(trained.model).")


def _is_trained_model(value) -> bool:
    from cnn_lesson.saving import TrainedModel

    return isinstance(value, TrainedModel)


def check_classifier(model, caller: str) -> None:
    """A SettingsError unless `model` is a Keras model that answers one row of class
    probabilities per image: one output of shape (N, classes), from a softmax rather than
    raw scores (logits). Keras' own errors for the others name neither the model nor what
    to change, and a model without softmax trains and predicts without a word, wrongly.
    A model whose output is not known yet (no `keras.Input`) is left to a later call, once
    it is built; a subclassed model, whose layers cannot be read, is judged by its answers
    for two test images (see `_check_answers`).

    Used by `compile_model`, `train`, `evaluate` and `cnn_lesson.evaluation.predict`.
    """
    if not isinstance(model, keras.Model):
        hint = _TRAINED_MODEL_HINT if _is_trained_model(model) else "."
        raise SettingsError(f"{caller} needs a Keras model (create_model()), not "
                            f"{type(model).__name__} {model!r:.60}{hint}")
    try:
        outputs, shape = model.outputs, model.output_shape
    except (AttributeError, ValueError, TypeError):  # not built yet, or subclassed
        _check_answers(model, _built_image_shape(model))
        return
    inputs = getattr(model, "inputs", None)
    if isinstance(inputs, (list, tuple)) and len(inputs) != 1:  # "takes images of shape ((4,),)"
        raise SettingsError(
            f"{caller} needs a model that takes one input, the images; this one takes "
            f"{len(inputs)} inputs. Start it with one keras.Input((32, 32, 3)), as create_model "
            "does.")
    if isinstance(shape, dict) or isinstance(getattr(model, "output", None), dict) \
            or (outputs is not None and len(outputs) != 1) or len(tuple(shape)) != 2:
        raise SettingsError(
            f"{caller} needs a model that answers one row of class probabilities per image, "
            f"shape (N, classes); this one answers "
            f"{'a dict of outputs' if isinstance(getattr(model, 'output', None), dict) else shape}"
            f". {_END_IT}")
    last = _output_layer(model)
    answers = _what_it_answers(last, shape[-1])
    if answers is not None:
        logits_loss = _loss_config(model).get("from_logits")
        remedy = ("Give it activation=\"softmax\", as create_model does"
                  if _activation_name(last) is not None else
                  "Put layers.Activation(\"softmax\") after it, or end the model with "
                  "layers.Dense(classes, activation=\"softmax\"), as create_model does")
        raise SettingsError(
            f"The model's last layer, {last.name!r}, {answers}; the lessons read them as "
            f"probabilities ({_READ_AS_PROBABILITIES}). {remedy}"
            + (", and drop from_logits=True from the loss." if logits_loss else "."))
    _check_not_rescaled(model)


_END_IT = ("End it with layers.Flatten() (or GlobalAveragePooling2D()) and one "
           "layers.Dense(classes, activation=\"softmax\"), as create_model does.")
_READ_AS_PROBABILITIES = ("compile_model's loss, predict, the confusion matrix, the "
                          "explorers")


def _what_it_answers(last, classes=None) -> str | None:
    """What the layer that computes a model's output answers, when that is not
    probabilities (logits, another activation, values a normalisation shifted and
    scaled); None for a softmax, or a layer that is not judged. An activation not known by
    name (a function of one's own, a lambda) is judged by what it does (`_activation_gives`)."""
    activation = _activation_name(last)
    if activation is not None:
        if activation in SOFTMAX:
            return None
        if activation == "linear":
            return "has no softmax, so it answers raw scores (logits), not probabilities"
        seen = _activation_gives(last.activation, classes)
        if not seen:
            return None
        return (f"ends in the activation {activation!r}, so its answers are not "
                f"probabilities over the classes ({seen})")
    if isinstance(last, NORMALISING):
        return (f"is a {type(last).__name__}, which shifts and scales the values, so its "
                "answers are not probabilities over the classes (they do not add up to 1)")
    kind = type(last).__name__
    article = "an" if kind[:1] in "AEIOU" else "a"
    if isinstance(last, keras.layers.Rescaling) and not _is_identity(last):
        return (f"is {article} {kind} layer, which scales the values, so its answers are not "
                "probabilities over the classes (they do not add up to 1)")
    if isinstance(last, ACTING_LAYERS):  # a ReLU layer after Dense(10), a Softmax(axis=0)
        seen = _activation_gives(last, classes)
        if seen:
            return (f"is {article} {kind} layer, so its answers are not probabilities over the "
                    f"classes ({seen})")
    return None


def _is_identity(rescaling) -> bool:
    try:
        return float(rescaling.scale) == 1 and float(rescaling.offset) == 0
    except (TypeError, ValueError):  # a scale per channel: not the identity
        return False


# Keras' layers that act on the values as an activation does: judged by what they give for
# test rows, as an activation of one's own is (the thirteenth pass: a ReLU() or
# Softmax(axis=0) after the last Dense was accepted, as was a Rescaling after the softmax).
ACTING_LAYERS = tuple(getattr(keras.layers, name) for name in (
    "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")
    if hasattr(keras.layers, name))


def _activation_gives(activation, classes=None) -> str | None:
    """What an activation gives for three test rows of scores, when that is not
    probabilities: "it gives negative values" or "they do not add up to 1"; "" for rows of
    probabilities (a softmax, under whatever name), None when it cannot be tried on them
    (it is then not judged: Keras says in fit what fails)."""
    size = classes if isinstance(classes, int) and classes > 0 else 10
    rows = np.stack([np.linspace(-4.0, 4.0, size), np.zeros(size),
                     np.linspace(3.0, -5.0, size)]).astype(np.float32)
    try:
        given = np.asarray(keras.ops.convert_to_numpy(
            activation(keras.ops.convert_to_tensor(rows))), dtype=np.float64)
    except Exception:  # noqa: BLE001 - the learner's own function
        return None
    if given.shape != rows.shape or not np.all(np.isfinite(given)):
        return None
    if given.min() < -1e-6:
        return "it gives negative values"
    if np.abs(given.sum(axis=1) - 1).max() > 1e-3:
        return "they do not add up to 1"
    return ""


def _built_image_shape(model) -> tuple | None:
    """The shape of one image a built subclassed model was built for (Keras keeps the
    shape of the first call), or None: not built, or built on something else."""
    if not model.built or isinstance(model, keras.Sequential):
        return None
    shapes = getattr(model, "_build_shapes_dict", None)
    if not isinstance(shapes, dict) or len(shapes) != 1:
        return None
    shape = next(iter(shapes.values()))
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 \
            or not all(isinstance(size, int) and size > 0 for size in shape[1:]):
        return None
    return tuple(shape[1:])


def _check_answers(model: keras.Model, image_shape: tuple | None) -> None:
    """A SettingsError unless a model whose layers cannot be read (a subclassed
    keras.Model) answers one row of probabilities for each of two test images, a blank
    one and a ramp of grey levels: no negative values, and rows that add up to 1 (within
    what bfloat16 rounds). Nothing is judged without the image shape, or when the model
    cannot be called on such images (Keras says why in fit).

    The model is called with training=False, as Keras' predict does, and any variable the
    call changes all the same (a counter kept in a variable) is set back, so that checking
    leaves the model as it was. What its call does in Python (self.count += 1) cannot be
    undone, nor the variables a first call creates (the model is built by it)."""
    if image_shape is None:
        return
    ramp = np.linspace(0.0, 1.0, int(np.prod(image_shape)), dtype=np.float32)
    probe = np.stack([np.zeros(image_shape, np.float32), ramp.reshape(image_shape)])
    saved = [(variable, keras.ops.convert_to_numpy(variable)) for variable in model.variables] \
        if model.built else []
    try:
        answers = model(probe, training=False)
        if isinstance(answers, (dict, list, tuple)):
            what = f"{len(answers)} outputs"
        else:
            answers = np.asarray(keras.ops.convert_to_numpy(answers), dtype=np.float64)
            what = f"shape {(None, *answers.shape[1:])}"
    except Exception:  # noqa: BLE001 - the learner's own call(): fit says what fails
        return
    finally:
        _set_back(saved)
    if not isinstance(answers, np.ndarray) or answers.ndim != 2:
        raise SettingsError("The model answers " + what + ", but the lessons need one row "
                            "of class probabilities per image, shape (N, classes). " + _END_IT)
    if not np.all(np.isfinite(answers)):
        return  # not a number: Keras' loss says so
    sums = answers.sum(axis=1)
    if answers.min() < -1e-6:
        seen = f"negative values (down to {answers.min():.2f}), as raw scores (logits) are"
    elif np.abs(sums - 1).max() > 0.05:
        seen = f"a row that adds up to {sums[np.argmax(np.abs(sums - 1))]:.2f}, not 1"
    else:
        return
    logits_loss = _loss_config(model).get("from_logits")
    raise SettingsError(
        f"The model's answers are not probabilities over the classes: for a test image it "
        f"gives {seen}; the lessons read them as probabilities ({_READ_AS_PROBABILITIES}). "
        "Give its last layer activation=\"softmax\", as create_model does"
        + (", and drop from_logits=True from the loss." if logits_loss else "."))


def _set_back(saved: list) -> None:
    """Give each variable back the value saved, where it changed."""
    for variable, value in saved:
        try:
            if not np.array_equal(keras.ops.convert_to_numpy(variable), value):
                variable.assign(value)
        except Exception:  # noqa: BLE001 - a variable that cannot be read or set: left
            continue


# The names of the softmax activation: Keras' own, and TensorFlow's tf.nn.softmax.
SOFTMAX = ("softmax", "softmax_v2")
# Layers that pass their input's values on, only moved, kept or dropped: what they give is
# what the layer before computed (probabilities or logits).
PASSING_ON = (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout,
              keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
              keras.layers.GaussianDropout, keras.layers.AlphaDropout,
              keras.layers.GaussianNoise, keras.layers.Identity,
              keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
              keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D,
              keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
              keras.layers.AveragePooling3D, keras.layers.MaxPooling1D,
              keras.layers.MaxPooling2D, keras.layers.MaxPooling3D,
              keras.layers.ActivityRegularization)
# Layers with an activation that can end a classifier: Dense, Activation and every kind of
# convolution (SeparableConv2D and DepthwiseConv2D are not subclasses of Conv2D in Keras 3).
ENDING_KINDS = tuple(getattr(keras.layers, name) for name in (
    "Dense", "EinsumDense", "Activation", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose",
    "Conv2DTranspose", "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D",
    "DepthwiseConv1D", "DepthwiseConv2D") if hasattr(keras.layers, name))
# Layers that shift and scale the values they are given: last, they answer no probabilities.
NORMALISING = tuple(getattr(keras.layers, name) for name in (
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization",
    "UnitNormalization", "Normalization") if hasattr(keras.layers, name))


def _the_only_loss(loss):
    """The loss of a one-output model given in a one-entry list or dict, or `loss` itself."""
    if isinstance(loss, (list, tuple)) and len(loss) == 1:  # one output's, as a list
        return loss[0]
    if isinstance(loss, dict) and len(loss) == 1:  # or by its output's name
        return next(iter(loss.values()))
    return loss


def _loss_config(model) -> dict:
    """The compiled loss object's settings (`from_logits`, ...); {} for none or a name."""
    loss = _the_only_loss(getattr(model, "loss", None))
    if isinstance(loss, type) or not callable(getattr(loss, "get_config", None)):
        return {}  # a name, a function, or a loss class given without ()
    config = loss.get_config()
    return config if isinstance(config, dict) else {}


# Layers that move, crop, resize or jitter the pixels but keep their range: a Rescaling after
# them (TensorFlow's tutorial puts the augmentation first) still sees 0..1 pixels. Keras'
# layers that take a value_range (RandomBrightness, RandomContrast, RandomColorJitter,
# Solarization, RandAugment, ...) keep it too once it is 0..1 (see `_value_range_problem`).
# RandomContrast, RandomGaussianBlur, RandomElasticTransform, RandomSaturation, RandomHue,
# RandomSharpness and RandomColorDegeneration use their value_range only to clip what they
# give: on 0..1 pixels Keras' default (0, 255) clips nothing, and nothing is sized for 255
# (the twelfth and thirteenth passes: they were refused).
_KEEPING_THE_RANGE = tuple(getattr(keras.layers, name) for name in (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
    "RandomShear", "RandomPerspective", "RandomGrayscale", "Resizing", "CenterCrop",
    "RandomContrast", "RandomGaussianBlur", "RandomElasticTransform", "RandomSaturation",
    "RandomHue", "RandomSharpness", "RandomColorDegeneration")
    if hasattr(keras.layers, name))


def _check_not_rescaled(model: keras.Model) -> None:
    """A SettingsError when the model's first layers (also inside a nested block) expect
    pixels from 0 to 255: an augmentation layer of Keras' given a value_range such as its
    default (0, 255) (see `_value_range_problem`), or, as the first computing layer after
    the augmentation and resizing layers, a `Rescaling` that divides them by about 255 (the
    TensorFlow tutorials' `Rescaling(1./255)`, MobileNetV3's `Rescaling(1/127.5,
    offset=-1)`), or a `Normalization` adapted on such pixels (a mean above 2). The lessons'
    data reaches the model scaled to 0..1 already (`make_dataset`, `predict`), so the
    network would see nearly constant values, or images changed on a scale 255 times too
    large, and learn nothing, without a word. For one of Keras' applications, nested or the
    whole model, the advice is about its own preprocessing (`_application_remedy`)."""
    from cnn_lesson.model import nested_layers

    first, block = None, None
    for layer, top in nested_layers(model):
        if isinstance(layer, (keras.layers.InputLayer, *_KEEPING_THE_RANGE)):
            continue
        problem = _value_range_problem(layer, top)
        if problem:
            raise SettingsError(problem)
        if _value_range(layer) is None:  # the first layer that computes
            first, block = layer, top
            break
    nested = block is not first
    application = _application_remedy(block.name if nested else model.name)
    if isinstance(first, keras.layers.Rescaling):
        problem = _rescaling_problem(first)
    elif isinstance(first, keras.layers.Normalization):
        problem = _normalization_problem(first, nested or application is not None)
    else:
        return
    if problem is None:
        return
    does, sees, remedy = problem
    if not nested:
        where = f"The model's first layer, {first.name!r}, {does}"
        if application:
            where += f": {model.name!r} expects pixels from 0 to 255"
    else:
        where = (f"The layer {first.name!r} inside {block.name!r} {does}: {block.name!r} "
                 "expects pixels from 0 to 255")
        remedy = remedy.replace("Rescaling layer.", f"Rescaling layer from {block.name!r}.")
    raise SettingsError(
        f"{where}, but the lessons give the model pixels scaled to 0..1 already (make_dataset "
        f"and predict do it): the network would see {sees} and learn nothing. "
        f"{application or remedy}")


def _value_range(layer) -> tuple[float, float] | None:
    """The value_range of one of Keras' image layers that take one (the pixels' range it
    works on: its brightness steps, contrast clipping, inversion, ...), or None."""
    if not type(layer).__module__.startswith("keras."):
        return None
    try:
        low, high = (float(value) for value in getattr(layer, "value_range", None))
    except (TypeError, ValueError):
        return None
    return low, high


def _value_range_problem(layer, block) -> str | None:
    """The message for a layer whose value_range is not the lessons' pixels' 0..1 (Keras'
    default is (0, 255): RandomBrightness(0.2) then adds up to 51 to pixels of at most 1);
    None for others."""
    found = _value_range(layer)
    if found is None or max(abs(found[0]), abs(found[1])) <= 2:
        return None
    inside = f" inside {block.name!r}" if block is not layer else ""
    default = ", Keras' default" if found == (0, 255) else ""
    return (f"The layer {layer.name!r}{inside} works on pixels from {found[0]:g} to "
            f"{found[1]:g} (its value_range{default}), but the lessons give the model pixels "
            "scaled to 0..1 already (make_dataset and predict do it): what it does would be "
            f"sized for pixels up to {found[1]:g}, not 1. Create it with value_range=(0, 1).")


def _rescaling_problem(layer) -> tuple[str, str, str] | None:
    """What a Rescaling that divides by about 255 does, what the network then sees and
    what to do (see `_check_not_rescaled`); None for other scales."""
    try:
        scale = np.abs(np.asarray(layer.scale, dtype=np.float64))
        offset = np.asarray(layer.offset, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if not scale.size or not np.all((scale > 1 / 300) & (scale < 1 / 100)):
        return None
    factor, shift = float(scale.mean()), float(offset.mean()) if offset.size else 0.0
    if abs(shift) < 1e-6:
        does = f"divides the pixels by about {1 / factor:.4g}"
        sees = f"values of at most {factor:.2g}"
    else:  # MobileNetV3's Rescaling(1/127.5, offset=-1): 0..255 to -1..1
        does = (f"turns pixels from 0 to 255 into values from {shift:.3g} to "
                f"{255 * factor + shift:.3g} (it divides the pixels by about 255, then "
                "stretches and shifts them)")
        sees = f"values only from {shift:.3g} to {factor + shift:.3g}"
    return does, sees, "Remove the Rescaling layer."


def _normalization_problem(layer, nested: bool) -> tuple[str, str, str] | None:
    """The same for a Normalization adapted on pixels from 0 to 255 (its mean above 2,
    which pixels from 0 to 1 cannot have); None for others."""
    if getattr(layer, "invert", False):
        return None
    try:
        mean = np.asarray(keras.ops.convert_to_numpy(layer.mean), dtype=np.float64)
    except (AttributeError, TypeError, ValueError):  # not adapted, nor given a mean
        return None
    if not mean.size or not np.all(np.isfinite(mean)) or np.abs(mean).max() <= 2:
        return None
    does = (f"subtracts a mean of about {mean.mean():.0f}" if nested else
            f"was adapted on pixels from 0 to 255 (its mean is about {mean.mean():.0f})")
    return (does,
            "nearly the same values in every image",
            "Adapt it on the images as the model gets them: "
            f"{layer.name}.adapt(normalize_images(train_images)).")


# Keras' applications (by the name they give their model) that rescale the pixels
# themselves unless they are created with include_preprocessing=False, and those that
# always do (EfficientNetB0 to B7).
_OPTIONAL_PREPROCESSING = ("mobilenetv3", "efficientnetv2", "convnext")
_ALWAYS_PREPROCESSING = ("efficientnetb",)


def _application_remedy(name: str) -> str | None:
    """What to do about the preprocessing inside one of Keras' applications, by its name;
    None for a block of one's own."""
    if name.lower().startswith(_OPTIONAL_PREPROCESSING):
        return ("Create it with include_preprocessing=False, so that it takes the lessons' "
                "pixels as they are.")
    if name.lower().startswith(_ALWAYS_PREPROCESSING):
        return ("Keras' EfficientNetB0 to B7 always do this, so they do not fit the lessons' "
                "data: use one that can leave it out, such as EfficientNetV2B0 with "
                "include_preprocessing=False.")
    return None


def _output_layer(model_or_layer):
    """The layer that computes the model's output, inside nested models and before a linear
    Activation (which only casts, as the mixed-precision guide's float32 output layer does)
    or a layer that passes its input on (`PASSING_ON`: Flatten, Dropout, pooling);
    None when unknown."""
    layer = model_or_layer
    if isinstance(layer, keras.Model):
        try:
            layer = layer.outputs[0]._keras_history.operation  # Keras 3's functional graph
        except (AttributeError, IndexError, TypeError):
            layer = layer.layers[-1] if getattr(layer, "layers", None) else None
        return _output_layer(layer)
    if isinstance(layer, PASSING_ON) or (isinstance(layer, keras.layers.Activation)
                                         and _activation_name(layer) == "linear"):
        try:
            return _output_layer(layer.input._keras_history.operation)
        except (AttributeError, ValueError, TypeError):
            return layer
    return layer


def _activation_name(layer) -> str | None:
    """The activation of a layer of the kinds that end classifiers (Dense, a convolution, an
    Activation), by name; None for other layers, which are not judged."""
    if not isinstance(layer, ENDING_KINDS):
        return None
    return getattr(getattr(layer, "activation", None), "__name__", None)


def check_compiled_for_labels(model: keras.Model) -> None:
    """A SettingsError unless the model was compiled as the lessons need (as `compile_model`
    does): a loss for class-number labels, and the accuracy under the name "accuracy". A
    one-hot loss fails inside Keras with an error about shapes, a regression loss (`mse`)
    trains without a word; the lessons read `accuracy` from every history, and Keras'
    `Accuracy` compares probabilities with labels for equality (0% always). A loss of the
    learner's own (not one of Keras') is not judged."""
    loss = _keras_loss_name(getattr(model, "loss", None))
    if loss == "missing":
        raise SettingsError(f"The model was compiled without a loss: {_COMPILE_IT}")
    if loss is not None and loss != "sparse_categorical_crossentropy":
        raise SettingsError(f"The model was compiled with the loss {loss!r}, where the labels "
                            f"are class numbers (0 to 9), one per image: {_COMPILE_IT}")
    if _loss_config(model).get("from_logits"):
        if _ends_in_softmax(model):
            raise SettingsError("The loss was given from_logits=True, but the model ends in a "
                                "softmax and answers probabilities (which the lessons need): "
                                f"drop from_logits=True, or {_COMPILE_IT}")
        raise SettingsError("The loss was given from_logits=True, which reads the model's "
                            "answers as raw scores (logits), but the lessons read them as "
                            "probabilities: give the model's last layer activation=\"softmax\" "
                            f"and drop from_logits=True, or {_COMPILE_IT}")
    try:
        config = model.get_compile_config() or {}
    except Exception:  # noqa: BLE001 - a setting Keras cannot describe: not judged
        return
    metrics = []
    for key in ("metrics", "weighted_metrics"):
        metrics += _flattened(config.get(key) or [])
    for metric in metrics:
        if isinstance(metric, dict) and metric.get("class_name") == "Accuracy":
            raise SettingsError("The model was compiled with keras.metrics.Accuracy(), which "
                                "counts answers equal to the label, and a row of probabilities "
                                f"never is (0% always): {_COMPILE_IT}")
        if _metric_name(metric) == "accuracy" and metric != "accuracy" \
                and metric.get("class_name") not in ACCURACY_CLASSES:
            raise SettingsError(
                f"The model was compiled with a {metric.get('class_name', 'metric')} named "
                "\"accuracy\", but the lessons read \"accuracy\" as the share of images whose "
                "most probable class is their label (SparseCategoricalAccuracy), and this one "
                f"measures something else: {_COMPILE_IT}")
    if not any(_metric_name(metric) == "accuracy" for metric in metrics):
        raise SettingsError("The model was compiled without metrics=[\"accuracy\"] (the "
                            "lessons read the accuracy from the history under that name), so "
                            f"its history and its evaluation would have none: {_COMPILE_IT}")


def _ends_in_softmax(model) -> bool:
    """Whether the layer that computes the model's output is seen to be a softmax (not for
    a subclassed model, nor one whose output is not known yet)."""
    try:
        model.outputs[0]
    except (AttributeError, ValueError, TypeError, IndexError):
        return False
    last = _output_layer(model)
    activation = _activation_name(last)
    if isinstance(last, ACTING_LAYERS):  # a Softmax layer
        return _activation_gives(last) == ""
    return activation in SOFTMAX or (activation not in (None, "linear")
                                     and _activation_gives(last.activation) == "")


# The metric classes that measure what the string "accuracy" does for class-number labels.
ACCURACY_CLASSES = ("SparseCategoricalAccuracy",)


def _flattened(found) -> list:
    """Compiled metrics as one list: given as a list, a tuple, one metric, or a dict of them
    per output (each a metric or a list of them)."""
    if isinstance(found, dict):
        return [metric for value in found.values() for metric in _flattened(value)]
    return list(found) if isinstance(found, (list, tuple)) else [found]


def _metric_name(metric) -> str | None:
    """A compiled metric's name: the text given, or a metric object's `name`."""
    if isinstance(metric, str):
        return metric
    config = metric.get("config") if isinstance(metric, dict) else None
    return config.get("name") if isinstance(config, dict) else None


def _keras_loss_name(loss) -> str | None:
    """The name of one of Keras' own losses, given as text, a function or an object
    ("categorical_crossentropy" for "CategoricalCrossentropy" too); None for no loss given
    as one of these (a loss of the learner's own, or lesson 5's smoothed one). "missing"
    when there is none."""
    loss = _the_only_loss(loss)
    if loss is None:
        return "missing"
    try:
        if isinstance(loss, str):
            loss = keras.losses.get(loss)
    except (ValueError, TypeError):  # a name Keras does not know: Keras says so in fit
        return None
    if isinstance(loss, type) and issubclass(loss, keras.losses.Loss):  # the class, no ()
        loss = loss()
    if isinstance(loss, keras.losses.Loss):  # CategoricalCrossentropy: categorical_crossentropy
        module = type(loss).__module__
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(loss).__name__).lower()
    else:
        module, name = getattr(loss, "__module__", ""), getattr(loss, "__name__", "")
    return name if module.startswith("keras.") else None


def check_labels_fit(model: keras.Model, **labels_by_name) -> None:
    """A DataError unless each set of labels names classes the model has outputs for
    (TensorFlow's own error for a label 7 of a 5-class model names neither)."""
    try:
        classes = model.output_shape[-1]
    except (AttributeError, ValueError, TypeError, IndexError):
        return
    if not isinstance(classes, int):
        return
    for name, labels in labels_by_name.items():
        numbers = class_numbers(labels, classes=None)
        if numbers.size and numbers.max() >= classes:
            raise DataError(f"The {name} labels go up to {numbers.max()}, but the model answers "
                            f"{classes} classes (0 to {classes - 1}): give it a model with one "
                            "output per class, such as create_model().")


def check_images_fit(model: keras.Model, **images_by_name) -> None:
    """A DataError unless each set of images has the shape the model takes (before Keras'
    own error, which names neither). A subclassed model never called yet is built for the
    images' shape here and its answers judged (a SettingsError, see
    `_check_subclassed_answers`)."""
    try:  # a model without an Input layer has no shape yet: fit builds it from the data
        expected = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        expected = None
    if expected is None:
        _check_subclassed_answers(model, images_by_name)
        return
    for name, images in images_by_name.items():
        given = tuple(np.shape(images)[1:])
        if len(given) != len(expected) or any(
                size is not None and size != got for size, got in zip(expected, given)):
            raise DataError(f"The {name} images have shape {np.shape(images)}, but the model "
                            f"takes images of shape {expected}: give it the images the model "
                            "was built for (CIFAR-10: 32 x 32 pixels, 3 colours).")


def _check_subclassed_answers(model, images_by_name: dict) -> None:
    """Build a subclassed model that was never called on the images' shape, as `fit` would
    on its first batch, and judge its answers (`_check_answers`): `check_classifier` sees
    no layers in it, and it would otherwise train on logits without a word. (`train` and
    `evaluate` call `check_images_fit` before fitting; a `keras.Sequential` without
    `keras.Input` is built by `cnn_lesson.training.built_for`.)"""
    if not isinstance(model, keras.Model) or isinstance(model, keras.Sequential) \
            or model.built or not images_by_name:
        return
    shape = tuple(np.shape(next(iter(images_by_name.values())))[1:])
    if shape and all(isinstance(size, int) and size > 0 for size in shape):
        _check_answers(model, shape)


def check_savable(model: keras.Model, caller: str) -> None:
    """A SettingsError unless the model can be saved as the course saves models and loaded
    back by `load_model`: built, made of Keras' own layers in a `Sequential` or functional
    model, without `Lambda` layers, and rebuildable from its configuration (see
    `_not_rebuildable`). Keras cannot copy a subclassed model (the `.h5` copy, the float32
    copy of mixed precision), and a `Lambda` layer is Python code, which Keras loads only in
    its unsafe mode and `load_model` refuses.

    Used by `save_model`, and before training with a backup (`train`'s `output_dir`,
    `resumable_training`), whose best model is saved after each epoch.
    """
    what = None
    if type(model).__name__ not in ("Sequential", "Functional"):
        what = (f"it is a subclass of keras.Model ({type(model).__name__}), which Keras cannot "
                "copy and load back: build it with keras.Sequential or keras.Model(inputs, "
                "outputs), as create_model does")
    elif not model.built:
        what = ("it is not built yet, so it has no weights to save: start it with "
                "keras.Input((32, 32, 3)), as create_model does")
    else:
        lambdas = [layer.name for layer in model._flatten_layers(include_self=False)
                   if isinstance(layer, keras.layers.Lambda)]
        unknown = [layer for layer in _configured_layers(model) if _unregistered(type(layer))]
        if lambdas:
            what = (f"its layer {lambdas[0]!r} is a Lambda layer, Python code that Keras does "
                    "not load back safely (load_model refuses it): use Keras' own layers, such "
                    "as layers.Activation, instead")
        elif unknown:
            what = (f"its layer {unknown[0].name!r} is a class of your own "
                    f"({type(unknown[0]).__name__}), which Keras cannot find when it loads the "
                    "file: put @keras.saving.register_keras_serializable() on the line above "
                    "its class statement (and give it a get_config if its __init__ takes "
                    "arguments), or use Keras' own layers")
        else:
            what = _compiled_unsavably(model) or _not_rebuildable(model)
    if what:
        raise SettingsError(f"{caller} cannot save this model: {what}.")


def _configured_layers(layer):
    """The layers whose classes a saved model names in its configuration, so that loading
    it must find them: the layers of the model and of the models nested in it, and inside
    Keras' own layers. A layer of one's own makes its sublayers itself (in its __init__):
    those are not named, and the round trip of `_not_rebuildable` judges the rest."""
    for inner in layer._flatten_layers(include_self=False, recursive=False):
        yield inner
        if type(inner).__module__.startswith("keras."):
            yield from _configured_layers(inner)


def _compiled_unsavably(model: keras.Model) -> str | None:
    """Why Keras cannot save the model's compiled loss or metrics, in the course's words, or
    None: a loss or metric given as its class without () (Keras makes one to train with,
    but saves the class and fails), or a metric of one's own that is not registered."""
    settings = getattr(getattr(model, "_compile_config", None), "config", None)
    if not isinstance(settings, dict):
        return None
    loss = _the_only_loss(settings.get("loss"))
    metrics = []
    for key in ("metrics", "weighted_metrics"):
        metrics += _flattened(settings.get(key) or [])
    for kind, given in [("loss", loss), *(("metric", metric) for metric in metrics)]:
        if isinstance(given, type):
            module = "keras.losses." if kind == "loss" else "keras.metrics."
            name = (module if given.__module__.startswith("keras.") else "") + given.__name__
            return (f"it was compiled with the {kind} as the class {given.__name__} itself, "
                    f"without (): add () ({name}()), or {_COMPILE_IT.rstrip('.')}")
    for metric in metrics:
        if isinstance(metric, (str, dict)) or metric is None:
            continue
        kind = type(metric) if isinstance(metric, keras.metrics.Metric) else metric
        module = getattr(kind, "__module__", None)
        if not isinstance(module, str) or module.startswith("keras.") \
                or not isinstance(getattr(kind, "__name__", None), str):
            continue  # Keras' own, or a callable Keras names otherwise: the round trip judges
        name = getattr(metric, "name", None) or kind.__name__
        if name == "<lambda>":
            return ("one of its metrics is a lambda, which Keras does not load back: write it "
                    "as a function with @keras.saving.register_keras_serializable() on the "
                    "line above its def statement, or use Keras' own metrics")
        if _unregistered(kind):
            what = (f"a {kind.__name__}, a class of your own," if isinstance(kind, type)
                    else "a function of your own,")
            return (f"its metric {name!r} is {what} which Keras cannot find when it loads the "
                    "file: put @keras.saving.register_keras_serializable() on the line above "
                    f"its {'class' if isinstance(kind, type) else 'def'} statement, or use "
                    "Keras' own metrics")
    return None


def _not_rebuildable(model: keras.Model) -> str | None:
    """Why Keras cannot rebuild the model (and its compiled loss) from its configuration, as
    saving it and loading it back do, or None: an activation given as a TensorFlow function
    (`tf.nn.softmax`), a loss given as a lambda or a function of one's own."""
    try:  # what saving and loading do, without the weights
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model),
                                              safe_mode=True)
        keras.models.clone_model(model)  # save_model's .h5 copy
        if model.compiled:  # the compiled loss, as loading rebuilds it
            keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(model.loss), safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras' own: ValueError, TypeError,
        # NotImplementedError (an argument it cannot describe), ...
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        return ("Keras cannot rebuild it from its configuration, as loading it back would"
                f"{f' ({reason})' if reason else ''}: give activations and the loss by their "
                "names, such as activation=\"softmax\" (not tf.nn.softmax) and "
                "compile_model(model), not functions of your own or lambdas")
    return None


def _unregistered(kind: type) -> bool:
    """Whether a layer or metric class (or a metric function) is neither Keras' own nor
    registered with `keras.saving.register_keras_serializable`: loading a saved model
    cannot find it."""
    if kind.__module__.startswith("keras."):
        return False
    return keras.saving.get_registered_object(keras.saving.get_registered_name(kind)) is None
