"""What the trained model gets right and wrong: predictions, confusion matrix, precision
and recall, mistakes.

Used by lesson 4 (`04_results.ipynb`). Plot helpers return the matplotlib `Figure` and save it
only when given a `path`; tables are `cnn_lesson.tables.Table`s. Trying the model on the
learner's own picture lives in `cnn_lesson.own_image`.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnn_lesson.arguments import checked
from cnn_lesson.checkpoints import CheckpointError, reads_its_input
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.data.checks import checked_class_names, checked_images, class_numbers
from cnn_lesson.config import whole_number
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.plots import colours_last, save_figure
from cnn_lesson.tables import Table
from cnn_lesson.model_checks import check_classifier
from cnn_lesson.training import MAX_BATCH_SIZE, normalize_images

ANIMALS = ("bird", "cat", "deer", "dog", "frog", "horse")  # the other four are vehicles
MAX_MISTAKES_SHOWN = 100  # plot_mistakes' largest count: 512 took half a minute to draw


def flat_labels(labels: np.ndarray) -> np.ndarray:
    """Labels of shape (N, 1) or (N,) as a flat int64 array (N,).

    Raises:
        DataError: the labels are not class numbers (None, text, 2.5, -1, ...).
    """
    return class_numbers(labels, classes=None)


@checked
def predict(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's ten class probabilities for each image. Used by lesson 4.

    Args:
        model: a trained model.
        images: uint8 images (N, 32, 32, 3), normalised here like in training; float images
            are taken as already normalised to 0..1.
        batch_size: images per batch.

    Returns:
        A float array of shape (N, 10); `probabilities.argmax(axis=1)` is the prediction.

    Raises:
        ValueError: float images that are not in 0..1 (normalise them, or pass the uint8 ones).
    """
    # one row of probabilities per image, not logits (anything else with a `predict`, such
    # as the tests' stand-ins, is taken at its word)
    if isinstance(model, keras.Model) or not callable(getattr(model, "predict", None)):
        check_classifier(model, "predict")
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise DataError(f"The images have shape {images.shape}; predict needs (N, 32, 32, 3) "
                        "with N of at least 1 (one image: images[:1], not images[0]).")
    expected = tuple(getattr(model, "input_shape", (None,))[1:])
    if expected and None not in expected and images.shape[1:] != expected:
        raise DataError(f"The images have shape {images.shape[1:]} each; this model takes "
                        f"{expected}: give it the images it was trained on (CIFAR-10: "
                        "32 x 32 pixels, 3 colours).")
    images = checked_images(images)
    if np.issubdtype(images.dtype, np.integer):
        images = normalize_images(images)
    batch_size = whole_number("batch_size", batch_size, maximum=MAX_BATCH_SIZE)
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0))


