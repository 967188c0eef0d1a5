"""The eleventh hostile pass (/tmp/pass11/A.md items 1, 2, 6 and 7) on the model checks:
augmentation layers that expect pixels from 0 to 255 (Keras' default value_range), the
subclassed-model probe that moved BatchNormalization's statistics, a softmax of one's own that
was refused as "not adding up to 1", and the advice for a Keras application used as the whole
model. Each test failed before its fix, unless its docstring says it is a guard."""

import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.evaluation import predict
from cnn_lesson.further import create_further_model
from cnn_lesson.model import create_model
from cnn_lesson.training import compile_model, evaluate, train
from tests.helpers import random_images
from tests.test_ninth_pass_model_checks import _net, _softmax_net


@pytest.fixture(scope="module")
def data():
    images, labels = random_images(64, seed=11)
    return (images[:48], labels[:48]), (images[48:], labels[48:])


# Item 1: augmentation layers with a value_range, which Keras sets to (0, 255) by default.

_ZERO_TO_255 = {
    "brightness": lambda **kw: layers.RandomBrightness(0.2, **kw),
    "colour jitter": lambda **kw: layers.RandomColorJitter(brightness_factor=0.2, **kw),
    "solarization": lambda **kw: layers.Solarization(0.5, **kw),
    "invert": lambda **kw: layers.RandomInvert(**kw),
    "auto contrast": lambda **kw: layers.AutoContrast(**kw),
    "rand augment": lambda **kw: layers.RandAugment(**kw),
}


@pytest.mark.parametrize("make", _ZERO_TO_255.values(), ids=_ZERO_TO_255.keys())
@pytest.mark.parametrize("nested", [False, True], ids=["top level", "nested block"])
def test_an_augmentation_layer_for_0_to_255_pixels_is_refused(make, nested):
    augment = make()
    first = [layers.RandomFlip("horizontal"), augment]
    if nested:
        first = [keras.Sequential(first, name="augmentation")]
    with pytest.raises(SettingsError, match=rf"{augment.name!r}.*0 to 255.*"
                                            r"value_range=\(0, 1\)"):
        compile_model(_softmax_net(first=first))


@pytest.mark.parametrize("make", _ZERO_TO_255.values(), ids=_ZERO_TO_255.keys())
def test_an_augmentation_layer_given_value_range_0_to_1_is_accepted(make):
    """A guard for RandomBrightness (accepted before too); the others
    were accepted as well, but a Rescaling after them was not seen (the next test)."""
    compile_model(_softmax_net(first=[make(value_range=(0, 1))]))


@pytest.mark.parametrize("make", _ZERO_TO_255.values(), ids=_ZERO_TO_255.keys())
def test_a_rescaling_after_augmentation_for_0_to_1_is_still_refused(make):
    """Failed before for the layers that were not listed as keeping the range (all but
    RandomBrightness, for which it is a guard)."""
    with pytest.raises(SettingsError, match="'rescaling\\w*', divides the pixels by about 255"):
        compile_model(_softmax_net(first=[make(value_range=(0, 1)),
                                          layers.Rescaling(1 / 255)]))


@pytest.mark.parametrize("augment", [lambda: layers.RandomShear(0.2),
                                     lambda: layers.RandomGrayscale(0.5),
                                     lambda: layers.RandomPerspective(0.5)],
                         ids=["shear", "grayscale", "perspective"])
def test_a_rescaling_after_other_augmentation_is_refused(augment):
    """These keep the pixels' range too, but a Rescaling after them was not seen."""
    with pytest.raises(SettingsError, match="'rescaling\\w*', divides the pixels by about 255"):
        compile_model(_softmax_net(first=[augment(), layers.Rescaling(1 / 255)]))


def test_brightness_for_0_to_1_pixels_trains(data):
    """A guard: the tester's model with value_range=(0, 1) trains, as Keras' does."""
    model = compile_model(_softmax_net(first=[layers.RandomBrightness(0.2,
                                                                      value_range=(0, 1))]))
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1


def test_the_course_models_are_still_accepted():
    """A guard: lesson 2's model and lesson 5's further model with its augmentation."""
    compile_model(create_model())
    compile_model(create_further_model(augment=True))


# Item 2: the probe of a subclassed model ran it in its default mode, here training.

class TrainingByDefault(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3)
        self.norm = layers.BatchNormalization()
        self.pool = layers.GlobalAveragePooling2D()
        self.out = layers.Dense(10, activation="softmax")

    def call(self, x, training=True):
        return self.out(self.pool(self.norm(self.conv(x), training=training)))


