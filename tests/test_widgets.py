"""The explorers driven as a learner would, headless; the live plot inside a real fit."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from PIL import Image

from cnn_lesson import live_plot
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.model import create_model
from cnn_lesson.training import compile_model, train
from cnn_lesson.feature_maps import feature_map_image, layer_explorer
from cnn_lesson.live_plot import LivePlot, live_training_plot
from cnn_lesson.widgets import png_bytes, prediction_explorer, sample_browser
from tests.helpers import InterruptAfter
from cnn_lesson.errors import DataError, SettingsError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def labels():
    # airplane, automobile, bird, airplane, ...: ten images each of classes 0, 1 and 2
    return (np.arange(30) % 3).astype(np.uint8).reshape(-1, 1)


def shown(image_widget) -> bytes:
    return bytes(image_widget.value)


def test_png_bytes_enlarges_with_crisp_pixels():
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 0)
    picture = Image.open(io.BytesIO(png_bytes(image)))
    assert picture.size == (128, 128)
    pixels = np.asarray(picture)
    assert (pixels[:4, :4] == (255, 0, 0)).all() and (pixels[4:, 4:] == 0).all()


def test_sample_browser_steps_through_one_class(images, labels):
    browser = sample_browser(images, labels)
    assert browser.class_dropdown.options == CLASS_NAMES
    assert browser.class_dropdown.value == "airplane"
    assert "airplane" in browser.label.value and "image 1 of 10" in browser.label.value
    assert browser.index == 0 and shown(browser.image) == png_bytes(images[0])
    assert browser.pixels is None
    assert repr(browser) == "Sample browser (30 images, 10 classes)"

    browser.next_button.click()
    assert "image 2 of 10" in browser.label.value
    assert browser.slider.value == 2 and browser.index == 3
    assert shown(browser.image) == png_bytes(images[3])

    browser.previous_button.click()
    browser.previous_button.click()  # wraps around to the last airplane
    assert "image 10 of 10" in browser.label.value and browser.index == 27
    browser.next_button.click()  # and back to the first
    assert browser.index == 0


def test_sample_browser_changes_class_and_slides(images, labels):
    browser = sample_browser(images, labels)
    browser.slider.value = 5
    browser.class_dropdown.value = "automobile"
    assert browser.slider.value == 1 and browser.slider.max == 10
    assert "automobile" in browser.label.value and "image 1 of 10" in browser.label.value
    assert browser.index == 1
    browser.slider.value = 4
    assert browser.index == 10 and shown(browser.image) == png_bytes(images[10])
    assert "image 4 of 10" in browser.label.value


def test_sample_browser_class_without_images(images, labels):
    browser = sample_browser(images, labels)
    browser.class_dropdown.value = "cat"
    assert "no images" in browser.label.value and browser.index is None
    assert shown(browser.image) == b""
    browser.next_button.click()  # nothing to step through, and no error
    browser.class_dropdown.value = "bird"
    assert browser.index == 2


def test_sample_browser_pixel_values(images, labels):
    browser = sample_browser(images, labels, show_pixels=True)
    red_mean = images[0][..., 0].mean() / 255
    assert f"{red_mean:.3f}" in browser.pixels.value
    browser.next_button.click()
    assert f"{images[3][..., 2].max() / 255:.3f}" in browser.pixels.value


def test_sample_browser_rejects_mismatched_lengths(images, labels):
    with pytest.raises(DataError, match="30 images but 29 labels"):
        sample_browser(images, labels[:29])


def _known_probabilities():
    """Six images of classes 0..5; the model is wrong on images 2 and 4."""
    true = np.arange(6)
    predicted = np.array([0, 1, 7, 3, 9, 5])
    probabilities = np.full((6, 10), 0.02)
    probabilities[np.arange(6), predicted] = 0.82
    return true.reshape(-1, 1), predicted, probabilities


def test_prediction_explorer_slider_and_bars(images):
    true, predicted, probabilities = _known_probabilities()
    explorer = prediction_explorer(None, images[:6], true, probabilities=probabilities)
    assert [bar.description for bar in explorer.bars] == list(CLASS_NAMES)
    np.testing.assert_allclose(explorer.bar_values, probabilities[0])
    assert "True class: <b>airplane</b>" in explorer.label.value
    assert "Predicted: <b>airplane</b> (82%)" in explorer.label.value
    assert explorer.percentages[0].value == "82.0%"

    explorer.slider.value = 4
    np.testing.assert_allclose(explorer.bar_values, probabilities[4])
    assert "True class: <b>deer</b>" in explorer.label.value
    assert "Predicted: <b>truck</b>" in explorer.label.value and "wrong" in explorer.label.value
    assert shown(explorer.image) == png_bytes(images[4])
    assert explorer.bars[4].bar_style == "success" and explorer.bars[9].bar_style == "danger"


def test_prediction_explorer_show_me_a_mistake(images):
    true, _, probabilities = _known_probabilities()
    explorer = prediction_explorer(None, images[:6], true, probabilities=probabilities)
    np.testing.assert_array_equal(explorer.mistakes, [2, 4])
    assert repr(explorer) == "Prediction explorer (6 test images, 2 mistakes)"
    explorer.mistake_button.click()
    assert explorer.slider.value == 2 and "Predicted: <b>horse</b>" in explorer.label.value
    np.testing.assert_allclose(explorer.bar_values, probabilities[2])
    explorer.mistake_button.click()
    assert explorer.slider.value == 4
    explorer.mistake_button.click()  # wraps around
    assert explorer.slider.value == 2


def test_prediction_explorer_without_mistakes(images):
    probabilities = np.eye(10)[:6]
    explorer = prediction_explorer(None, images[:6], np.arange(6), probabilities=probabilities)
    assert explorer.mistake_button.disabled
    explorer.mistake_button.click()
    assert explorer.slider.value == 0


def test_prediction_explorer_predicts_once_on_normalised_images(images):
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(10, activation="softmax")])
    explorer = prediction_explorer(model, images[:8], np.zeros(8))
    expected = model.predict(images[:8].astype(np.float32) / 255, verbose=0)
    np.testing.assert_allclose(explorer.probabilities, expected, rtol=1e-5)
    np.testing.assert_array_equal(explorer.predicted_labels, expected.argmax(axis=1))
    explorer.slider.value = 7
    np.testing.assert_allclose(explorer.bar_values, expected[7], rtol=1e-5)
    with pytest.raises(SettingsError, match="model, or its probabilities"):
        prediction_explorer(None, images[:8], np.zeros(8))


def test_layer_explorer_layers_and_filters(images):
    model = create_model()
    explorer = layer_explorer(model, images[0])
    assert explorer.layer_dropdown.options == ("conv1", "conv2", "conv3")
    assert explorer.slider.max == 31
    assert repr(explorer) == "Layer explorer (conv1, conv2, conv3)"
    assert "conv1" in explorer.label.value and "filter 0 of 32" in explorer.label.value
    assert "30×30" in explorer.label.value
    probe = keras.Model(model.inputs, model.get_layer("conv1").output)
    expected = probe.predict(images[:1].astype(np.float32) / 255, verbose=0)[0]
    np.testing.assert_allclose(explorer.feature_maps("conv1"), expected, rtol=1e-4, atol=1e-5)

    first = shown(explorer.image)
    explorer.slider.value = 5
    assert "filter 5 of 32" in explorer.label.value
    fifth = explorer.feature_maps("conv1")[..., 5]  # the label gives the colour scale's range
    assert f"from {fifth.min():.2f} to {fifth.max():.2f}" in explorer.label.value
    assert shown(explorer.image) != first
    assert shown(explorer.image) == png_bytes(feature_map_image(explorer.feature_maps("conv1")[..., 5]))

    explorer.layer_dropdown.value = "conv2"
    assert explorer.slider.max == 63 and explorer.slider.value == 5
    assert "conv2" in explorer.label.value and "13×13" in explorer.label.value
    assert Image.open(io.BytesIO(shown(explorer.image))).size == (128, 128)
    assert set(explorer.activations) == {"conv1", "conv2"}
    cached = explorer.activations["conv1"]
    explorer.layer_dropdown.value = "conv1"
    assert explorer.activations["conv1"] is cached  # computed once per layer


def test_layer_explorer_arguments(images):
    model = create_model()
    explorer = layer_explorer(model, images[:1], layer_names=["pool1"])
    assert "15×15" in explorer.label.value
    with pytest.raises(SettingsError, match="No layer named 'no_such_layer' in this model: "
                       "its convolutions are conv1, conv2, conv3"):
        layer_explorer(model, images[0], layer_names=["no_such_layer"])
    with pytest.raises(SettingsError, match="one image"):
        layer_explorer(model, images[:2])


def test_feature_map_image_of_a_flat_map():
    assert feature_map_image(np.ones((5, 5))).shape == (5, 5, 3)


# The live plot, inside real fits of a tiny model on 64 random images.

@pytest.fixture(scope="module")
def tiny_fit():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8).astype(np.float32) / 255
    y = rng.integers(0, 10, (64, 1))
    model = compile_model(keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")]))

    def fit(callback, epochs=2, initial_epoch=0):
        return model.fit(x, y, validation_split=0.25, epochs=epochs, initial_epoch=initial_epoch,
                         batch_size=16, callbacks=[callback], verbose=0)
    return fit


class FakeDisplay:
    """Records what would be displayed in a notebook, like IPython's display with display_id."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, obj, display_id=None):
        assert display_id is True
        self.shown.append(obj)
        return self

    def update(self, obj):
        self.updates.append(obj)


