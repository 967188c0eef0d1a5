"""`@checked`: the public functions check their arguments against their annotations."""

from __future__ import annotations

import inspect
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import keras
import numpy as np
import pytest

import cnn_lesson as lesson
from cnn_lesson.arguments import _check, checked
from cnn_lesson.errors import CnnLessonError, SettingsError
from tests.helpers import each_refused

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
    (np.array(3), np.ndarray, "an array"),  # 0-d: no images or labels in it
    ("abc", Sequence[str], "a list"),
    ([1, 2], Sequence[str], "a list, each text (item 0 is int)"),
    (10**400, float, "a finite number"),
    (5, str | os.PathLike | None, "text or a path or None"),
    ([1], Mapping[str, object] | None, "a dict or None"),
])
def test_what_each_simple_annotation_refuses(value, annotation, wanted):
    assert _check(value, annotation) == wanted


@pytest.mark.parametrize("value, annotation", [
    (True, bool), (np.bool_(False), bool), (np.int32(3), int), (3, float), (np.float32(0.5), float),
    ([1, 2], np.ndarray), ((1, 2), np.ndarray), ([[1], [1, 2]], np.ndarray), ("x", str),
    (Path("x"), str | os.PathLike), ("x", Path), (("a", "b"), Sequence[str]),
    (range(3), Sequence[int]),
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

    @checked
    def broken(count: int, size: int = 0):
        raise ValueError("deep inside")

    with pytest.raises(SettingsError, match=re.escape(
            "broken(count='3'): count takes a whole number, not str. (It failed with "
            "ValueError: deep inside.)")):
        broken("3")  # only checked once the call failed: the function's own checks come first
    with pytest.raises(ValueError, match="deep inside") as raw:  # every argument fits
        broken(3)
    assert not isinstance(raw.value, SettingsError)

    @checked
    def out_of_memory(size: int):
        raise MemoryError

    with pytest.raises(MemoryError):  # not an argument's fault, whatever the arguments
        out_of_memory("big")


def test_every_public_function_is_checked():
    """A new public function gets `@checked` too, or this test names it."""
    import cnn_lesson.further as further

    functions = [getattr(lesson, name) for name in lesson.__all__]
    functions += [further.whitening_filters, further.create_further_model,
                  further.build_further_model, further.train_further, further.runs_to_compare]
    unchecked = [function.__name__ for function in functions
                 if inspect.isfunction(function) and not getattr(function, "checked", False)]
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
         "callbacks=None: pass a list of Keras callbacks"),
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
        (lambda: lesson.predict(model, images, batch_size=math.nan), "batch_size=nan"),
        (lambda: lesson.most_confused_pairs(np.eye(10), top=math.nan),
         "top=nan: use a whole number"),
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
        (lambda: lesson.build_model(lesson.create_model, strategy="x"),
         "strategy='x': pass a tf.distribute strategy"),
    ]
    each_refused((call, CnnLessonError, text) for call, text in cases)
    assert log.read_text() == "an unfinished run's log"
    assert lesson.create_model(dense_units=np.int32(8)).count_params() > 0  # Keras refused it
    plt.close("all")


