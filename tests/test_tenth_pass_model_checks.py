"""The tenth hostile pass (/tmp/pass10/A.md items 4, 5, 6, 13, 14, 15 and 16) on the model
checks and the layer explorer: models that train without a word and learn nothing (a
Normalization adapted on 0..255 pixels, a subclassed logits model, logits behind pooling or a
normalisation), legitimate models that were refused, and messages that named the wrong thing.
Each test failed before its fix, unless its docstring says it is a guard."""

import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.evaluation import predict
from cnn_lesson.feature_maps import layer_explorer
from cnn_lesson.saving import load_model, save_model
from cnn_lesson.training import compile_model, evaluate, normalize_images, train
from tests.helpers import random_images
from tests.test_ninth_pass_model_checks import _softmax_net


@pytest.fixture(scope="module")
def data():
    images, labels = random_images(64, seed=10)
    return (images[:48], labels[:48]), (images[48:], labels[48:])


# Item 4: a Normalization layer adapted on the images as load_cifar10 gives them (0..255).

def _adapted(images):
    normalization = layers.Normalization()
    normalization.adapt(images)
    return normalization


@pytest.mark.parametrize("before", [[], [layers.RandomFlip("horizontal")]],
                         ids=["first", "after augmentation"])
def test_a_normalization_adapted_on_0_to_255_pixels_is_refused(data, before):
    normalization = _adapted(data[0][0].astype("float32"))
    with pytest.raises(SettingsError, match=r"'normalization\w*', was adapted on pixels from 0 to "
                                            r"255.*normalize_images\(train_images\)"):
        compile_model(_softmax_net(first=[*before, normalization]))


def test_a_normalization_adapted_on_normalised_images_is_accepted(data):
    """A guard (it could not fail before): the Keras guide's recipe, on the lessons' 0..1."""
    model = compile_model(_softmax_net(first=[_adapted(normalize_images(data[0][0]))]))
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1
    compile_model(_softmax_net(first=[layers.Normalization(mean=0.5, variance=0.08)]))


# Item 5: a subclassed model (TensorFlow's "quickstart for experts") was never checked.

class MyModel(keras.Model):
    def __init__(self, activation=None):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, activation="relu")
        self.pool = layers.GlobalAveragePooling2D()
        self.out = layers.Dense(10, activation=activation)

    def call(self, x):
        return self.out(self.pool(self.conv(x)))


def test_a_subclassed_logits_model_is_refused_before_it_trains(data):
    model = compile_model(MyModel())  # not built: its answers are not known yet
    with pytest.raises(SettingsError, match="not probabilities"):
        train(model, *data, epochs=1, verbose=0)
    assert not model.optimizer.built
    for call in (lambda: evaluate(model, *data[1]), lambda: predict(model, data[1][0][:2]),
                 lambda: compile_model(model)):  # built now (by the check, as fit would)
        with pytest.raises(SettingsError, match="not probabilities"):
            call()


def test_a_subclassed_model_called_once_is_refused_by_predict(data):
    model = MyModel()
    model(np.zeros((1, 32, 32, 3), "float32"))  # built by a call, as a learner tries it
    with pytest.raises(SettingsError, match="not probabilities.*activation=\"softmax\""):
        predict(model, data[1][0][:2])


def test_a_subclassed_softmax_model_trains_and_predicts(data):
    """A guard (it could not fail before): a subclassed model ending in a softmax."""
    model = compile_model(MyModel("softmax"))
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1
    assert 0 <= evaluate(model, *data[1])[1] <= 1
    np.testing.assert_allclose(predict(model, data[1][0][:3]).sum(axis=1), 1, atol=1e-4)


def test_from_logits_on_a_model_never_seen_does_not_claim_a_softmax(data):
    """The message said the model "ends in a softmax", which the check never saw."""
    model = MyModel()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    with pytest.raises(SettingsError, match="from_logits=True") as caught:
        train(model, *data, epochs=1, verbose=0)
    assert "ends in a softmax" not in str(caught.value)
    assert not model.optimizer.built


# Item 6: logits behind local pooling, other convolutions, or a normalisation layer.

def _ending(*last, first=(layers.Conv2D(5, 3, activation="relu"),)):
    return keras.Sequential([keras.Input((32, 32, 3)), *first, *last])


@pytest.mark.parametrize("model", [
    lambda: _ending(layers.Conv2D(10, 1), layers.AveragePooling2D(30), layers.Flatten()),
    lambda: _ending(layers.Conv2D(10, 1), layers.MaxPooling2D(30), layers.Flatten()),
    lambda: _ending(layers.Conv1D(10, 1), layers.AveragePooling1D(1024), layers.Flatten(),
                    first=[layers.Reshape((1024, 3))]),
    lambda: _ending(layers.GlobalAveragePooling2D(), layers.Dense(10),
                    layers.ActivityRegularization(l2=1e-4)),
    lambda: _ending(layers.SeparableConv2D(10, 1), layers.GlobalAveragePooling2D()),
    lambda: _ending(layers.DepthwiseConv2D(1, depth_multiplier=2),
                    layers.GlobalAveragePooling2D()),
    lambda: _ending(layers.Conv3D(10, (32, 32, 3)), layers.Flatten(),
                    first=[layers.Reshape((32, 32, 3, 1))]),
    lambda: _ending(layers.GlobalAveragePooling2D(), layers.Dense(10),
                    layers.BatchNormalization()),
    lambda: _ending(layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax"),
                    layers.LayerNormalization()),
], ids=["AveragePooling2D", "MaxPooling2D", "AveragePooling1D", "ActivityRegularization",
        "SeparableConv2D", "DepthwiseConv2D", "Conv3D", "BatchNormalization",
        "LayerNormalization after softmax"])
