"""The seventh hostile pass over the results (lesson 4) and the plots: each of these ended in
a raw matplotlib error, drew a wrong figure, or counted or answered silently wrong.

The findings' numbers are the pass's (its report, helper A)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import cnn_lesson as lesson  # noqa: E402
from cnn_lesson.data import CLASS_NAMES  # noqa: E402
from cnn_lesson.errors import DataError, SettingsError  # noqa: E402
from tests.helpers import each_refused, random_images  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    """20 images, two per class, and answers that are all wrong (each class taken for the
    next one)."""
    images, labels = random_images(20)
    true = labels.ravel().astype(np.int64)
    return images, true, (true + 1) % 10


def softmax_rows(predicted, dtype="float32") -> np.ndarray:
    """Softmax probabilities, each row's highest at `predicted`, computed in `dtype` as a
    model whose output layer computes in that dtype gives them."""
    logits = np.random.default_rng(2).normal(0, 1, (len(predicted), 10))
    logits[np.arange(len(predicted)), predicted] += 4
    tensor = keras.ops.convert_to_tensor(logits.astype("float32"), dtype=dtype)
    return keras.ops.convert_to_numpy(keras.ops.softmax(tensor, axis=-1))


# Finding 8: images of any channel count reached matplotlib ("Invalid shape (3, 32, 32)").

@pytest.mark.parametrize("shape_of, text", [
    (lambda images: images.transpose(0, 3, 1, 2),
     "These look channels-first: pass images.transpose(0, 2, 3, 1)."),
    (lambda images: images[..., :2], "pictures need their colours last, (N, height, width, 3)"),
])
def test_finding_8_plot_mistakes_refuses_images_it_cannot_draw(data, shape_of, text):
    images, true, predicted = data
    each_refused([(lambda: lesson.plot_mistakes(shape_of(images), true, predicted), DataError,
                   text)])
    grey = lesson.plot_mistakes(images[..., :1], true, predicted, count=2)  # still drawn
    assert len([axis for axis in grey.axes if axis.get_title()]) == 2


# Finding 11: no upper bound on count (512 mistakes took half a minute to draw).
# Finding 14: count=0 drew "No mistakes: every image was classified correctly".

@pytest.mark.parametrize("count", [101, 10_000, 0, -1])
def test_findings_11_and_14_plot_mistakes_count_from_1_to_100(data, count):
    images, true, predicted = data
    each_refused([(lambda: lesson.plot_mistakes(images, true, predicted, count=count),
                   SettingsError, f"count={count}: use a whole number from 1 to 100.")])


# Finding 15: a generator of animals was used up by the check: every class a vehicle.

def test_finding_15_mistakes_by_kind_takes_a_generator_of_animals():
    matrix = np.random.default_rng(3).integers(0, 50, (10, 10))
    expected = lesson.mistakes_by_kind(matrix, animals=["cat", "dog"])
    assert lesson.mistakes_by_kind(matrix, animals=(a for a in ["cat", "dog"])) == expected
    assert expected[0]["count"] == matrix[3, 5] + matrix[5, 3]  # cat <-> dog


# Finding 16: plot_sample_images took text as one-letter names, and a name twice.

@pytest.mark.parametrize("class_names", ["airplane", ["a"] * 10])
def test_finding_16_plot_sample_images_checks_the_class_names(class_names):
    images, labels = random_images(20)
    each_refused([(lambda: lesson.plot_sample_images(images, np.minimum(labels, 7), rows=2,
                                                     columns=2, class_names=class_names),
                   DataError, "class_names must be a list of different names")])


# Finding 13 (the results): logits were taken as probabilities ("deer / ship (270%)").

class _FixedModel:
    """Stands in for a Keras model: gives `outputs` for every image."""

    def __init__(self, outputs):
        self.outputs = np.asarray(outputs, dtype=np.float32)

    def predict(self, images, batch_size=None, verbose=0):
        return np.repeat(self.outputs[np.newaxis], len(images), axis=0)


LOGITS = "not 0 to 1 (logits?)"


def test_finding_13_the_results_refuse_what_are_not_probabilities(data, tmp_path):
    images, true, predicted = data
    logits = np.random.default_rng(1).normal(0, 3, (len(true), 10))
    halves = softmax_rows(predicted) / 2  # from 0 to 1, but rows adding up to 0.5
    picture = tmp_path / "mine.png"
    Image.fromarray(images[0]).save(picture)
    each_refused([
        (lambda: lesson.plot_mistakes(images, true, predicted, logits), SettingsError, LOGITS),
        (lambda: lesson.most_confident_mistakes(true, predicted, logits), SettingsError, LOGITS),
        (lambda: lesson.answers_among_mistakes(true, predicted, logits), SettingsError, LOGITS),
        (lambda: lesson.plot_mistakes(images, true, predicted, halves), SettingsError,
         "of image 0 add up to 0.5, not 1"),
        (lambda: lesson.most_confident_mistakes(true, predicted, halves), SettingsError,
         "add up to 0.5, not 1"),
        (lambda: lesson.predict_image_file(_FixedModel(logits[0]), picture), SettingsError,
         LOGITS),
        (lambda: lesson.predict_image_file(_FixedModel(np.full(10, 0.05)), picture),
         SettingsError, "of image 0 add up to 0.5, not 1"),
    ])
    # One check: the explorer says the same about the same probabilities.
    messages = []
    for call in (lambda: lesson.plot_mistakes(images, true, predicted, logits),
                 lambda: lesson.prediction_explorer(None, images, true, probabilities=logits)):
        with pytest.raises(SettingsError) as caught:
            call()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_finding_13_softmax_of_every_precision_passes(data, tmp_path, dtype):
    """A model computing its softmax in float16 or bfloat16 gives rows adding up to 1 only
    within 0.3% or so (bfloat16 keeps 8 significant bits); they are probabilities."""
    images, true, predicted = data
    probabilities = softmax_rows(predicted, dtype)
    assert probabilities.dtype.name == dtype
    figure = lesson.plot_mistakes(images, true, predicted, probabilities, count=4)
    assert all(axis.get_title().endswith("%)") for axis in figure.axes if axis.get_title())
    assert len(lesson.most_confident_mistakes(true, predicted, probabilities)) == 16
    assert lesson.answers_among_mistakes(true, predicted, probabilities, count=4)
    assert len(lesson.prediction_explorer(None, images, true,
                                          probabilities=probabilities).mistakes) == 20
    picture = tmp_path / "mine.png"
    Image.fromarray(images[0]).save(picture)
    guesses = lesson.predict_image_file(_FixedModel(probabilities[0]), picture)
    assert guesses[0][0] == CLASS_NAMES[predicted[0]]
    # and logits are refused in this precision too
    with pytest.raises(SettingsError, match=r"\(logits\?\)"):
        lesson.plot_mistakes(images, true, predicted,
                             np.log(probabilities.astype(np.float32)), count=4)


def test_finding_13_the_explorer_refuses_a_model_without_softmax(data):
    images, true, _ = data
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(10, bias_initializer="ones",
                                                 kernel_initializer="zeros")])
    # predict refuses it by its last layer before its outputs are computed
    each_refused([(lambda: lesson.prediction_explorer(model, images, true), SettingsError,
                   "has no softmax, so it answers raw scores (logits)")])


# Finding 12 (the plots): a path starting with ~ was taken as a folder called "~".

def test_finding_12_a_figures_path_may_start_with_a_tilde(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)  # a folder called "~" would appear here
    images, labels = random_images(20)
    lesson.plot_sample_images(images, labels, rows=2, columns=2, path="~/samples.png")
    lesson.save_figure(plt.figure(), "~/empty.png")
    assert sorted(path.name for path in home.iterdir()) == ["empty.png", "samples.png"]
    assert list(elsewhere.iterdir()) == []