def test_the_fourth_hostile_passs_findings(tmp_path):
    """Each ended in a raw error (or, for numpy's seed, a crash after a whole epoch; for a
    pipe named history.json, a command that never ended; for save_history({}), a learner's
    history replaced by one that could not be read back)."""
    import json
    import subprocess
    import sys

    import matplotlib.pyplot as plt

    from cnn_lesson.backup import _facts

    images, labels = np.zeros((4, 32, 32, 3), np.uint8), np.arange(4)
    # numpy's numbers in a run's facts come back from the backup's JSON as they went in
    assert _facts({"x": np.int64(3), "y": np.float32(0.5), "z": np.bool_(True)}) == {
        "x": 3, "y": 0.5, "z": True}
    assert json.dumps(_facts({"x": np.int64(3)}))
    progress = lesson.resumable_training(tmp_path / "a", data=((images, labels),) * 2,
                                         seed=np.int64(3))
    progress.release()
    good = {"loss": [1.0], "accuracy": [0.5]}
    lesson.save_history(good, tmp_path)
    model = lesson.compile_model(lesson.create_model())
    ablation_file = tmp_path / "figures.json"
    ablation_file.write_text(json.dumps({"variants": [
        {"variant": "lesson5", "validation": None, "test": 0.8, "test_mirror": 0.8,
         "epoch_val_accuracy": [0.8]}]}))
    cases = [
        (lambda: lesson.resumable_training(tmp_path, run={"x": float("nan")}),
         "'x': nan is not one"),
        (lambda: lesson.resumable_training(tmp_path, run={"x": (1, 2)}), "'x': (1, 2) is not one"),
        (lambda: lesson.resumable_training(tmp_path, seed=-5), "seed=-5"),
        (lambda: lesson.save_history({}, tmp_path), "could not be loaded back: it has no 'loss'"),
        (lambda: lesson.make_dataset(np.full((2, 32, 32, 3), np.nan, np.float32), [0, 1]),
         "hold NaN or infinite values"),
        (lambda: lesson.make_dataset(np.full((2, 32, 32, 3), 1000), [0, 1]),
         "pixel values from 1000 to 1000"),
        (lambda: lesson.predict(model, np.full((2, 32, 32, 3), "a")), "are of type <U1"),
        (lambda: lesson.predict(model, images, batch_size=2**70),
         "batch_size=1180591620717411303424"),
        (lambda: lesson.predict(model, images, batch_size=0), "batch_size=0"),
        (lambda: lesson.evaluate(model, np.zeros((2, 64, 64, 3), np.uint8), [0, 1]),
         "The test images have shape (2, 64, 64, 3), but the model takes"),
        (lambda: lesson.split_validation(np.array(1), labels), "images takes an array"),
        (lambda: lesson.create_model(filters=(10**9, 2, 3)), "from 1 to 4,096"),
        (lambda: lesson.plot_augmentations(images[0], seed=2**70), "seed=1180591620717411303424"),
        (lambda: lesson.ablation(ablation_file), "does not hold the figures"),
        (lambda: lesson.plot_ablation(ablation_file), "does not hold the figures"),
        (lambda: lesson.plot_confusion_matrix(np.array(1)), "Pass the confusion matrix"),
        (lambda: lesson.plot_confusion_matrix(np.full((10, 10), np.inf)),
         "Pass the confusion matrix"),
        (lambda: lesson.plot_confusion_matrix(np.ones((10, 9))), "of shape (10, 9)"),
    ]
    each_refused((call, CnnLessonError, text) for call, text in cases)
    assert lesson.load_history(tmp_path) == good  # the refused save left it as it was
    lesson.check_history(good, np.int64(1))  # numpy's integers count as epochs
    assert lesson.settings({1: "x"}).seed == lesson.settings({}).seed  # other keys: ignored
    plt.close("all")

    # The command line with a pipe named like one of its files: refused, not waiting forever.
    output = tmp_path / "output"
    output.mkdir()
    os.mkfifo(output / "history.json")
    result = subprocess.run([sys.executable, "-m", "cnn_lesson", "train", "--quick", "--data",
                             "synthetic", "--epochs", "1", "--output", str(output)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 1 and "history.json, which this command would replace" in (
        result.stderr), result.stderr[-2000:]


def test_the_fourth_hostile_passs_last_findings():
    """Left open by the fourth pass: each was a raw error, or a silent wrong result (a NaN
    floor passed every accuracy, normalised images divided by 255 again, a gallery of other
    images than its titles name, a validation set of every image)."""
    import matplotlib.pyplot as plt

    from cnn_lesson.training import split_validation

    images, labels = np.zeros((20, 32, 32, 3), np.uint8), np.arange(20) % 10
    model = lesson.create_model()
    quick, full = lesson.settings({"CNN_LESSON_QUICK": "1"}), lesson.settings({})
    cases = [
        (lambda: lesson.plot_mistakes(images[:5], labels, (labels + 1) % 10),
         "5 images but 20 labels"),
        (lambda: lesson.plot_mistakes(images, labels, labels, class_names=["a", "b"]),
         "from 0 to 1"),
        (lambda: lesson.layer_explorer(model, images[0], ["dense"]),
         "Layer 'dense' gives no feature maps to show"),
        (lambda: lesson.compile_model(model, learning_rate=10**400), "learning_rate=1000"),
        (lambda: lesson.check_accuracy(0.3, "x", full, (0.65, 0.75), minimum=float("nan")),
         "minimum=nan"),
        (lambda: lesson.check_accuracy(0.3, "x", quick, (0.75, 0.65)), "the lower first"),
        (lambda: lesson.check_accuracy(0.3, "x", full, (0.65, 0.75), minimum=0.9),
         "minimum=0.9"),
        (lambda: split_validation(images, labels, fraction=0.99),
         "holds out all of them and leaves none to train on"),
        (lambda: split_validation(images, labels + 5), "these go from 5 to 14"),
        (lambda: lesson.normalize_images(lesson.normalize_images(images + 7)),
         "already normalised"),
    ]
    each_refused((call, CnnLessonError, text) for call, text in cases)
    # A checkpoint's own package error comes through as itself, not as "could not read".
    with pytest.raises(lesson.SettingsError, match="minimum=nan"):
        lesson.check_accuracy(0.3, "x", full, (0.65, 0.75), minimum=float("nan"))
    # What they refuse is all they refuse.
    assert lesson.normalize_images(images.astype(np.float64) + 7).max() == pytest.approx(7 / 255)
    assert len(split_validation(images, labels, fraction=0.9)[0][0]) == 2
    lesson.check_accuracy(0.62, "x", full, (0.65, 0.75), minimum=0.6)
    plt.close(lesson.plot_mistakes(images, labels, (labels + 1) % 10))


def test_the_fifth_hostile_passs_findings():
    """Raw errors (Keras' or TensorFlow's), silent wrong results (a learning rate that is 0 or
    infinite in float32) and a near hang (a million schedule calls, one by one)."""
    import time
    from fractions import Fraction

    import matplotlib.pyplot as plt

    model = lesson.create_model()
    cases = [
        (lambda: lesson.compile_model(model, 1e-300), "learning_rate=1e-300"),
        (lambda: lesson.compile_model(model, 1e40), "learning_rate=1e+40"),
        (lambda: lesson.build_model(lesson.create_model()), "create_model (no brackets)"),
        (lambda: lesson.build_model(lambda units: None), "could not be called without"),
        (lambda: lesson.create_model(filters=(4096, 4096, 4096), dense_units=100_000),
         "1,942,061,930 parameters"),
        (lambda: lesson.one_cycle_schedule(2**70), "total_steps=1180591620717411303424"),
        (lambda: lesson.one_cycle_schedule(10, 1e300), "peak_learning_rate=1e+300"),
        (lambda: lesson.one_cycle_schedule(10, float("inf")), "peak_learning_rate=inf"),
    ]
    each_refused((call, CnnLessonError, text) for call, text in cases)
    # What Keras refused but means what it says: an int, numpy's float, a Fraction.
    for rate in (1, np.float32(1e-3), Fraction(1, 1000)):
        assert float(lesson.compile_model(model, rate).optimizer.learning_rate) == pytest.approx(
            float(rate))  # float32
    assert float(lesson.one_cycle_schedule(10, Fraction(1, 100))(3)) > 0
    assert lesson.create_model(filters=(8, 8, 8), dense_units=8).count_params() > 0

    # Labels of shape (N, 1), then (N,), for the same model (both documented).
    images, labels = np.zeros((8, 32, 32, 3), np.uint8), np.arange(8).reshape(-1, 1)
    model = lesson.compile_model(lesson.create_model())
    first = lesson.evaluate(model, images, labels)
    assert lesson.evaluate(model, images, labels.ravel()) == pytest.approx(first)
    model.fit(lesson.make_dataset(images, labels.ravel()), verbose=0)
    lesson.evaluate(model, images, labels)

    # A million steps drawn from 2,000 of them, the warm-up's peak among them.
    started = time.perf_counter()
    figure = lesson.plot_learning_rate(lesson.one_cycle_schedule(1_000_000), 1_000_000)
    assert time.perf_counter() - started < 60  # was about 14 minutes
    assert max(figure.axes[0].lines[0].get_ydata()) == pytest.approx(2e-3)
    plt.close(figure)


def test_parameter_count_is_keras_count_before_the_model_is_built():
    from cnn_lesson.model import parameter_count

    for filters, units in [((32, 64, 128), 128), ((3, 5, 7), 11), ((64, 128, 256), 512)]:
        assert parameter_count(filters, units) == lesson.create_model(
            filters=filters, dense_units=units).count_params()


def test_the_fifth_hostile_passs_findings_in_checks_results_and_files(tmp_path):
    """Checkpoints that passed bad values, results built from wrong names or shares, and
    raw errors in the training helpers, the plots and the history files."""
    import matplotlib.pyplot as plt

    from cnn_lesson.checkpoints import CheckpointError
    from cnn_lesson.training import take_subset

    images, labels = np.zeros((8, 32, 32, 3), np.uint8), np.arange(8)
    full = lesson.settings({})
    matrix = np.diag(np.full(10, 5))
    five_classes = lesson.compile_model(keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Flatten(),
         keras.layers.Dense(5, activation="softmax")]))
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "history.json").write_text("[" * 100_000 + "]" * 100_000)
    cases = [
        (lambda: lesson.check_split(([], []), ([0], [0]), 10, 0), "max_train_images=0"),
        (lambda: lesson.check_split(([], []), ([0], [0]), 1, None), "both sets need images"),
        (lambda: lesson.check_history({"loss": [1.0], "val_loss": [np.nan]}, 1),
         "A validation loss is not a number"),
        (lambda: lesson.check_history({"loss": "1"}, 1), "The history's 'loss' is '1'"),
        (lambda: lesson.check_accuracy(True, "x", full, (0.65, 0.75)), "is True"),
        (lambda: lesson.check_confusion_matrix(matrix, np.arange(50) % 10, 1.0, tolerance=-1),
         "tolerance=-1"),
        (lambda: lesson.most_confused_pairs(matrix, top=-1), "top=-1"),
        (lambda: lesson.most_confused_pairs(matrix / 5.5), "Pass the confusion matrix"),
        (lambda: lesson.mistakes_by_kind(matrix, animals=["Cat", "dogs"]), "Cat, dogs is not"),
        (lambda: lesson.mistakes_by_kind(matrix, animals="cat"), "(not a list)"),
        (lambda: lesson.per_class_accuracy(labels, labels, class_names=["a"] * 10),
         "different names"),
        (lambda: lesson.plot_confusion_matrix(matrix, class_names="abcdefghij"),
         "different names"),
        (lambda: lesson.normalize_images(None), "needs pixel values from 0 to 255"),
        (lambda: lesson.normalize_images(np.full(3, -4)), "needs pixel values from 0 to 255"),
        (lambda: lesson.normalize_images(np.full(3, 300, np.uint16)), "from 0 to 255"),
        (lambda: lesson.normalize_images(np.full(3, 1j)), "from 0 to 255"),
        (lambda: lesson.train(five_classes, (images, labels, labels), (images, labels)),
         "train_data must be (images, labels)"),
        (lambda: lesson.evaluate(five_classes, images, labels), "labels go up to 7, but the "
         "model answers 5 classes"),
        (lambda: lesson.save_history({"loss": "123", "accuracy": "456"}, tmp_path),
         "save_history needs the History"),
        (lambda: lesson.save_history({None: [1.0], "None": [1.0]}, tmp_path),
         "save_history needs the History"),
        (lambda: lesson.save_history({"loss": [10**400], "accuracy": [0.5]}, tmp_path),
         "save_history needs the History"),
        (lambda: lesson.load_history(tmp_path / "history.json"), "not a file's path"),
        (lambda: lesson.load_history(tmp_path / "empty"), "No training history at"),
        (lambda: lesson.load_history(deep), "nested deeper than any JSON file"),
        (lambda: lesson.load_trained_model(str(tmp_path) + " ", (images, labels)),
         "with spaces around its name"),
        (lambda: lesson.plot_sample_images(images, labels, seed=-1), "seed=-1"),
        (lambda: lesson.plot_sample_images(images.transpose(0, 3, 1, 2), labels, rows=2,
                                           columns=2), "colours last"),
        (lambda: lesson.plot_sample_images(np.arange(30), labels), "The images have shape"),
        (lambda: lesson.plot_normalization(np.arange(5)), "The images have shape"),
        (lambda: lesson.save_figure(plt.figure(), tmp_path / "a\0.png"), "NUL character"),
        (lambda: lesson.save_model(five_classes, str(tmp_path) + "/a\0b"), "NUL character"),
        (lambda: lesson.plot_first_layer_filters(keras.Sequential([keras.layers.Conv2D(4, 3)])),
         "has no weights yet"),
        (lambda: lesson.resumable_training(None, data=((None, None), (None, None))),
         "data must be (train_data, validation_data)"),
    ]
    lesson.save_history({"loss": [1.0], "accuracy": [0.5]}, tmp_path)
    (tmp_path / "empty").mkdir()
    each_refused((call, CnnLessonError, text) for call, text in cases)
    with pytest.raises(CheckpointError):  # a checkpoint's own error, not a SettingsError
        lesson.check_history({"loss": [1.0], "val_loss": [np.inf]}, 1)
    plt.close("all")
    # What they refuse is all they refuse.
    assert len(take_subset(list(images), list(labels), 5)[0]) == 5  # lists were a raw error
    assert lesson.most_confused_pairs(matrix + 1, top=2)[0]["count"] == 1
    assert lesson.load_history(tmp_path)["loss"] == [1.0]
    lesson.check_history({"loss": [1.0], "val_loss": [2.0]}, 1)