class CountingCalls(keras.Model):
    """Counts its calls in a variable, whatever the mode."""

    def __init__(self):
        super().__init__()
        self.pool = layers.GlobalAveragePooling2D()
        self.out = layers.Dense(10, activation="softmax")
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     name="calls")

    def call(self, x):
        self.calls.assign_add(1.0)
        return self.out(self.pool(x))


def _values(model):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in model.variables]


def test_the_probe_leaves_batch_normalization_statistics_alone(data):
    model = compile_model(TrainingByDefault())
    train(model, *data, epochs=1, verbose=0)
    before = _values(model)
    compile_model(model)  # the check alone, which probes the model
    for was, now in zip(before, _values(model)):
        np.testing.assert_array_equal(was, now)


def test_the_probe_changes_no_variable_of_the_model(data):
    """A model that changes a variable of its own in every call, even when not training.
    (A counter kept in Python, self.count += 1, is still counted: the probe cannot undo it.)"""
    model = compile_model(CountingCalls())
    train(model, *data, epochs=1, verbose=0)
    counted = float(model.calls)
    compile_model(model)
    assert float(model.calls) == counted


def test_a_probed_model_still_predicts_as_keras_does(data):
    """The model's own predictions do not move after the course's calls (they moved by
    about 0.003 after 60 predictions before)."""
    model = compile_model(TrainingByDefault())
    train(model, *data, epochs=1, verbose=0)
    images = data[1][0][:4].astype("float32") / 255
    reference = model.predict(images, verbose=0)
    for _ in range(5):
        predict(model, data[1][0][:1])
        evaluate(model, *data[1])
    np.testing.assert_array_equal(model.predict(images, verbose=0), reference)


# Item 6: a softmax given as a function of one's own.

@keras.saving.register_keras_serializable(package="eleventh_pass")
def my_softmax(x):
    return keras.activations.softmax(x)


@pytest.mark.parametrize("activation", [my_softmax,
                                        lambda x: keras.activations.softmax(x)],
                         ids=["registered function", "lambda"])
def test_a_softmax_of_ones_own_is_accepted(data, activation):
    model = compile_model(_net(layers.Dense(10, activation=activation)))
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1
    np.testing.assert_allclose(predict(model, data[1][0][:3]).sum(axis=1), 1, atol=1e-4)


def test_a_softmax_of_ones_own_in_an_activation_layer_is_accepted():
    compile_model(_net(layers.Dense(10), layers.Activation(my_softmax)))


@pytest.mark.parametrize("activation, said", [
    ("sigmoid", "do not add up to 1"), ("relu", "do not add up to 1"),
    ("linear", "raw scores"), ("log_softmax", "negative"),
    (lambda x: 2 * keras.activations.softmax(x), "do not add up to 1"),
    (lambda x: x, "negative")],
    ids=["sigmoid", "relu", "linear", "log_softmax", "twice a softmax", "identity lambda"])
def test_activations_that_are_not_a_softmax_are_still_refused(activation, said):
    """A guard for Keras' named activations and the first lambda (refused before too); the
    message for log_softmax and the identity lambda now says what was seen (it claimed the
    rows "do not add up to 1")."""
    with pytest.raises(SettingsError, match=said):
        compile_model(_net(layers.Dense(10, activation=activation)))


# Item 7: a Keras application used as the whole model, with its own preprocessing.

def _whole(app, **kwargs):
    return app(input_shape=(32, 32, 3), include_top=True, weights=None, classes=10, **kwargs)


@pytest.mark.parametrize("app", [keras.applications.MobileNetV3Small,
                                 keras.applications.EfficientNetV2B0,
                                 keras.applications.ConvNeXtTiny],
                         ids=["MobileNetV3Small", "EfficientNetV2B0", "ConvNeXtTiny"])
def test_an_application_as_the_whole_model_is_told_to_drop_its_preprocessing(app):
    with pytest.raises(SettingsError, match="include_preprocessing=False") as caught:
        compile_model(_whole(app))
    assert "Remove the Rescaling layer" not in str(caught.value)
    assert ".adapt(" not in str(caught.value)
    compile_model(_whole(app, include_preprocessing=False))


def test_efficientnet_b0_as_the_whole_model_is_told_to_use_v2():
    with pytest.raises(SettingsError, match="EfficientNetV2B0") as caught:
        compile_model(_whole(keras.applications.EfficientNetB0))
    assert "Remove the Rescaling layer" not in str(caught.value)