def test_live_plot_headless_prints_nothing(tiny_fit, capsys, monkeypatch):
    fake = FakeDisplay()
    monkeypatch.setattr(live_plot, "display", fake)
    plot = live_training_plot()
    history = tiny_fit(plot)
    assert capsys.readouterr().out == ""
    assert fake.shown == [] and plot.draw_count == 0 and plot.png is None
    assert plot.epochs == [1, 2]
    assert set(plot.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}
    for key, values in plot.history.items():
        np.testing.assert_allclose(values, history.history[key], rtol=1e-6)


def test_live_plot_in_a_notebook_redraws_in_place(tiny_fit, capsys, monkeypatch):
    fake = FakeDisplay()
    monkeypatch.setattr(live_plot, "display", fake)
    plot = LivePlot(show=True)
    tiny_fit(plot)
    assert capsys.readouterr().out == ""
    assert len(fake.shown) == 1 and len(fake.updates) == 2  # one picture, redrawn per epoch
    assert fake.updates[-1].data == plot.png and plot.png.startswith(PNG_SIGNATURE)
    assert plot.draw_count == 3 and len(plot.history["val_loss"]) == 2


def test_live_plot_detects_a_jupyter_kernel(tiny_fit, monkeypatch):
    class ZMQInteractiveShell:  # the name ipykernel's shell has
        pass

    fake = FakeDisplay()
    monkeypatch.setattr(live_plot, "display", fake)
    monkeypatch.setattr(live_plot, "get_ipython", lambda: ZMQInteractiveShell())
    plot = live_training_plot()
    tiny_fit(plot, epochs=1)
    assert len(fake.shown) == 1 and len(fake.updates) == 1

    monkeypatch.setattr(live_plot, "get_ipython", lambda: object())  # a terminal IPython
    quiet = live_training_plot()
    tiny_fit(quiet, epochs=1)
    assert len(fake.shown) == 1 and quiet.draw_count == 0