def test_explain_parameters_says_what_each_layer_counts():
    """The fifth hostile pass: '+ 1 bias' for layers without one, a raw error for batch
    normalisation without a scale, and 'no parameters' for layers that have some."""
    model = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, use_bias=False),
        keras.layers.BatchNormalization(scale=False), keras.layers.DepthwiseConv2D(3),
        keras.layers.Flatten(), keras.layers.Dense(3, use_bias=False)])
    rows = lesson.explain_parameters(model)
    assert [row[1] for row in rows] == [
        "(3x3x3 weights) x 4 filters", "3 x 4 (beta learned; mean, variance tracked)",
        "DepthwiseConv2D: 40 parameters (not broken down here)",
        "no parameters: a fixed operation", "(64 inputs) x 3 units"]
    assert sum(row[2] for row in rows) == model.count_params()
    # The lesson's model reads as lesson 2 shows it.
    assert lesson.explain_parameters(lesson.create_model())[1][1] == (
        "4 x 32 (gamma, beta learned; mean, variance tracked)")


def test_the_sixth_hostile_passs_findings(tmp_path, capsys):
    """Raw errors (ragged lists, 10**400) and silent wrong results (a scalar normalised, text
    as an accuracy, a history with a metric one epoch short, percentages as shares, a
    float32 share printed as a number, complex probabilities, a damaged lesson 3 history
    called missing, a dangling link where a solutions folder goes)."""
    import subprocess
    import sys

    from cnn_lesson.further import runs_to_compare
    from cnn_lesson.tables import Table

    images, labels = np.zeros((4, 32, 32, 3), np.uint8), np.arange(4)
    full = lesson.settings({})
    good = {"seconds": [1.0, 2.0], "val_accuracy": [0.5, 0.6]}
    cases = [
        (lambda: lesson.normalize_images([[1, 2], [3]]), "needs pixel values from 0 to 255"),
        (lambda: lesson.normalize_images(5), "needs pixel values from 0 to 255"),
        (lambda: lesson.sample_browser([[1, 2], [3]], [0, 1]), "The images have shape"),
        (lambda: lesson.check_history({"loss": [10**400]}, 1), "not one number per epoch"),
        (lambda: lesson.check_history({"loss": [1.0, 1.0], "val_loss": [1.0]}, 2),
         "The history's 'val_loss' holds 1 epoch(s), its 'loss' 2"),
        (lambda: lesson.check_accuracy("0.7", "x", full, (0.65, 0.75)), "is '0.7'"),
        (lambda: runs_to_compare(tmp_path, {"seconds": [10**400], "val_accuracy": [0.5]}),
         "must be lists of numbers"),
        (lambda: runs_to_compare(tmp_path, {"seconds": [1, 2], "val_accuracy": [50, 60]}),
         "must be lists of numbers"),
        (lambda: runs_to_compare(tmp_path, {"seconds": ["1"], "val_accuracy": [0.5]}),
         "must be lists of numbers"),
        (lambda: lesson.prediction_explorer(None, images, labels,
                                            probabilities=np.full((4, 10), 0.1 + 0j)),
         "cannot be read as numbers"),
    ]
    each_refused((call, CnnLessonError, text) for call, text in cases)
    assert "50.0%" in repr(Table([{"accuracy": np.float32(0.5)}]))
    (tmp_path / "history.json").write_text('{"loss": [NaN]}')
    capsys.readouterr()
    assert len(runs_to_compare(tmp_path, good)) == 1  # this lesson's run alone
    assert "Lesson 3's history cannot be used" in capsys.readouterr().out

    out = tmp_path / "edition"
    out.mkdir()
    (out / "solutions").symlink_to(tmp_path / "nowhere")
    result = subprocess.run([sys.executable, "-m", "cnn_lesson", "notebooks", "student",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "is a link to nothing" in result.stderr, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["solutions"]  # nothing written
