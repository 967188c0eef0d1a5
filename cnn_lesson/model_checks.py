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
    if activation is not None and "softmax" not in activation:  # tf.nn.softmax: softmax_v2
        answers = ("has no softmax, so it answers raw scores (logits), not probabilities"
                   if activation == "linear" else
                   f"ends in the activation {activation!r}, so its answers are not "
                   "probabilities over the classes (they do not add up to 1)")
        raise SettingsError(
            f"The model's last layer, {last.name!r}, {answers}; the lessons read them as "
            "probabilities (compile_model's loss, predict, the confusion matrix, the "
            "explorers). Give it activation=\"softmax\", as create_model does.")


def _output_layer(model_or_layer):
    """The layer that computes the model's output, inside nested models and before a linear
    Activation (which only casts, as the mixed-precision guide's float32 output layer does);
    None when unknown."""
    layer = model_or_layer
    if isinstance(layer, keras.Model):
        try:
            layer = layer.outputs[0]._keras_history.operation  # Keras 3's functional graph
        except (AttributeError, IndexError, TypeError):
            layer = layer.layers[-1] if getattr(layer, "layers", None) else None
        return _output_layer(layer)
    if isinstance(layer, keras.layers.Activation) and _activation_name(layer) == "linear":
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
    if loss is not None and loss != "sparse_categorical_crossentropy":
        raise SettingsError(f"The model was compiled with the loss {loss!r}, where the labels "
                            f"are class numbers (0 to 9), one per image: {_COMPILE_IT}")
    loss_config = getattr(getattr(model, "loss", None), "get_config", dict)()
    if isinstance(loss_config, dict) and loss_config.get("from_logits"):
        raise SettingsError("The loss was given from_logits=True, but the model ends in a "
                            "softmax and answers probabilities (which the lessons need): drop "
                            f"from_logits=True, or {_COMPILE_IT}")
    try:
        config = model.get_compile_config() or {}
    except Exception:  # noqa: BLE001 - a setting Keras cannot describe: not judged
        return
    metrics = []
    for key in ("metrics", "weighted_metrics"):
        found = config.get(key) or []
        metrics += list(found.values()) if isinstance(found, dict) else \
            list(found) if isinstance(found, (list, tuple)) else [found]
    for metric in metrics:
        if isinstance(metric, dict) and metric.get("class_name") == "Accuracy":
            raise SettingsError("The model was compiled with keras.metrics.Accuracy(), which "
                                "counts answers equal to the label, and a row of probabilities "
                                f"never is (0% always): {_COMPILE_IT}")
    if not any(metric == "accuracy" or (isinstance(metric, dict) and isinstance(
            metric.get("config"), dict) and metric["config"].get("name") == "accuracy")
            for metric in metrics):
        raise SettingsError("The model was compiled without metrics=[\"accuracy\"] (the "
                            "lessons read the accuracy from the history under that name), so "
                            f"its history and its evaluation would have none: {_COMPILE_IT}")


def _keras_loss_name(loss) -> str | None:
    """The name of one of Keras' own losses, given as text, a function or an object
    ("categorical_crossentropy" for "CategoricalCrossentropy" too); None for no loss given
    as one of these (a loss of the learner's own, or lesson 5's smoothed one). "missing"
    when there is none."""
    if loss is None:
        return "missing"
    try:
        if isinstance(loss, str):
            loss = keras.losses.get(loss)
    except (ValueError, TypeError):  # a name Keras does not know: Keras says so in fit
        return None
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
        if lambdas:
            what = (f"its layer {lambdas[0]!r} is a Lambda layer, Python code that Keras does "
                    "not load back safely (load_model refuses it): use Keras' own layers, such "
                    "as layers.Rescaling or layers.Activation, instead")
        else:
            what = _not_rebuildable(model)
    if what:
        raise SettingsError(f"{caller} cannot save this model: {what}.")


def _not_rebuildable(model: keras.Model) -> str | None:
    """Why Keras cannot rebuild the model (and its compiled loss) from its configuration, as
    saving it and loading it back do, or None: an activation given as a TensorFlow function
    (`tf.nn.softmax`), a loss given as a lambda or a function of one's own."""
    try:
        keras.models.clone_model(model)  # what save_model's copy does, without the weights
        if model.compiled:  # the compiled loss, as loading rebuilds it
            keras.saving.deserialize_keras_object(
                keras.saving.serialize_keras_object(model.loss), safe_mode=True)
    except (ValueError, TypeError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        return ("Keras cannot rebuild it from its configuration, as loading it back would"
                f"{f' ({reason})' if reason else ''}: give activations and the loss by their "
                "names, such as activation=\"softmax\" (not tf.nn.softmax) and "
                "compile_model(model), not functions of your own or lambdas")
    return None