def test_live_plot_resumes(tiny_fit, monkeypatch):
    monkeypatch.setattr(live_plot, "display", FakeDisplay())
    plot = LivePlot(show=True)
    tiny_fit(plot, epochs=2)
    tiny_fit(plot, epochs=3, initial_epoch=2)  # carries on after epoch 2
    assert plot.epochs == [1, 2, 3] and len(plot.history["accuracy"]) == 3
    tiny_fit(plot, epochs=1)  # starts over: epoch 1 replaces what came after it
    assert plot.epochs == [1] and len(plot.history["loss"]) == 1

    fresh = LivePlot(show=True)  # a new plot on a run resumed from a backup
    tiny_fit(fresh, epochs=4, initial_epoch=2)
    assert fresh.epochs == [3, 4] and fresh.png.startswith(PNG_SIGNATURE)

    earlier = {"accuracy": [0.1, 0.2], "loss": [2.3, 2.1],
               "val_accuracy": [0.1, 0.15], "val_loss": [2.3, 2.2]}
    continued = LivePlot(show=True, history=earlier)
    tiny_fit(continued, epochs=3, initial_epoch=2)
    assert continued.epochs == [1, 2, 3] and continued.history["accuracy"][:2] == [0.1, 0.2]


def _small_model():
    return compile_model(keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax")]))


def test_live_plot_with_the_lessons_train(capsys):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, (48, 1)).astype(np.uint8)
    model = _small_model()
    plot = live_training_plot()
    history = train(model, (images[:32], labels[:32]), (images[32:], labels[32:]), epochs=2,
                    batch_size=16, callbacks=[plot], verbose=0)
    assert capsys.readouterr().out == ""
    assert plot.epochs == [1, 2]
    assert plot.history["val_accuracy"] == pytest.approx(history.history["val_accuracy"])


def test_live_plot_of_a_resumed_run_shows_the_epochs_before_the_interruption(tmp_path, capsys):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, (48, 1)).astype(np.uint8)
    data = (images[:32], labels[:32]), (images[32:], labels[32:])

    with pytest.raises(KeyboardInterrupt):
        train(_small_model(), *data, epochs=3, batch_size=16, output_dir=tmp_path, verbose=0,
              callbacks=[live_training_plot(), InterruptAfter(2)])
    plot = live_training_plot()  # the cell runs again: a new plot
    history = train(_small_model(), *data, epochs=3, batch_size=16, output_dir=tmp_path,
                    verbose=0, callbacks=[plot])
    assert len(history.history["loss"]) == 3
    assert plot.epochs == [1, 2, 3]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert plot.history[key] == pytest.approx(history.history[key])