def test_logits_behind_pooling_other_convolutions_or_normalisation_are_refused(model):
    with pytest.raises(SettingsError, match="has no softmax|not probabilities"):
        compile_model(model())


def test_probabilities_behind_pooling_or_other_convolutions_are_accepted(data):
    """A guard (it could not fail before): the same endings with a softmax."""
    for model in (_ending(layers.Conv2D(10, 1, activation="softmax"),
                          layers.AveragePooling2D(30), layers.Flatten()),
                  _ending(layers.SeparableConv2D(10, 1, activation="softmax"),
                          layers.GlobalAveragePooling2D()),
                  _ending(layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax"),
                          layers.ActivityRegularization(l2=1e-4))):
        compile_model(model)


# Item 13: the explorer's default offered blocks whose output is no map, then refused them.

def _block(name="block"):
    return keras.Sequential([layers.Conv2D(6, 3), layers.GlobalAveragePooling2D()], name=name)


def test_the_explorer_offers_only_layers_that_give_maps(data):
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(8, 3, name="c1"),
                              _block(), layers.Dense(10, activation="softmax")])
    explorer = layer_explorer(model, data[1][0][0])
    assert explorer.layer_dropdown.options == ("c1",)


def test_the_explorer_never_offers_a_layer_it_refuses(data):
    model = keras.Sequential([keras.Input((32, 32, 3)), _block(),
                              layers.Dense(10, activation="softmax")])
    for names in (None, ["block"]):
        with pytest.raises(SettingsError, match="no feature maps") as caught:
            layer_explorer(model, data[1][0][0], names)
        assert "Pick one of the convolutions: block" not in str(caught.value)
        assert "GlobalAveragePooling2D() as a layer of its own" in str(caught.value)


# Item 14: an unregistered helper layer inside a registered layer saves and loads fine.

class Inner(layers.Layer):
    """A helper layer, used only inside Outer (as "Making new layers" composes them)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(4, 3, padding="same")

    def call(self, x):
        return keras.ops.relu(self.conv(x))


@keras.saving.register_keras_serializable(package="tenth_pass")
class Outer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Inner()

    def call(self, x):
        return self.inner(x)


def test_an_unregistered_layer_inside_a_registered_one_is_saved(data, tmp_path):
    model = compile_model(_softmax_net(first=[Outer()]))
    save_model(model, tmp_path)
    loaded = load_model(tmp_path / "model.keras")
    images = normalize_images(data[1][0][:2])
    np.testing.assert_allclose(loaded.predict(images, verbose=0),
                               model.predict(images, verbose=0), atol=1e-6)


def test_an_unregistered_layer_in_a_nested_block_is_still_refused(tmp_path):
    """A guard (it could not fail before): a class in the saved configuration must be
    registered, also inside a nested Sequential block."""
    block = keras.Sequential([Inner()], name="block")
    with pytest.raises(SettingsError, match=r"class of your own \(Inner\)"):
        save_model(compile_model(_softmax_net(first=[block])), tmp_path)


# Item 15: Keras' applications that rescale the pixels themselves.

def _application(app, **kwargs):
    return keras.Sequential([keras.Input((32, 32, 3)),
                             app(input_shape=(32, 32, 3), include_top=False, weights=None,
                                 pooling="avg", **kwargs),
                             layers.Dense(10, activation="softmax")])


def test_efficientnet_is_refused_naming_the_block_and_what_it_expects():
    with pytest.raises(SettingsError, match="inside 'efficientnetb0'.*0 to 255") as caught:
        compile_model(_application(keras.applications.EfficientNetB0))
    assert "Remove the Rescaling layer" not in str(caught.value)


def test_mobilenet_v3_is_told_to_drop_its_preprocessing():
    with pytest.raises(SettingsError, match="inside 'MobileNetV3Small'.*-1 to 1.*"
                                            "include_preprocessing=False"):
        compile_model(_application(keras.applications.MobileNetV3Small))
    compile_model(_application(keras.applications.MobileNetV3Small,
                               include_preprocessing=False))


# Item 16: a loss (or metric) given as its class, without (), and a metric function.

@pytest.mark.parametrize("loss, metric, said", [
    (keras.losses.SparseCategoricalCrossentropy, "accuracy", "loss"),
    ("sparse_categorical_crossentropy", keras.metrics.SparseTopKCategoricalAccuracy, "metric")],
    ids=["loss", "metric"])
def test_a_class_given_without_brackets_is_named_before_training(data, tmp_path, loss, metric,
                                                                 said):
    model = _softmax_net()
    model.compile("adam", loss, metrics=["accuracy", metric] if metric != "accuracy"
                  else ["accuracy"])
    for call in (lambda: train(model, *data, epochs=1, verbose=0, output_dir=tmp_path),
                 lambda: save_model(model, tmp_path)):
        with pytest.raises(SettingsError, match=rf"the {said} as the class \w+ itself, without "
                                                r"\(\): add \(\)"):
            call()
    assert not model.optimizer.built and list(tmp_path.iterdir()) == []


def my_metric(labels, probabilities):
    return keras.ops.mean(probabilities)


def test_an_unregistered_metric_function_is_named(tmp_path):
    model = _softmax_net()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", my_metric])
    with pytest.raises(SettingsError, match="metric 'my_metric' is a function of your own.*"
                                            "register_keras_serializable"):
        save_model(model, tmp_path)
