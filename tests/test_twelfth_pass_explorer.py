"""`layer_explorer` shows the maps of nested functional blocks.

Twelfth hostile pass (finding 2): on a model with a nested *functional* block (a block made
with `keras.Model(i, o)`, or Keras' applications such as MobileNetV2 or VGG16) the explorer
failed with Keras' raw "Output with path `` is not connected to inputs": it built its
sub-model from the block's own output, which belongs to the block's inner graph, not to the
model's.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.feature_maps import layer_explorer
from cnn_lesson.training import normalize_images

IMAGE = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)


def functional_block() -> keras.Model:
    inputs = keras.Input((32, 32, 3))
    outputs = layers.Conv2D(5, 3, activation="relu", name="inner_conv")(inputs)
    return keras.Model(inputs, outputs, name="block")


def head(tensor):
    return layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(tensor))


def sequential_outer(block: keras.Model) -> keras.Model:
    return keras.Sequential([keras.Input((32, 32, 3)), block, layers.GlobalAveragePooling2D(),
                             layers.Dense(10, activation="softmax")])


def functional_outer(block: keras.Model) -> keras.Model:
    inputs = keras.Input((32, 32, 3))
    return keras.Model(inputs, head(block(inputs)))


def expected_maps(block: keras.Model) -> np.ndarray:
    return np.asarray(block(normalize_images(IMAGE)[np.newaxis]))[0]


@pytest.mark.parametrize("outer", [sequential_outer, functional_outer])
def test_layer_explorer_shows_a_nested_functional_block(outer):
    block = functional_block()
    explorer = layer_explorer(outer(block), IMAGE)
    assert list(explorer.layer_dropdown.options) == ["block"]
    maps = explorer.feature_maps("block")
    assert maps.shape == (30, 30, 5) and explorer.slider.max == 4
    np.testing.assert_allclose(maps, expected_maps(block), rtol=1e-5, atol=1e-5)
    assert explorer.image.value and "block" in explorer.label.value


def test_layer_explorer_names_a_nested_functional_block_explicitly():
    block = functional_block()
    explorer = layer_explorer(functional_outer(block), IMAGE, "block")
    np.testing.assert_allclose(explorer.feature_maps("block"), expected_maps(block),
                               rtol=1e-5, atol=1e-5)


def test_layer_explorer_shows_a_block_that_was_also_called_on_its_own():
    # The block's first call is outside the model: its output there is not the model's.
    block = functional_block()
    block(keras.Input((32, 32, 3)))
    explorer = layer_explorer(functional_outer(block), IMAGE)
    np.testing.assert_allclose(explorer.feature_maps("block"), expected_maps(block),
                               rtol=1e-5, atol=1e-5)


def test_layer_explorer_shows_a_functional_block_after_a_convolution():
    inner_in = keras.Input((30, 30, 4))
    block = keras.Model(inner_in, layers.Conv2D(3, 3, name="inner_conv")(inner_in), name="block")
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, name="first"), block,
                              layers.GlobalAveragePooling2D(), layers.Dense(10)])
    explorer = layer_explorer(model, IMAGE)
    assert list(explorer.layer_dropdown.options) == ["first", "block"]
    batch = normalize_images(IMAGE)[np.newaxis]
    expected = np.asarray(block(model.get_layer("first")(batch)))[0]
    np.testing.assert_allclose(explorer.feature_maps("block"), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("outer", [sequential_outer, functional_outer])
def test_layer_explorer_shows_mobilenet_v2(outer):
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                          weights=None, alpha=0.35)
    explorer = layer_explorer(outer(base), IMAGE)
    assert base.name in explorer.layer_dropdown.options
    maps = explorer.feature_maps(base.name)
    assert maps.ndim == 3 and maps.shape[:2] == (1, 1)
    np.testing.assert_allclose(maps, expected_maps(base), rtol=1e-4, atol=1e-4)



def test_a_block_keras_cannot_reach_is_refused_with_the_layers_that_can_be_shown(monkeypatch):
    # Should Keras still refuse a block's sub-model, the user gets a SettingsError, not its
    # raw ValueError, and the default list does not offer the block.
    from cnn_lesson import feature_maps
    from cnn_lesson.errors import SettingsError
    real = feature_maps._probe
    monkeypatch.setattr(feature_maps, "_probe",
                        lambda model, name: None if name == "block" else real(model, name))
    inputs = keras.Input((32, 32, 3))
    first = layers.Conv2D(3, 3, padding="same", name="first")(inputs)
    model = keras.Model(inputs, head(functional_block()(first)))
    explorer = layer_explorer(model, IMAGE)
    assert list(explorer.layer_dropdown.options) == ["first"]
    with pytest.raises(SettingsError, match="'block' cannot be shown.*first"):
        layer_explorer(model, IMAGE, "block")
    with pytest.raises(SettingsError, match="'block' cannot be shown"):
        layer_explorer(functional_outer(functional_block()), IMAGE)