@checked
def confusion_matrix(
    true_labels: np.ndarray, predicted_labels: np.ndarray, num_classes: int = 10
) -> np.ndarray:
    """Count how often each true class (row) was predicted as each class (column).

    Computed with numpy (`np.bincount`) rather than `tf.math.confusion_matrix`: the labels are
    numpy arrays already, the result is exact integers without a tensor to convert, and a
    learner can read the one line that does it. Used by lesson 4.

    Args:
        true_labels: the correct labels, shape (N,) or (N, 1).
        predicted_labels: the model's labels, same length.
        num_classes: the number of classes.

    Returns:
        An int64 array of shape (num_classes, num_classes); `matrix[3, 5]` is the number of
        cats (3) predicted as dogs (5). The diagonal holds the correct predictions.

    Raises:
        DataError: the labels are not class numbers from 0 to num_classes-1, or their
            lengths differ.
    """
    num_classes = whole_number("num_classes", num_classes, maximum=1000)
    true = class_numbers(true_labels, classes=num_classes)
    predicted = class_numbers(predicted_labels, classes=num_classes)
    if len(true) != len(predicted):
        raise DataError(f"{len(true)} true labels but {len(predicted)} predicted labels.")
    counts = np.bincount(true * num_classes + predicted, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


@checked
@reads_its_input
def check_confusion_matrix(
    matrix: np.ndarray, test_labels: np.ndarray, test_accuracy: float, tolerance: int = 5
) -> None:
    """Checkpoint: the matrix counts every test image once, and its diagonal is the accuracy.

    Two ways of counting that must agree: Keras' accuracy from `evaluate`, and the diagonal
    of the matrix built from `predict`'s answers. They may differ by a few images at most
    (different batches can round a near-tie the other way). Used by lesson 4.

    Args:
        matrix: counts from `confusion_matrix`.
        test_labels: the test labels the matrix was built from.
        test_accuracy: the test accuracy `evaluate` measured.
        tolerance: how many images the two counts may differ by.

    Raises:
        CheckpointError: the matrix does not count every test image once, or its diagonal
            disagrees with the test accuracy.
    """
    # A negative tolerance failed every matrix; a huge one passed every matrix.
    tolerance = whole_number("tolerance", tolerance, minimum=0, maximum=1_000)
    matrix = np.asarray(matrix)
    total, correct = int(matrix.sum()), int(np.trace(matrix))
    expected = len(flat_labels(test_labels))
    if total != expected:
        raise CheckpointError(
            f"The confusion matrix counts {total:,} images, but there are {expected:,} test "
            "images: build it from all test labels and all predictions "
            "(Kernel > Restart Kernel and Run All Cells runs the cells in order).")
    if total == 0 or not abs(correct - test_accuracy * total) <= tolerance:  # NaN fails too
        raise CheckpointError(
            f"The diagonal holds {correct:,} correct answers ({correct / max(total, 1):.1%}), "
            f"but the test accuracy measured above is {test_accuracy:.1%}: the predictions "
            "and the accuracy come from different models or data. Run all cells again, in "
            "order.")
    line = (f"Checkpoint: the matrix counts all {total:,} test images once; its diagonal holds "
            f"{correct:,} correct answers ({correct / total:.1%}), the test accuracy measured "
            "above.")
    print(line)


def _row_fractions(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)


@checked
def plot_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    normalize: bool = False,
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """Draw the confusion matrix with class names on both axes and each cell annotated.

    Used by lesson 4 (`04_results.ipynb`).

    Args:
        matrix: counts from `confusion_matrix`.
        class_names: the names of the rows and columns.
        normalize: show each row as fractions of that true class (the diagonal is then the
            per-class accuracy) instead of counts.
        title: the title; a default says counts or fractions.
        path: save the figure there as PNG when given (`~` is the home folder).

    Returns:
        The `Figure`, with one axis: x "Predicted class", y "True class".
    """
    matrix = _checked_matrix(matrix, class_names)
    values = _row_fractions(matrix) if normalize else matrix
    figure, axis = plt.subplots(figsize=(8, 7))
    picture = axis.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    figure.colorbar(picture, ax=axis, fraction=0.046, pad=0.04)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    axis.set_yticks(ticks, labels=class_names)
    axis.set_xlabel("Predicted class")
    axis.set_ylabel("True class")
    axis.set_title(title or ("Confusion matrix (share of each true class)" if normalize
                             else "Confusion matrix (counts)"))
    threshold = 0.5 if normalize else values.max() / 2  # white text on dark cells
    for row in range(values.shape[0]):
        for column in range(values.shape[1]):
            value = values[row, column]
            axis.text(column, row, f"{value:.2f}" if normalize else f"{int(value)}",
                      ha="center", va="center", fontsize=8,
                      color="white" if value > threshold else "black")
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


@checked
def per_class_accuracy(
    true_labels: np.ndarray, predicted_labels: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> Table:
    """How many images of each class the model got right, best class first. Used by lesson 4.

    Args:
        true_labels: the correct labels.
        predicted_labels: the model's labels.
        class_names: the class names (their number is the number of classes).

    Returns:
        A `Table` of rows `{"class", "correct", "total", "accuracy"}`, sorted from the highest
        accuracy to the lowest (ties in class order); a class with no images comes last with
        accuracy `nan`.
    """
    # A class's accuracy is its recall: the columns of `precision_and_recall`, in its order.
    return Table({"class": row["class"], "correct": row["correct"], "total": row["images"],
                  "accuracy": row["recall"]}
                 for row in precision_and_recall(true_labels, predicted_labels, class_names))


def _checked_matrix(matrix, class_names: Sequence[str]) -> np.ndarray:
    """`matrix` as an array, or a SettingsError unless it is a square matrix of counts with a
    row per class, as `confusion_matrix` returns it."""
    given = matrix
    matrix = np.asarray(matrix)
    count = len(checked_class_names(class_names))
    # Whole counts: a matrix of shares (rows that add up to 1) was truncated to 0s.
    if matrix.shape != (count, count) or not np.issubdtype(matrix.dtype, np.number) \
            or np.iscomplexobj(matrix) or not np.all(np.isfinite(matrix)) or np.any(matrix < 0) \
            or np.any(matrix != np.round(matrix)):
        raise SettingsError(f"Pass the confusion matrix ({count} x {count} counts, from "
                            f"confusion_matrix), not {type(given).__name__} {given!r:.40} "
                            f"of shape {matrix.shape}.")
    return matrix


@checked
def most_confused_pairs(
    matrix: np.ndarray, class_names: Sequence[str] = CLASS_NAMES, top: int = 5
) -> Table:
    """The mistakes the model makes most often: which true class it takes for which other.

    Used by lesson 4 (`04_results.ipynb`).

    Args:
        matrix: counts from `confusion_matrix`.
        class_names: the class names.
        top: how many pairs to list at most.

    Returns:
        A `Table` of rows `{"true", "predicted", "count", "share of true"}` (the count as a
        fraction of that true class's images), largest count first; only pairs that happened.
    """
    matrix = _checked_matrix(matrix, class_names)
    top = whole_number("top", top)  # -1 dropped the last pair (a slice)
    fractions = _row_fractions(matrix)
    pairs = [
        (int(matrix[t, p]), t, p)
        for t in range(matrix.shape[0]) for p in range(matrix.shape[1])
        if t != p and matrix[t, p] > 0
    ]
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return Table(
        {"true": class_names[t], "predicted": class_names[p], "count": count,
         "share of true": float(fractions[t, p])}
        for count, t, p in pairs[:top]
    )


@checked
def precision_and_recall(
    true_labels: np.ndarray, predicted_labels: np.ndarray, class_names: Sequence[str] = CLASS_NAMES
) -> Table:
    """Recall and precision of each class, best recall first. Used by lesson 4.

    Recall is the share of a class's images that the model got right (its accuracy on that
    class): of the 1,000 frogs, how many did it call "frog"? Precision is the share of the
    model's answers "X" that were right: of all the images it called "frog", how many were
    frogs? A class with high recall and low precision is one the model answers too often.

    Args:
        true_labels: the correct labels.
        predicted_labels: the model's labels.
        class_names: the class names (their number is the number of classes).

    Returns:
        A `Table` of rows `{"class", "images", "answered", "correct", "recall",
        "precision"}`: the class's images, how often the model answered that class, how many
        of those answers were right, `correct / images` and `correct / answered` (`nan` when
        the divisor is 0). Sorted from the highest recall to the lowest, ties in class order,
        `nan` last.
    """
    class_names = checked_class_names(class_names)
    matrix = confusion_matrix(true_labels, predicted_labels, len(class_names))
    rows = []
    for index, name in enumerate(class_names):
        images, answered = int(matrix[index].sum()), int(matrix[:, index].sum())
        correct = int(matrix[index, index])
        rows.append({"class": name, "images": images, "answered": answered, "correct": correct,
                     "recall": correct / images if images else float("nan"),
                     "precision": correct / answered if answered else float("nan")})
    rows.sort(key=lambda row: -1.0 if math.isnan(row["recall"]) else row["recall"],
              reverse=True)
    return Table(rows)


@checked
def mistakes_by_kind(
    matrix: np.ndarray, class_names: Sequence[str] = CLASS_NAMES, animals: Sequence[str] = ANIMALS
) -> Table:
    """How many mistakes take one animal for another, one vehicle for another, or mix them.

    Used by lesson 4 (`04_results.ipynb`), to count how many of the mistakes are between
    similar-looking classes.

    Args:
        matrix: counts from `confusion_matrix`.
        class_names: the class names, in the matrix's order.
        animals: the classes that are animals (a list, tuple, set or any iterable of
            names); every other class counts as a vehicle.

    Returns:
        A `Table` of four rows `{"mistake", "count", "share of mistakes"}`: "an animal taken
        for another animal", "a vehicle taken for another vehicle", "an animal taken for a
        vehicle", "a vehicle taken for an animal"; the shares add up to 1 (`nan` with no
        mistakes at all).
    """
    matrix = _checked_matrix(matrix, class_names)
    default = animals is ANIMALS
    if not isinstance(animals, (str, bytes)):
        animals = list(animals)  # once: a generator was used up by the check below
    # The default lists CIFAR-10's animals, whatever classes are given; a list of one's own
    # must name classes ("Cat" counted the class "cat" as a vehicle, silently).
    unknown = (["(not a list)"] if isinstance(animals, (str, bytes))
               else [] if default
               else [name for name in animals if name not in class_names])
    if unknown:  # an unknown name counted its class as a vehicle, silently
        raise SettingsError(f"animals must be a list of class names ({', '.join(class_names)}); "
                            f"{', '.join(map(str, unknown))} is not one.")
    is_animal = np.array([name in animals for name in class_names])
    wrong = matrix * (1 - np.eye(len(class_names), dtype=matrix.dtype))
    counts = {
        "an animal taken for another animal": wrong[is_animal][:, is_animal].sum(),
        "a vehicle taken for another vehicle": wrong[~is_animal][:, ~is_animal].sum(),
        "an animal taken for a vehicle": wrong[is_animal][:, ~is_animal].sum(),
        "a vehicle taken for an animal": wrong[~is_animal][:, is_animal].sum(),
    }
    total = int(wrong.sum())
    return Table({"mistake": kind, "count": int(count),
                  "share of mistakes": int(count) / total if total else float("nan")}
                 for kind, count in counts.items())


@checked
def most_confident_mistakes(
    true_labels: np.ndarray,
    predicted_labels: np.ndarray,
    probabilities: np.ndarray | None = None,
    count: int = 16,
) -> np.ndarray:
    """The positions of the misclassified images, the ones the model was surest of first.

    Without probabilities they come in the order of the test set. `plot_mistakes` shows
    these images. Used by lesson 4.

    Args:
        true_labels: the correct labels.
        predicted_labels: the model's labels.
        probabilities: the model's (N, classes) probabilities, those `predicted_labels`
            came from (`probabilities.argmax(axis=1)`); optional.
        count: how many to return at most.

    Returns:
        An int array of at most `count` positions into the test set.

    Raises:
        SettingsError: the probabilities are not one row of probabilities per image
            (`checked_probabilities`: logits, NaN, rows not adding up to 1), or not the
            ones the predicted labels came from (for more than 1% of the images, and more
            than 2, a label is not its row's most probable class).
    """
    count = whole_number("count", count, minimum=0)
    true, predicted = flat_labels(true_labels), flat_labels(predicted_labels)
    if len(true) != len(predicted):
        raise DataError(f"{len(true)} true labels but {len(predicted)} predicted labels.")
    wrong = np.flatnonzero(true != predicted)
    if probabilities is not None:
        confidence = _confidence(probabilities, predicted)
        wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return wrong[:count]


# How far a row of probabilities may add up from 1. A softmax computed in float32 adds up to 1
# within 1e-6, but one computed in bfloat16 (a model whose output layer runs in mixed_bfloat16)
# only within about 0.003, and float16's within 0.001: bfloat16 keeps 8 significant bits, so
# each of the ten probabilities is rounded by up to 0.2%. Logits and halved or doubled rows
# are far outside this.
SUM_TOLERANCE = 1e-2
# The share of images whose predicted label may be another class than the most probable one
# (beyond 2 images): near ties rounded the other way when the labels came from another
# predict of the same model. Another model's probabilities disagree on far more.
MISMATCHES_ALLOWED = 0.01


def checked_probabilities(probabilities, count: int, classes: int = 1, exact: bool = False,
                          model_output: bool = False) -> np.ndarray:
    """`probabilities` as a float64 array, or a SettingsError unless it has one row per image
    (`count`) and a column per class (at least `classes`; `exact`: that many), as `predict`
    returns them, and each row holds probabilities: from 0 to 1, adding up to 1 (within
    `SUM_TOLERANCE`).

    The one check of probabilities in the package: the results (`plot_mistakes`,
    `most_confident_mistakes`, `answers_among_mistakes`, `predict_image_file`) and lesson 4's
    explorer. NaN, infinite values and logits (a model without a softmax) were drawn as
    empty or full bars, titled "deer / ship (270%)", and ranked as the surest mistakes.

    Args:
        probabilities: what the caller was given (or what the model gave).
        count: the number of images, one row each.
        classes: the fewest columns (with `exact`, the number of columns).
        exact: the number of columns must be `classes`.
        model_output: they came from the user's model, not from the user: the message then
            blames the model's last layer.
    """
    try:
        if np.iscomplexobj(probabilities):  # float64 would drop the imaginary part, silently
            raise TypeError("complex")
        array = np.asarray(probabilities, dtype=np.float64)
    except (TypeError, ValueError):
        raise SettingsError(f"The probabilities ({type(probabilities).__name__} "
                            f"{probabilities!r:.40}) cannot be read as numbers: pass what "
                            "predict returns, one row per image.") from None
    if array.ndim != 2 or len(array) != count or array.shape[1] < classes \
            or (exact and array.shape[1] != classes):
        raise SettingsError(f"The probabilities are {type(probabilities).__name__} of shape "
                            f"{array.shape}; expected one row per image ({count:,}) and one "
                            f"column per class ({classes}), as predict returns them.")
    if not np.all(np.isfinite(array)):
        wrong = "hold NaN or infinite values"
    elif array.size and (array.min() < -1e-6 or array.max() > 1 + 1e-6):
        wrong = f"go from {array.min():.3g} to {array.max():.3g}, not 0 to 1 (logits?)"
    else:
        sums = array.sum(axis=1)
        far = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
        wrong = f"of image {far[0]} add up to {sums[far[0]]:.3g}, not 1" if len(far) else ""
    if wrong and model_output:
        raise SettingsError(f"The model's outputs {wrong}: the model must end in a softmax, "
                            "Dense(10, activation='softmax'), as create_model's does, to give "
                            "each image's probabilities.")
    if wrong:
        raise SettingsError(f"The probabilities {wrong}: pass predict(model, images)'s output, "
                            "the softmax probabilities of each image (a model ending in "
                            "Dense(10, activation='softmax'), as create_model's does).")
    return array


def _confidence(probabilities, predicted: np.ndarray) -> np.ndarray:
    """Each image's probability of its predicted class (see `checked_probabilities`), or a
    SettingsError when the predicted labels are not these probabilities' answers.

    Probabilities from another model or another run ranked and titled the mistakes of these
    labels, silently. A tie may be broken either way, and a few near ties may round the other
    way in another predict (a bfloat16 softmax's logits are rounded by up to 0.8%), so only
    more than `MISMATCHES_ALLOWED` of the images is a disagreement.
    """
    probabilities = checked_probabilities(probabilities, len(predicted),
                                          int(predicted.max()) + 1 if predicted.size else 1)
    confidence = probabilities[np.arange(len(predicted)), predicted]
    behind = np.flatnonzero(probabilities.max(axis=1, initial=0) - confidence > 1e-6)
    if len(behind) > max(2, len(predicted) * MISMATCHES_ALLOWED):
        raise SettingsError(
            f"The probabilities do not go with the predicted labels: for {len(behind):,} of "
            f"the {len(predicted):,} images (image {behind[0]}, for one) the label is not the "
            "most probable class. Compute both from one predict: probabilities = "
            "predict(model, images), then predicted_labels = probabilities.argmax(axis=1).")
    return confidence


@checked
def answers_among_mistakes(
    true_labels: np.ndarray,
    predicted_labels: np.ndarray,
    probabilities: np.ndarray,
    count: int = 16,
    class_names: Sequence[str] = CLASS_NAMES,
) -> Table:
    """What the model answered in its `count` most confident mistakes (`plot_mistakes`'s gallery).

    Beside each answer, that class's precision on all the images given, so a class the model
    answers too often can be recognised. Used by lesson 4.

    Args:
        true_labels: the correct labels.
        predicted_labels: the model's labels.
        probabilities: the model's (N, classes) probabilities, those `predicted_labels`
            came from.
        count: how many mistakes, as in `plot_mistakes`.
        class_names: the class names.

    Returns:
        A `Table` of rows `{"answer", "times", "precision of that answer"}`, the most frequent
        answer first (ties in class order); only answers that occur.

    Raises:
        SettingsError: as `most_confident_mistakes`'s.
    """
    predicted = flat_labels(predicted_labels)
    shown = most_confident_mistakes(true_labels, predicted, probabilities, count)
    times = np.bincount(predicted[shown], minlength=len(class_names))
    precision = {row["class"]: row["precision"]
                 for row in precision_and_recall(true_labels, predicted, class_names)}
    order = sorted((index for index in range(len(class_names)) if times[index]),
                   key=lambda index: -times[index])
    return Table({"answer": class_names[index], "times": int(times[index]),
                  "precision of that answer": precision[class_names[index]]}
                 for index in order)


@checked
def plot_mistakes(
    images: np.ndarray,
    true_labels: np.ndarray,
    predicted_labels: np.ndarray,
    probabilities: np.ndarray | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
    count: int = 16,
    columns: int = 4,
    path: str | os.PathLike | None = None,
) -> Figure:
    """A gallery of misclassified images titled "true / predicted (confidence)".

    With probabilities, the mistakes the model was most sure of come first (the most
    instructive ones; see `most_confident_mistakes`); without, they come in the order of the
    test set. Used by lesson 4.

    Args:
        images: uint8 images (N, 32, 32, 3), colours last (or (N, height, width, 1) grey).
        true_labels: the correct labels.
        predicted_labels: the model's labels.
        probabilities: the model's (N, 10) probabilities, those `predicted_labels` came
            from, for the confidence; optional.
        class_names: the class names.
        count: how many mistakes to show at most, from 1 to `MAX_MISTAKES_SHOWN` (100: a
            figure of a few seconds to draw).
        columns: columns of the grid, from 1 to 100.
        path: save the figure there as PNG when given (`~` is the home folder).

    Returns:
        The `Figure`; each axis's title is e.g. "cat / dog (87%)". With no mistakes at all,
        one axis says so.

    Raises:
        DataError: the images are not pictures with their colours last, or not one per label;
            the labels or class names are not what they must be.
        SettingsError: `count` or `columns` out of range; the probabilities are not one row
            of probabilities per image, or not those the predicted labels came from (see
            `most_confident_mistakes`).
    """
    classes = len(checked_class_names(class_names))
    # 0 said "No mistakes" of wrong answers; thousands took minutes and a giant figure.
    count = whole_number("count", count, maximum=MAX_MISTAKES_SHOWN)
    true = class_numbers(true_labels, classes=classes)
    predicted = class_numbers(predicted_labels, classes=classes)
    images = colours_last(images, channels=(1, 3))  # channels first failed in matplotlib
    if len(images) != len(true):  # the gallery would show other images than it names
        raise DataError(f"{len(images):,} images but {len(true):,} labels: pass the images the "
                        "labels belong to (test_images with test_labels).")
    columns = whole_number("columns", columns, maximum=100)  # a figure, not a memory error
    wrong = most_confident_mistakes(true, predicted, probabilities, count)
    confidence = None
    if probabilities is not None:
        confidence = _confidence(probabilities, predicted)
    rows = max(1, -(-len(wrong) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 2.2, rows * 2.4), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    if len(wrong) == 0:
        axes[0, 0].text(0, 0.5, "No mistakes: every image was classified correctly.")
    for axis, index in zip(axes.ravel(), wrong):
        axis.imshow(images[index])
        title = f"{class_names[true[index]]} / {class_names[predicted[index]]}"
        if confidence is not None:
            title += f" ({confidence[index]:.0%})"
        axis.set_title(title, fontsize=9)
    figure.suptitle("Misclassified images: true / predicted (confidence)")
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure
