import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnn_lesson.data import CLASS_NAMES  # noqa: E402
from cnn_lesson.plots import (  # noqa: E402
    plot_accuracy_against_time,
    plot_augmentations,
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
    with pytest.raises(ValueError, match="at least 25"):
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
    assert path.is_file() and path.stat().st_size > 1000
    plt.close("all")


def test_history_plot_refuses_something_that_is_not_a_history():
    with pytest.raises(ValueError, match="History"):
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
    assert len(figure.axes) == 3
    for axis in figure.axes[1:]:
        assert axis.images[0].get_array().shape == (30, 30)
        assert "Feature map" in axis.get_title()
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


def test_accuracy_against_time_has_one_line_per_recipe_and_the_target():
    runs = [("reference", [40, 80], [0.5, 0.6]), ("further", [70, 140], [0.6, 0.8])]
    figure = plot_accuracy_against_time(runs)
    axis = figure.axes[0]
    labels = [line.get_label() for line in axis.lines]
    assert labels == ["reference", "further", "80% target"]
    assert list(axis.lines[1].get_xdata()) == [0, 70, 140]
    assert list(axis.lines[1].get_ydata()) == [0.1, 0.6, 0.8]
    plt.close("all")
