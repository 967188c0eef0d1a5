"""Evaluation helpers against hand-computed results on a tiny known example (lesson 4)."""

from __future__ import annotations

import math

import keras
import matplotlib

matplotlib.use("Agg")  # tests draw figures without a display

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from cnn_lesson.errors import CnnLessonError, DataError
from cnn_lesson.checkpoints import CheckpointError
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.evaluation import (
    answers_among_mistakes,
    check_confusion_matrix,
    confusion_matrix,
    mistakes_by_kind,
    most_confident_mistakes,
    most_confused_pairs,
    per_class_accuracy,
    precision_and_recall,
    plot_confusion_matrix,
    plot_mistakes,
    predict,
)
from cnn_lesson.own_image import load_image_file, predict_image_file
from cnn_lesson.tables import Table

NAMES = ["a", "b", "c"]
# Six images: two of each class. The model gets 0->1, 1->1, 2->0 wrong or right as below.
TRUE = np.array([[0], [0], [1], [1], [2], [2]], dtype=np.uint8)
PREDICTED = np.array([0, 1, 1, 1, 0, 2])
MATRIX = np.array([[1, 1, 0],
                   [0, 2, 0],
                   [1, 0, 1]])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class FakeModel:
    """Stands in for a Keras model: records what it is given, returns fixed probabilities."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=np.float32)
        self.seen = []

    def predict(self, images, batch_size=32, verbose=0):
        self.seen.append(np.array(images))
        return np.repeat(self.probabilities[np.newaxis], len(images), axis=0)


def test_confusion_matrix_counts_by_hand():
    matrix = confusion_matrix(TRUE, PREDICTED, num_classes=3)
    np.testing.assert_array_equal(matrix, MATRIX)
    assert matrix.sum() == 6 and np.trace(matrix) == 4


def test_confusion_matrix_agrees_with_tensorflow():
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 10, 200), rng.integers(0, 10, 200)
    expected = tf.math.confusion_matrix(true, predicted, num_classes=10).numpy()
    np.testing.assert_array_equal(confusion_matrix(true, predicted), expected)


def test_confusion_matrix_rejects_bad_labels():
    with pytest.raises(DataError, match="6 true labels but 5"):
        confusion_matrix(TRUE, PREDICTED[:5], num_classes=3)
    with pytest.raises(DataError, match="from 0 to 2 .for 3 classes, e.g. class_names of 3 "
                                        "names.; these go from 0 to 3"):
        confusion_matrix(TRUE, [0, 1, 1, 1, 0, 3], num_classes=3)


def test_plot_confusion_matrix_counts():
    figure = plot_confusion_matrix(MATRIX, NAMES, path=None)
    axis = figure.axes[0]
    assert axis.get_xlabel() == "Predicted class"
    assert axis.get_ylabel() == "True class"
    assert "counts" in axis.get_title()
    assert [t.get_text() for t in axis.get_xticklabels()] == NAMES
    assert [t.get_text() for t in axis.get_yticklabels()] == NAMES
    assert [t.get_text() for t in axis.texts] == ["1", "1", "0", "0", "2", "0", "1", "0", "1"]


def test_plot_confusion_matrix_normalised_and_saved(tmp_path):
    path = tmp_path / "confusion.png"
    figure = plot_confusion_matrix(MATRIX, NAMES, normalize=True, path=path)
    axis = figure.axes[0]
    assert "share" in axis.get_title()
    assert [t.get_text() for t in axis.texts] == [
        "0.50", "0.50", "0.00", "0.00", "1.00", "0.00", "0.50", "0.00", "0.50"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_class_accuracy_sorted_best_first():
    table = per_class_accuracy(TRUE, PREDICTED, NAMES)
    assert isinstance(table, Table)
    assert table == [
        {"class": "b", "correct": 2, "total": 2, "accuracy": 1.0},
        {"class": "a", "correct": 1, "total": 2, "accuracy": 0.5},
        {"class": "c", "correct": 1, "total": 2, "accuracy": 0.5},
    ]
    text = repr(table)
    assert text.splitlines()[0].split() == ["class", "correct", "total", "accuracy"]
    assert "100.0%" in text and "50.0%" in text
    assert table._repr_html_().startswith("<table>") and "<td>b</td>" in table._repr_html_()


def test_per_class_accuracy_class_without_images_comes_last():
    table = per_class_accuracy(TRUE, PREDICTED, NAMES + ["d"])
    assert [row["class"] for row in table] == ["b", "a", "c", "d"]
    assert math.isnan(table[-1]["accuracy"]) and table[-1]["total"] == 0
    assert "—" in repr(table)


def test_most_confused_pairs():
    pairs = most_confused_pairs(MATRIX, NAMES, top=5)
    assert pairs == [
        {"true": "a", "predicted": "b", "count": 1, "share of true": 0.5},
        {"true": "c", "predicted": "a", "count": 1, "share of true": 0.5},
    ]
    assert most_confused_pairs(MATRIX, NAMES, top=1) == pairs[:1]
    bigger = MATRIX.copy()
    bigger[2, 0] = 7
    assert most_confused_pairs(bigger, NAMES)[0]["true"] == "c"
    assert most_confused_pairs(np.eye(3, dtype=int), NAMES) == []
    assert repr(Table()) == "(no rows)"


def test_precision_and_recall_by_hand():
    table = precision_and_recall(TRUE, PREDICTED, NAMES)
    assert isinstance(table, Table)
    # b: both b images right (recall 1) but 3 answers "b", one of them an a (precision 2/3)
    assert table == [
        {"class": "b", "images": 2, "answered": 3, "correct": 2, "recall": 1.0,
         "precision": 2 / 3},
        {"class": "a", "images": 2, "answered": 2, "correct": 1, "recall": 0.5,
         "precision": 0.5},
        {"class": "c", "images": 2, "answered": 1, "correct": 1, "recall": 0.5,
         "precision": 1.0},
    ]
    recall = {row["class"]: row["accuracy"] for row in per_class_accuracy(TRUE, PREDICTED, NAMES)}
    assert all(row["recall"] == recall[row["class"]] for row in table)
    assert repr(table).splitlines()[1].split() == ["b", "2", "3", "2", "100.0%", "66.7%"]


def test_precision_and_recall_of_a_class_never_seen_nor_answered():
    table = precision_and_recall(TRUE, PREDICTED, NAMES + ["d"])
    assert [row["class"] for row in table] == ["b", "a", "c", "d"]
    assert table[-1]["images"] == table[-1]["answered"] == 0
    assert math.isnan(table[-1]["recall"]) and math.isnan(table[-1]["precision"])


def test_mistakes_by_kind_by_hand_and_adding_up():
    # names: two animals and a vehicle; the a->b mistake is cat->dog, the c->a one ship->cat
    table = mistakes_by_kind(MATRIX, ["cat", "dog", "ship"])
    assert [(row["count"], row["share of mistakes"]) for row in table] == [
        (1, 0.5), (0, 0.0), (0, 0.0), (1, 0.5)]
    assert table[0]["mistake"] == "an animal taken for another animal"
    assert table[3]["mistake"] == "a vehicle taken for an animal"
    matrix = np.random.default_rng(3).integers(0, 50, (10, 10))
    counts = mistakes_by_kind(matrix, CLASS_NAMES)
    assert sum(row["count"] for row in counts) == matrix.sum() - np.trace(matrix)
    assert math.isclose(sum(row["share of mistakes"] for row in counts), 1.0)
    cat, dog, ship = (CLASS_NAMES.index(name) for name in ("cat", "dog", "ship"))
    only = np.zeros((10, 10), dtype=int)
    only[cat, dog], only[ship, cat] = 7, 3
    assert [row["count"] for row in mistakes_by_kind(only)] == [7, 0, 0, 3]
    assert all(math.isnan(row["share of mistakes"])
               for row in mistakes_by_kind(np.eye(10, dtype=int)))


def _gallery_probabilities():
    probabilities = np.full((6, 3), 0.1)
    probabilities[np.arange(6), PREDICTED] = 0.8
    probabilities[1] = [0.4, 0.6, 0.0]   # a taken for b, 60% sure
    probabilities[4] = [0.9, 0.05, 0.05]  # c taken for a, 90% sure
    return probabilities


def test_most_confident_mistakes_order():
    probabilities = _gallery_probabilities()
    assert most_confident_mistakes(TRUE, PREDICTED, probabilities).tolist() == [4, 1]
    assert most_confident_mistakes(TRUE, PREDICTED, probabilities, count=1).tolist() == [4]
    assert most_confident_mistakes(TRUE, PREDICTED).tolist() == [1, 4]
    assert most_confident_mistakes(TRUE, TRUE.ravel(), probabilities).tolist() == []


def test_answers_among_mistakes_counts_the_gallery_and_gives_precision():
    table = answers_among_mistakes(TRUE, PREDICTED, _gallery_probabilities(), count=16,
                                   class_names=NAMES)
    assert table == [{"answer": "a", "times": 1, "precision of that answer": 0.5},
                     {"answer": "b", "times": 1, "precision of that answer": 2 / 3}]
    assert answers_among_mistakes(TRUE, PREDICTED, _gallery_probabilities(), count=1,
                                  class_names=NAMES) == table[:1]
    true, predicted = np.array([0, 2, 1, 0]), np.array([1, 1, 1, 0])  # "b" answered 3 times
    probabilities = np.eye(3)[predicted] * 0.7 + 0.1  # rows of probabilities: 0.8, 0.1, 0.1
    counted = answers_among_mistakes(true, predicted, probabilities, class_names=NAMES)
    assert counted == [{"answer": "b", "times": 2, "precision of that answer": 1 / 3}]


def test_check_confusion_matrix_passes_and_catches(capsys):
    check_confusion_matrix(MATRIX, TRUE, 4 / 6)
    line = capsys.readouterr().out
    assert line.startswith("Checkpoint:") and "all 6 test images" in line and "4 correct" in line
    with pytest.raises(CheckpointError, match="6 test images"):
        check_confusion_matrix(MATRIX[:2], TRUE, 4 / 6)
    with pytest.raises(CheckpointError, match="different models"):
        check_confusion_matrix(MATRIX, TRUE, 3 / 6, tolerance=0)
    check_confusion_matrix(MATRIX, TRUE, 3 / 6, tolerance=1)  # a near-tie rounded differently


def test_plot_mistakes_most_confident_first(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    probabilities = np.full((6, 3), 0.1)
    probabilities[np.arange(6), PREDICTED] = 0.8
    probabilities[1] = [0.4, 0.6, 0.0]   # a taken for b, 60% sure
    probabilities[4] = [0.9, 0.05, 0.05]  # c taken for a, 90% sure
    path = tmp_path / "mistakes.png"
    figure = plot_mistakes(images, TRUE, PREDICTED, probabilities, NAMES, path=path)
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert titles == ["c / a (90%)", "a / b (60%)"]
    assert "true / predicted" in figure._suptitle.get_text()
    assert path.exists()
    one = plot_mistakes(images, TRUE, PREDICTED, probabilities, NAMES, count=1)
    assert [a.get_title() for a in one.axes if a.get_title()] == ["c / a (90%)"]
    unordered = plot_mistakes(images, TRUE, PREDICTED, None, NAMES)
    assert [a.get_title() for a in unordered.axes if a.get_title()] == ["a / b", "c / a"]


def test_plot_mistakes_with_no_mistakes():
    images = np.zeros((6, 32, 32, 3), dtype=np.uint8)
    figure = plot_mistakes(images, TRUE, TRUE, None, NAMES)
    assert "No mistakes" in figure.axes[0].texts[0].get_text()


def test_predict_normalises_uint8_images_with_a_real_model():
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(3, activation="softmax")])
    images = np.random.default_rng(1).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    probabilities = predict(model, images)
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    expected = model.predict(images.astype(np.float32) / 255, verbose=0)
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    with pytest.raises(DataError, match="not in 0..1"):
        predict(model, images.astype(np.float32))


def _write_image(path, size, mode="RGB", colour=(255, 0, 0)):
    fill = colour + (128,) if mode == "RGBA" else colour
    Image.new(mode, size, fill).save(path)
    return path


@pytest.mark.parametrize("name, size, mode", [("photo.png", (50, 37), "RGBA"),
                                              ("photo.jpg", (101, 67), "RGB")])
def test_predict_image_file_odd_sizes(tmp_path, name, size, mode):
    path = _write_image(tmp_path / name, size, mode)
    model = FakeModel([0.05, 0.6, 0.1, 0.25] + [0.0] * 6)
    guesses = predict_image_file(model, path, top=3)
    assert [name for name, _ in guesses] == ["automobile", "cat", "bird"]
    assert [round(p, 2) for _, p in guesses] == [0.6, 0.25, 0.1]
    (seen,) = model.seen
    assert seen.shape == (1, 32, 32, 3) and seen.dtype == np.float32
    assert 0.0 <= seen.min() and seen.max() <= 1.0


def test_load_image_file_colours(tmp_path):
    red = load_image_file(_write_image(tmp_path / "red.jpg", (90, 40)))
    assert red.shape == (32, 32, 3) and red.dtype == np.uint8
    assert red[..., 0].min() > 240 and red[..., 1:].max() < 15
    # half-transparent red on white is pink, not dark red
    pink = load_image_file(_write_image(tmp_path / "pink.png", (40, 90), "RGBA"))
    assert abs(int(pink[16, 16, 1]) - 127) <= 2 and pink[16, 16, 0] == 255
    squashed = load_image_file(tmp_path / "red.jpg", crop=False)
    assert squashed.shape == (32, 32, 3)


def test_predict_image_file_errors(tmp_path):
    model = FakeModel([0.1] * 10)
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture", encoding="utf-8")
    with pytest.raises(DataError, match="not an image") as caught:
        predict_image_file(model, text)
    assert isinstance(caught.value, CnnLessonError)
    with pytest.raises(DataError, match="No file at .*missing.jpg"):
        predict_image_file(model, tmp_path / "missing.jpg")
    with pytest.raises(DataError, match="folder"):
        predict_image_file(model, tmp_path)
    assert model.seen == []
