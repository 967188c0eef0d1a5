"""`@checked`: the public functions check their arguments against their annotations."""

from __future__ import annotations

import inspect
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pytest

import cnn_lesson as lesson
from cnn_lesson.arguments import _check, checked
from cnn_lesson.errors import CnnLessonError, SettingsError

if TYPE_CHECKING:  # a name that exists only for type checkers, as in the package's modules
    from keras import Model as NotImportedHere


@pytest.mark.parametrize("value, annotation, wanted", [
    ("no", bool, "True or False"),  # any non-empty text is true: fresh="no" deleted a backup
    (np.array([]), bool, "True or False"),
    (True, int, "a whole number"),
    (2.0, int, "a whole number"),
    (math.nan, float, "a finite number"),
    (math.inf, float, "a finite number"),
    (None, np.ndarray, "an array"),
    ({}, np.ndarray, "an array"),
    ("abc", Sequence[str], "a list"),
    ([1, 2], Sequence[str], "a list, each text"),
    (5, str | os.PathLike | None, "text or a path or None"),
    ([1], Mapping[str, object] | None, "a dict or None"),
])
def test_what_each_simple_annotation_refuses(value, annotation, wanted):
    assert _check(value, annotation) == wanted


@pytest.mark.parametrize("value, annotation", [
    (True, bool), (np.bool_(False), bool), (np.int32(3), int), (3, float), (np.float32(0.5), float),
    ([1, 2], np.ndarray), ((1, 2), np.ndarray), (np.uint8(3), np.ndarray), ("x", str),
    (Path("x"), str | os.PathLike), ("x", Path), (("a", "b"), Sequence[str]),
    (None, int | None), ({"a": 1}, Mapping[str, int]), (object(), Sequence),
])
def test_what_each_simple_annotation_takes(value, annotation):
    if annotation is Sequence:  # a bare Sequence still wants a list
        assert _check(value, annotation) == "a list"
    else:
        assert _check(value, annotation) is None


def test_a_checked_function_names_itself_the_argument_and_what_it_takes():
    @checked
    def fit(epochs: int, fresh: bool = False, model: NotImportedHere = None):
        return epochs, fresh

    assert fit(3, fresh=True) == (3, True)
    assert fit(3, model=object())[0] == 3  # an annotation it cannot evaluate is not checked
    with pytest.raises(SettingsError, match=re.escape(
            "fit(fresh='no'): fresh takes True or False, not str.")):
        fit(3, fresh="no")
    with pytest.raises(SettingsError, match="fit: missing a required argument: 'epochs'"):
        fit()
    assert fit.__wrapped__.__name__ == "fit" and "epochs" in str(inspect.signature(fit))


def test_every_public_function_is_checked():
    """A new public function gets `@checked` too, or this test names it."""
    import cnn_lesson.further as further

    functions = [getattr(lesson, name) for name in lesson.__all__]
    functions += [further.whitening_filters, further.create_further_model,
                  further.build_further_model, further.train_further, further.runs_to_compare]
    unchecked = [function.__name__ for function in functions
                 if inspect.isfunction(function) and not hasattr(function, "__wrapped__")]
    assert unchecked == []


def test_the_third_hostile_passs_bad_arguments(tmp_path):
    """Each ended in a raw TypeError, AttributeError, ValueError, OverflowError or
    MemoryError, or (fresh="no") deleted a backup."""
    import matplotlib.pyplot as plt

    from cnn_lesson.tables import Table

    images = np.zeros((4, 32, 32, 3), np.uint8)
    labels = np.arange(4)
    model = lesson.compile_model(lesson.create_model())
    log = tmp_path / "training_backup_history.json"
    log.write_text("an unfinished run's log")
    cases = [
        (lambda: lesson.resumable_training(tmp_path, fresh="no"), "fresh takes True or False"),
        (lambda: lesson.train(model, (images, labels), (images, labels), callbacks=None),
         "callbacks takes a list, not NoneType"),
        (lambda: lesson.train(model, (images, labels), (images, labels), callbacks=[5]),
         "callbacks holds 5, which is not a Keras callback"),
        (lambda: lesson.train(model, (images, labels), (images, labels), run=5),
         "run takes a dict or None"),
        (lambda: lesson.split_validation(None, None), "images takes an array, not NoneType"),
        (lambda: lesson.sample_browser(images, labels, class_names=None),
         "class_names takes a list"),
        (lambda: lesson.prediction_explorer(None, images, labels, probabilities=True),
         "The probabilities are bool of shape ()"),
        (lambda: lesson.create_model(dense_units=10**12), "from 1 to 100,000"),
        (lambda: lesson.plot_augmentations(images[0], count=10**12), "from 1 to 100"),
        (lambda: lesson.plot_mistakes(images, labels, labels, columns=10**12), "from 1 to 100"),
        (lambda: lesson.plot_learning_rate(1e-3, 10**12), "from 1 to 1,000,000"),
        (lambda: lesson.confusion_matrix(labels, labels, num_classes=10**12), "from 1 to 1,000"),
        (lambda: lesson.predict(model, images, batch_size=math.nan), "batch_size takes a whole"),
        (lambda: lesson.most_confused_pairs(np.eye(10), top=math.nan), "top takes a whole number"),
        (lambda: lesson.check_split((images, labels), (images, labels), math.inf, None),
         "total takes a whole number"),
        (lambda: lesson.check_confusion_matrix(np.eye(10), np.arange(10), math.inf),
         "the test accuracy measured above is inf%"),
        (lambda: lesson.layer_explorer(model, images[0], layer_names=True),
         "layer_names takes a list or None"),
        (lambda: lesson.live_training_plot(history=True),
         "live_training_plot needs model.fit's History or its .history dict, not bool"),
        (lambda: lesson.make_dataset(images, labels, shuffle=np.array([])),
         "shuffle takes True or False"),
        (lambda: lesson.prepare_output_dir(tmp_path, min_free_bytes="x"),
         "min_free_bytes takes a whole number"),
        (lambda: lesson.settings("abc"), "environ takes a dict or None"),
        (lambda: lesson.settings({"CNN_LESSON_QUICK": 5}), "CNN_LESSON_QUICK=5: environment"),
        (lambda: Table([1, 2, 3]), "A Table is made of rows"),
    ]
    for call, text in cases:
        with pytest.raises(CnnLessonError, match=re.escape(text)):
            call()
    assert log.read_text() == "an unfinished run's log"
    assert lesson.create_model(dense_units=np.int32(8)).count_params() > 0  # Keras refused it
    plt.close("all")
