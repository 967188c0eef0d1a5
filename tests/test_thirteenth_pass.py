"""The thirteenth hostile pass (issue 17, /tmp/pass13/A.md 1, 2, 3, 5, 6): activation layers
after the last Dense were not judged, `layer_explorer` ended in raw errors for grey images and
for images a model of free sizes cannot take, and more colour layers that only clip to their
value_range were refused."""

import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.feature_maps import layer_explorer
from cnn_lesson.training import compile_model
from tests.test_ninth_pass_model_checks import _net, _softmax_net


@pytest.mark.parametrize("last, match", [
    ([layers.Dense(10), layers.ReLU()], r"is a ReLU layer.*not probabilities"),
    ([layers.Dense(10), layers.ELU()], r"is an ELU layer.*negative values"),
    ([layers.Dense(10), layers.Softmax(axis=0)], r"is a Softmax layer.*do not add up to 1"),
    ([layers.Dense(10, activation="softmax"), layers.Rescaling(2.0)],
     r"is a Rescaling layer, which scales the values.*do not add up to 1"),
], ids=["relu", "elu", "softmax over the batch", "rescaled probabilities"])
def test_activation_layers_that_give_no_probabilities_are_refused(last, match):
    """Finding 1: accepted by compile_model, train, evaluate and predict."""
    with pytest.raises(SettingsError, match=match):
        compile_model(_net(*last))


def test_a_softmax_layer_is_accepted_and_from_logits_told_only_to_go():
    """A guard for the Softmax layer (accepted before too); finding 6: with from_logits=True
    it was told to "give the model's last layer activation=softmax", which it has."""
    model = compile_model(_net(layers.Dense(10), layers.Softmax()))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    from cnn_lesson.model_checks import check_compiled_for_labels

    with pytest.raises(SettingsError, match=r"ends in a softmax.*drop from_logits=True"):
        check_compiled_for_labels(model)


@pytest.mark.parametrize("make", [lambda: layers.RandomSaturation(0.5),
                                  lambda: layers.RandomHue(0.5),
                                  lambda: layers.RandomSharpness(0.5),
                                  lambda: layers.RandomColorDegeneration(0.5)],
                         ids=["saturation", "hue", "sharpness", "colour degeneration"])
def test_more_layers_whose_value_range_only_clips_are_accepted(make):
    """Finding 5: refused as "sized for pixels up to 255"."""
    compile_model(_softmax_net(first=[make()]))


def test_the_explorer_shows_a_grey_model():
    """Finding 2: PIL's raw TypeError for a (32, 32, 1) image."""
    model = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(4, 3, name="conv"),
                              layers.GlobalAveragePooling2D(),
                              layers.Dense(10, activation="softmax")])
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 1), dtype=np.uint8)
    explorer = layer_explorer(model, image)
    assert explorer.feature_maps("conv").shape == (30, 30, 4)


@pytest.mark.parametrize("shape, match", [
    ((32, 32, 4), r"Pass one image of shape \(None, None, 3\), not shape \(32, 32, 4\)"),
    ((2, 2, 3), r"cannot be computed for this image of shape \(2, 2, 3\): Negative dimension"),
], ids=["four colours", "too small"])
def test_a_model_of_free_sizes_given_an_image_it_cannot_take(shape, match):
    """Finding 3: Keras' raw ValueError (or PIL's TypeError) from the explorer's call."""
    model = keras.Sequential([keras.Input((None, None, 3)), layers.Conv2D(4, 3),
                              layers.GlobalAveragePooling2D(),
                              layers.Dense(10, activation="softmax")])
    image = np.zeros(shape, np.uint8)
    with pytest.raises(SettingsError, match=match):
        layer_explorer(model, image)
