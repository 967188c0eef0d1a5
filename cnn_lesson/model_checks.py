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
    Models whose output is not known yet (no `keras.Input`) are left to Keras.

    Used by `compile_model`, `train`, `evaluate` and `cnn_lesson.evaluation.predict`.
    """
    if not isinstance(model, keras.Model):
        hint = _TRAINED_MODEL_HINT if _is_trained_model(model) else "."
        raise SettingsError(f"{caller} needs a Keras model (create_model()), not "
                            f"{type(model).__name__} {model!r:.60}{hint}")
    try:
        outputs, shape = model.outputs, model.output_shape
    except (AttributeError, ValueError, TypeError):  # not built yet: Keras builds it from data
        return
    if isinstance(shape, dict) or isinstance(getattr(model, "output", None), dict) \
            or (outputs is not None and len(outputs) != 1) or len(tuple(shape)) != 2:
        raise SettingsError(
            f"{caller} needs a model that answers one row of class probabilities per image, "
            f"shape (N, classes); this one answers "
            f"{'a dict of outputs' if isinstance(getattr(model, 'output', None), dict) else shape}"
            ". End it with layers.Flatten() (or "
            "GlobalAveragePooling2D()) and one layers.Dense(classes, activation=\"softmax\"), "
            "as create_model does.")
    last = _output_layer(model)
    activation = _activation_name(last)
    if activation is not None and activation not in SOFTMAX:
        answers = ("has no softmax, so it answers raw scores (logits), not probabilities"
                   if activation == "linear" else
                   f"ends in the activation {activation!r}, so its answers are not "
                   "probabilities over the classes (they do not add up to 1)")
        logits_loss = _loss_config(model).get("from_logits")
        raise SettingsError(
            f"The model's last layer, {last.name!r}, {answers}; the lessons read them as "
            "probabilities (compile_model's loss, predict, the confusion matrix, the "
            "explorers). Give it activation=\"softmax\", as create_model does"
            + (", and drop from_logits=True from the loss." if logits_loss else "."))
    _check_not_rescaled(model)


# The names of the softmax activation: Keras' own, and TensorFlow's tf.nn.softmax.
SOFTMAX = ("softmax", "softmax_v2")
# Layers that pass their input's values on, only moved, kept or dropped: what they give is
# what the layer before computed (probabilities or logits).
PASSING_ON = (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dropout,
              keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
              keras.layers.GaussianDropout, keras.layers.AlphaDropout,
              keras.layers.GaussianNoise, keras.layers.Identity,
              keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
              keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D)


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
# them (TensorFlow's tutorial puts the augmentation first) still sees 0..1 pixels.
_KEEPING_THE_RANGE = tuple(getattr(keras.layers, name) for name in (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomCrop",
    "RandomContrast", "RandomBrightness", "Resizing", "CenterCrop") if hasattr(keras.layers, name))


def _check_not_rescaled(model: keras.Model) -> None:
    """A SettingsError when the model's first layer (after augmentation and resizing layers)
    divides the pixels by about 255 (the TensorFlow tutorials' `Rescaling(1./255)`): the
    lessons' data reaches the model scaled
    to 0..1 already (`make_dataset`, `predict`), so it would see pixels of at most 1/255 and
    learn nothing, without a word."""
    from cnn_lesson.model import nested_layers

    first = next((layer for layer, _ in nested_layers(model)
                  if not isinstance(layer, (keras.layers.InputLayer, *_KEEPING_THE_RANGE))), None)
    if not isinstance(first, keras.layers.Rescaling):
        return
    try:
        scale = np.abs(np.asarray(first.scale, dtype=np.float64))
    except (TypeError, ValueError):
        return
    if scale.size and np.all((scale > 1 / 300) & (scale < 1 / 100)):
        raise SettingsError(
            f"The model's first layer, {first.name!r}, divides the pixels by about 255, but "
            "the lessons give the model pixels scaled to 0..1 already (make_dataset and "
            "predict do it): the network would see values of at most 1/255 and learn nothing. "
            "Remove the Rescaling layer.")


def _output_layer(model_or_layer):
    """The layer that computes the model's output, inside nested models and before a linear
    Activation (which only casts, as the mixed-precision guide's float32 output layer does)
    or a layer that passes its input on (`PASSING_ON`: Flatten, Dropout, global pooling);
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
    kinds = (keras.layers.Dense, keras.layers.Activation, keras.layers.Conv1D,
             keras.layers.Conv2D, keras.layers.EinsumDense)
    if not isinstance(layer, kinds):
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
        raise SettingsError("The loss was given from_logits=True, but the model ends in a "
                            "softmax and answers probabilities (which the lessons need): drop "
                            f"from_logits=True, or {_COMPILE_IT}")
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
    own error, which names neither)."""
    try:  # a model without an Input layer has no shape yet: fit builds it from the data
        expected = tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        return
    for name, images in images_by_name.items():
        given = tuple(np.shape(images)[1:])
        if len(given) != len(expected) or any(
                size is not None and size != got for size, got in zip(expected, given)):
            raise DataError(f"The {name} images have shape {np.shape(images)}, but the model "
                            f"takes images of shape {expected}: give it the images the model "
                            "was built for (CIFAR-10: 32 x 32 pixels, 3 colours).")


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
        unknown = [layer for layer in model._flatten_layers(include_self=False)
                   if _unregistered(type(layer))]
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
            what = _not_rebuildable(model)
    if what:
        raise SettingsError(f"{caller} cannot save this model: {what}.")


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
    """Whether a layer class is neither Keras' own nor registered with
    `keras.saving.register_keras_serializable`: loading a saved model cannot find it."""
    if kind.__module__.startswith("keras."):
        return False
    return keras.saving.get_registered_object(keras.saving.get_registered_name(kind)) is None
