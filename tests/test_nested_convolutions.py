"""The convolution explorers look inside nested blocks and know other convolutions.

Eighth hostile pass: `layer_explorer` and `plot_first_layer_filters` said "The model has no
Conv2D layer" for a model whose convolutions sit in a nested `keras.Sequential` block, and
for one made of `SeparableConv2D` layers.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.feature_maps import layer_explorer
from cnn_lesson.model import nested_layers
from cnn_lesson.plots import plot_first_layer_filters

IMAGE = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def blocked_model() -> keras.Model:
    block = keras.Sequential([layers.Conv2D(6, 3, activation="relu", name="inner_conv"),
                              layers.MaxPooling2D()], name="block")
    return keras.Sequential([keras.Input((32, 32, 3)), block, layers.Conv2D(4, 3, name="top_conv"),
                             layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])


def test_nested_layers_walks_into_blocks_in_order():
    walked = [(layer.name, block.name) for layer, block in nested_layers(blocked_model())]
    assert [block for _, block in walked] == ["block", "block", "top_conv", *[
        name for name, _ in walked[3:]]]
    assert walked[0] == ("inner_conv", "block") and walked[2] == ("top_conv", "top_conv")


def test_layer_explorer_offers_a_block_with_convolutions_in_it():
    model = blocked_model()
    explorer = layer_explorer(model, IMAGE)
    assert explorer.layer_dropdown.options == ("block", "top_conv")
    probe = keras.Model(model.inputs, model.get_layer("block").output)
    expected = probe.predict(IMAGE[None].astype(np.float32) / 255, verbose=0)[0]
    np.testing.assert_allclose(explorer.feature_maps("block"), expected, rtol=1e-4, atol=1e-5)
    assert explorer.slider.max == 5


@pytest.mark.parametrize("kind", [layers.SeparableConv2D, layers.DepthwiseConv2D])
def test_layer_explorer_offers_separable_and_depthwise_convolutions(kind):
    first = kind(4, 3, name="sep") if kind is layers.SeparableConv2D else kind(3, name="sep")
    model = keras.Sequential([keras.Input((32, 32, 3)), first, layers.GlobalAveragePooling2D(),
                              layers.Dense(10, activation="softmax")])
    assert layer_explorer(model, IMAGE).layer_dropdown.options == ("sep",)


def test_layer_explorer_without_any_convolution_names_the_kinds():
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    with pytest.raises(SettingsError, match="no convolution layer .*SeparableConv2D"):
        layer_explorer(model, IMAGE)


def test_first_layer_filters_of_a_nested_convolution_are_drawn():
    model = blocked_model()
    figure = plot_first_layer_filters(model)
    assert "inner_conv" in figure.get_suptitle()
    learned = [axis for axis in figure.axes if axis.images and axis.get_title().isdigit()]
    assert len(learned) == 6
    plt.close("all")


def test_a_separable_first_convolution_is_refused_in_its_own_words():
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.SeparableConv2D(4, 3, name="sep"),
                              layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(),
                              layers.Dense(10, activation="softmax")])
    with pytest.raises(SettingsError, match="'sep', is a SeparableConv2D.*not colour pictures"):
        plot_first_layer_filters(model)
