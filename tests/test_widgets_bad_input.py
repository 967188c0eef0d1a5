"""A hostile pass over the explorers, `Table` and `LivePlot`: each of these ended in a raw
error from PIL, numpy or Python, or (worse) showed a silently wrong picture or number."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnn_lesson import evaluation, widgets
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.live_plot import LivePlot
from cnn_lesson.tables import Table
from cnn_lesson.widgets import png_bytes, prediction_explorer, sample_browser
from tests.helpers import each_refused


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def labels():
    return np.arange(20) % 10


@pytest.fixture(scope="module")
def probabilities(labels):
    """Right on every image, 82% sure."""
    values = np.full((len(labels), 10), 0.02)
    values[np.arange(len(labels)), labels] = 0.82
    return values


def decoded(image_widget) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(image_widget.value))))


# Finding 1 and 2: images the explorers cannot show, a raw TypeError, IndexError or ValueError.

def test_the_explorers_refuse_images_they_cannot_show(images, labels, probabilities):
    each_refused([
        (lambda: sample_browser(images.transpose(0, 3, 1, 2), labels), DataError,
         "These look channels-first: pass images.transpose(0, 2, 3, 1)."),
        (lambda: sample_browser(np.arange(20), labels), DataError,
         "The images have shape (20,); expected (N, height, width, channels)"),
        (lambda: sample_browser(images[..., 0:1], labels), DataError,
         "the explorers show colour images (N, height, width, 3), channels last"),
        (lambda: sample_browser(images[:0], labels[:0], class_names=[]), DataError,
         "class_names must be a list of different names, such as CLASS_NAMES, not list []."),
        (lambda: prediction_explorer(None, np.arange(20), labels, probabilities=probabilities),
         DataError, "The images have shape (20,); expected (N, height, width, channels)"),
        (lambda: prediction_explorer(None, images.transpose(0, 3, 1, 2), labels,
                                     probabilities=probabilities),
         DataError, "These look channels-first"),
    ])


def test_no_images_is_still_a_browser_that_says_so(images, labels):
    browser = sample_browser(images[:0], labels[:0])
    assert "no images of this class" in browser.label.value and browser.index is None


# Finding 3: float images in 0..1 were shown black; int16 negative pixels wrapped around.

def test_float_images_in_0_to_1_are_shown_as_their_pixels(images, labels, probabilities):
    as_floats = images.astype(np.float32) / 255
    browser = sample_browser(as_floats, labels, show_pixels=True)
    assert bytes(browser.image.value) == png_bytes(images[0])
    assert browser.pixels.value == sample_browser(images, labels, show_pixels=True).pixels.value
    explorer = prediction_explorer(None, as_floats, labels, probabilities=probabilities)
    explorer.slider.value = 7
    np.testing.assert_array_equal(decoded(explorer.image)[::4, ::4], images[7])


def test_pixels_outside_0_to_255_are_refused_not_wrapped_around(images, labels, probabilities):
    each_refused([
        (lambda: sample_browser(images.astype(np.int16) - 128, labels), DataError,
         "These images hold pixel values from -128 to 127; pixels go from 0 to 255"),
        (lambda: prediction_explorer(None, images.astype(np.int32) * 2, labels,
                                     probabilities=probabilities), DataError,
         "pixels go from 0 to 255"),
        (lambda: sample_browser(images.astype(np.float32), labels), DataError,
         "These float images are not in 0..1"),
        (lambda: sample_browser(np.full((2, 32, 32, 3), np.nan), [0, 1]), DataError,
         "hold NaN or infinite values"),
    ])


# Finding 4: NaN, inf and logits were drawn as empty or full bars.

def test_prediction_explorer_refuses_what_are_not_probabilities(images, labels, probabilities):
    logits = np.random.default_rng(1).normal(0, 3, probabilities.shape)
    twice = probabilities * 2
    cases = [(np.where(probabilities > 0.5, np.nan, probabilities), "hold NaN or infinite"),
             (np.full_like(probabilities, np.inf), "hold NaN or infinite"),
             (logits, "not 0 to 1 (logits?)"),
             (np.clip(twice, 0, 1), "of image 0 add up to 1.36, not 1")]
    each_refused((lambda bad=bad: prediction_explorer(None, images, labels, probabilities=bad),
                  SettingsError, text) for bad, text in cases)
    with pytest.raises(SettingsError, match=r"pass predict\(model, images\)'s output, the "
                                            "softmax probabilities"):
        prediction_explorer(None, images, labels, probabilities=logits)
    float32 = probabilities.astype(np.float32)  # predict's own dtype: rounding is fine
    assert prediction_explorer(None, images, labels, probabilities=float32).mistakes.size == 0


# Finding 5: a repeated class name showed class 0's images; text was ten one-letter names.
# (The package's one check of class names, `checked_class_names`, as the tables use it.)

def test_class_names_must_be_a_list_of_different_names(images, labels, probabilities):
    repeated = list(CLASS_NAMES[:9]) + ["cat"]
    each_refused([
        (lambda: sample_browser(images, labels, class_names=repeated), DataError,
         "class_names must be a list of different names, such as CLASS_NAMES, not list "
         "['airplane'"),
        (lambda: prediction_explorer(None, images, labels, class_names=repeated,
                                     probabilities=probabilities), DataError,
         "class_names must be a list of different names"),
        (lambda: sample_browser(images, labels, class_names="abcdefghij"), DataError,
         "class_names must be a list of different names, such as CLASS_NAMES, not str "
         "'abcdefghij'."),
        (lambda: prediction_explorer(None, images, labels, class_names="abcdefghij",
                                     probabilities=probabilities), DataError,
         "not str 'abcdefghij'"),
    ])
    browser = sample_browser(images, labels, class_names=tuple(CLASS_NAMES))  # any sequence
    browser.class_dropdown.value = "truck"
    assert browser.index == 9


# Finding 6: the labels were checked, then converted again.

def test_the_explorers_check_the_labels_once(images, labels, probabilities, monkeypatch):
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return widgets.class_numbers.__wrapped__(*args, **kwargs)

    counted.__wrapped__ = widgets.class_numbers
    monkeypatch.setattr(widgets, "class_numbers", counted)
    monkeypatch.setattr(evaluation, "class_numbers", counted)  # flat_labels' check
    sample_browser(images, labels.reshape(-1, 1))
    assert len(calls) == 1
    explorer = prediction_explorer(None, images, labels.reshape(-1, 1),
                                   probabilities=probabilities)
    assert len(calls) == 2
    assert explorer.true_labels.shape == (20,) and explorer.true_labels.dtype == np.int64


# Finding 7: Table showed every float in 0..1 as a percentage, did not escape its HTML, and
# a row appended with other keys ended in a raw KeyError.

def test_table_percentages_only_in_columns_of_shares():
    table = Table([{"loss": 0.5, "lr": 0.001, "val_loss": 0.25, "val_accuracy": 0.5,
                    "share of true": 0.199, "precision": float("nan"), "epochs": 3}])
    assert repr(table).splitlines()[1].split() == [
        "0.5", "0.001", "0.25", "50.0%", "19.9%", "—", "3"]
    # The lessons' columns, as their stored outputs show them.
    lessons = Table([{"recall": 0.899, "precision of that answer": 0.6, "share of mistakes": 0.074,
                      "accuracy": 0.5, "validation": 0.819, "test + mirror": 0.826,
                      "test vs whole": "-1.94 points", "images/s": 1252}])
    assert repr(lessons).splitlines()[1].split() == [
        "89.9%", "60.0%", "7.4%", "50.0%", "81.9%", "82.6%", "-1.94", "points", "1252"]
    chosen = Table([{"lr": 0.001, "dropout": 0.25}], percentages=["dropout"])
    assert repr(chosen).splitlines()[1].split() == ["0.001", "25.0%"]
    assert repr(Table([], percentages=["accuracy"])) == "(no rows)"
    each_refused([
        (lambda: Table([{"a": 0.5}], percentages="a"), SettingsError,
         "percentages='a': pass a list of the table's column names (a)"),
        (lambda: Table([{"a": 0.5}], percentages=["b"]), SettingsError,
         "pass a list of the table's column names (a), or None"),
    ])


def test_table_html_escapes_its_text():
    table = Table([{"class <i>": "<b>cat</b> & dog", "accuracy": 0.5}])
    assert table._repr_html_() == (
        "<table><thead><tr><th>class &lt;i&gt;</th><th>accuracy</th></tr></thead><tbody>"
        "<tr><td>&lt;b&gt;cat&lt;/b&gt; &amp; dog</td><td>50.0%</td></tr></tbody></table>")


def test_table_shows_the_cells_a_row_lacks_as_dashes():
    table = Table([{"a": 1}])
    table.append({"b": 2})
    assert repr(table) == "a  b\n1  —\n—  2"
    assert "<td>—</td><td>2</td>" in table._repr_html_()


# Finding 8: LivePlot(show="no") is true, and drew.

def test_live_plot_show_is_a_flag():
    each_refused([
        (lambda: LivePlot(show="no"), SettingsError,
         "LivePlot(show='no'): show takes True or False or None, not str."),
        (lambda: LivePlot(show=0), SettingsError, "show takes True or False or None, not int"),
    ])
    assert LivePlot(show=np.bool_(False)).show == np.False_
    assert LivePlot().show is None and LivePlot(False).show is False
