import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnn_lesson.data import CLASS_NAMES  # noqa: E402
from cnn_lesson.errors import OutputError, SettingsError  # noqa: E402
from cnn_lesson.plots import (  # noqa: E402
    plot_accuracy_against_time,
    plot_augmentations,
    EDGE_FILTERS,
    plot_convolution_example,
    plot_learning_rate,
    plot_history,
    plot_normalization,
    plot_sample_images,
)
from tests.helpers import random_images  # noqa: E402


def test_sample_grid_has_25_titled_images_and_is_reproducible(tmp_path):
    images, labels = random_images(100)
    path = tmp_path / "sample_images.png"
    figure = plot_sample_images(images, labels, seed=1, title="My title", path=path)
    axes = figure.axes
    assert len(axes) == 25 and figure._suptitle.get_text() == "My title"
    titles = [axis.get_title() for axis in axes]
    assert all(title in CLASS_NAMES for title in titles)
    shown = [axis.images[0].get_array() for axis in axes]
    index = int(np.flatnonzero((images == np.asarray(shown[0])).all(axis=(1, 2, 3)))[0])
    assert titles[0] == CLASS_NAMES[int(labels[index, 0])]  # the title is that image's class
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = plot_sample_images(images, labels, seed=1)
    assert [axis.get_title() for axis in again.axes] == titles
    other = plot_sample_images(images, labels, seed=2)
    assert [np.asarray(a.images[0].get_array()).tobytes() for a in other.axes] != [
        np.asarray(s).tobytes() for s in shown]
    plt.close("all")


def test_sample_grid_needs_enough_images():
    images, labels = random_images(10)
    with pytest.raises(SettingsError, match="at least 25"):
        plot_sample_images(images, labels)


def test_history_plot_has_accuracy_and_loss_panels(tmp_path):
    history = {"accuracy": [0.3, 0.5, 0.6], "val_accuracy": [0.35, 0.45, 0.5],
               "loss": [1.9, 1.4, 1.1], "val_loss": [1.8, 1.5, 1.4]}
    path = tmp_path / "training_history.png"
    figure = plot_history(history, path=path)
    accuracy_axis, loss_axis = figure.axes
    assert accuracy_axis.get_title() == "Accuracy per epoch" and loss_axis.get_title() == "Loss per epoch"
    assert accuracy_axis.get_xlabel() == "Epoch" and loss_axis.get_ylabel() == "Loss"
    lines = {line.get_label(): list(line.get_ydata()) for line in accuracy_axis.lines}
    assert lines == {"training accuracy": history["accuracy"],
                     "validation accuracy": history["val_accuracy"]}
    assert list(loss_axis.lines[1].get_ydata()) == history["val_loss"]
    training, validation = accuracy_axis.lines  # told apart by more than colour
    assert training.get_marker() != validation.get_marker()
    assert training.get_linestyle() != validation.get_linestyle()
    assert path.is_file() and path.stat().st_size > 1000
    plt.close("all")


def test_history_plot_refuses_something_that_is_not_a_history():
    with pytest.raises(SettingsError, match="History"):
        plot_history({"foo": [1]})


def test_normalization_plot_shows_the_two_scales():
    images, _ = random_images(3)
    figure = plot_normalization(images, index=1)
    picture, before, after = figure.axes
    assert before.get_xlim()[1] >= 255 and after.get_xlim()[1] <= 1.1
    assert "0..255" in before.get_title() and "0..1" in after.get_title()
    plt.close("all")


def test_convolution_example_shows_30x30_feature_maps():
    images, _ = random_images(1)
    figure = plot_convolution_example(images[0])
    titles = [axis.get_title() for axis in figure.axes]
    assert any("grey" in title for title in titles)  # the learner is told the image was greyed
    maps = [axis for axis in figure.axes if axis.get_title().startswith("Feature map")]
    assert len(maps) == 2
    for axis in maps:
        assert axis.images[0].get_array().shape == (30, 30)
    weights = [axis for axis in figure.axes if "3x3 weights" in axis.get_title()]
    assert len(weights) == 2
    for axis, kernel in zip(weights, EDGE_FILTERS.values()):  # the numbers are written on it
        assert [text.get_text() for text in axis.texts] == [f"{w:g}" for w in kernel.ravel()]
    colour_bars = [axis for axis in figure.axes if axis.get_ylabel() == "response after ReLU"]
    assert len(colour_bars) == 2
    plt.close("all")


def test_overfitting_plot_draws_training_solid_and_validation_dashed():
    from cnn_lesson.plots import plot_overfitting

    run = {"accuracy": [0.3, 0.6, 0.9], "val_accuracy": [0.3, 0.4, 0.4],
           "loss": [1.8, 1.0, 0.3], "val_loss": [1.8, 1.6, 1.9]}
    figure = plot_overfitting({"dropout off": run, "dropout on": run})
    accuracy_axis, loss_axis = figure.axes
    assert "Accuracy" in accuracy_axis.get_ylabel() and "Loss" in loss_axis.get_ylabel()
    lines = accuracy_axis.get_lines()
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
    assert lines[0].get_color() != lines[2].get_color()
    assert lines[0].get_marker() != lines[2].get_marker()  # a second cue besides colour
    assert list(lines[1].get_ydata()) == run["val_accuracy"]  # only measured points
    plt.close("all")


def test_augmentation_pictures_show_the_original_and_changed_copies():
    images, _ = random_images(1)
    figure = plot_augmentations(images[0], count=3, seed=1)
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == ["original", "random 1", "random 2", "random 3"]
    shown = [np.asarray(axis.images[0].get_array()) for axis in figure.axes]
    np.testing.assert_allclose(shown[0], images[0] / 255.0, atol=1e-6)
    assert any(not np.allclose(picture, shown[0]) for picture in shown[1:])
    plt.close("all")


def test_learning_rate_plot_follows_the_schedule():
    from cnn_lesson.training import one_cycle_schedule

    schedule = one_cycle_schedule(100, peak_learning_rate=1e-2)
    figure = plot_learning_rate(schedule, 100, steps_per_epoch=10)
    (line,) = figure.axes[0].lines
    assert line.get_xdata()[-1] == pytest.approx(9.9)
    assert max(line.get_ydata()) == pytest.approx(1e-2, rel=1e-3)
    assert figure.axes[0].get_xlabel() == "epoch"
    plt.close("all")


def test_accuracy_against_time_draws_only_measured_points_in_distinct_styles():
    runs = [("lesson 3", [40, 80], [0.5, 0.6]), ("lesson 5", [70, 140, 210], [0.6, 0.8, 0.81])]
    figure = plot_accuracy_against_time(runs, validation_images=5000)
    axis = figure.axes[0]
    assert [line.get_label() for line in axis.lines] == ["lesson 3", "lesson 5"]  # no target
    assert list(axis.lines[1].get_xdata()) == [70, 140, 210]  # no invented (0 s, 10%) point
    assert list(axis.lines[1].get_ydata()) == [0.6, 0.8, 0.81]
    first, second = axis.lines
    assert first.get_color() != second.get_color()
    assert first.get_marker() != second.get_marker()  # a second cue besides colour
    assert first.get_linestyle() != second.get_linestyle()
    assert axis.get_ylabel() == "validation accuracy (5,000 held-out images)"
    assert "seconds of training" in axis.get_xlabel()
    with pytest.raises(ValueError):
        plot_accuracy_against_time([("broken", [1, 2], [0.5])])
    plt.close("all")


def test_first_layer_filters_are_colour_pictures_on_one_scale_beside_the_edge_filters(tmp_path):
    import keras

    from cnn_lesson.model import create_model
    from cnn_lesson.plots import plot_first_layer_filters

    model = create_model()
    kernel = model.get_layer("conv1").get_weights()[0]  # (3, 3, 3, 32)
    path = tmp_path / "filters.png"
    figure = plot_first_layer_filters(model, path=path)
    axes = [axis for axis in figure.get_axes() if axis.images]
    learned = [axis for axis in axes if axis.get_title().isdigit()]
    assert [axis.get_title() for axis in learned] == [str(index) for index in range(32)]
    pictures = np.stack([np.asarray(axis.images[0].get_array()) for axis in learned], axis=-1)
    scale = np.abs(kernel).max()  # one scale for all: 0 is mid-grey, the largest weight 0 or 1
    np.testing.assert_allclose(pictures, 0.5 + 0.5 * kernel / scale, atol=1e-6)
    assert pictures.min() >= 0 and pictures.max() <= 1
    assert np.isclose(np.abs(pictures - 0.5).max(), 0.5)
    edges = {axis.get_title(): np.asarray(axis.images[0].get_array()) for axis in axes
             if axis.get_title() in EDGE_FILTERS}
    assert list(edges) == list(EDGE_FILTERS)
    vertical = edges["vertical edges"]
    assert (vertical[..., 0] == vertical[..., 2]).all()  # grey: the same in R, G and B
    assert vertical[1, 0, 0] == 1 and vertical[1, 2, 0] == 0 and vertical[1, 1, 0] == 0.5
    assert "conv1" in figure.get_suptitle() and "edge filters" in figure.get_suptitle()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dense = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    with pytest.raises(SettingsError, match="no Conv2D"):
        plot_first_layer_filters(dense)
    plt.close("all")


# Hostile test, item C: a plot saved where no image file can go says so, without the
# temporary file's name.

def test_a_plot_path_without_an_image_suffix_is_refused(tmp_path):
    images, labels = random_images(30)
    with pytest.raises(SettingsError, match="needs an image suffix such as .png") as refused:
        plot_sample_images(images, labels, path=tmp_path / "samples")
    assert "partial" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []
    plt.close("all")


def test_a_plot_path_that_is_a_folder_is_refused(tmp_path):
    images, labels = random_images(30)
    history = {"accuracy": [0.3, 0.5], "loss": [1.9, 1.4]}
    (tmp_path / "plots.png").mkdir()
    for draw, folder in [(lambda path: plot_sample_images(images, labels, path=path), tmp_path),
                         (lambda path: plot_history(history, path=path), tmp_path / "plots.png")]:
        with pytest.raises(OutputError, match=r"is a folder: give a file name such as .*plot\.png"):
            draw(folder)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plots.png"]
    assert list((tmp_path / "plots.png").iterdir()) == []
    plt.close("all")
