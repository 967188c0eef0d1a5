"""What each change of lesson 5's recipe buys: the benchmark's figures, shipped with the course.

`python benchmarks/further_tricks.py --variants lesson5,no-whitening,... --save
cnn_lesson/further_tricks.json` trains lesson 5's recipe whole and then with each of its
changes taken out in turn, on the real CIFAR-10, one after the other on one machine (about an
hour on 2 CPU cores); `--speed` then times each one's training step on its own. Lesson 5
shows those figures with `ablation()`, so that a learner sees
them without spending that hour.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from cnn_lesson.arguments import checked
from cnn_lesson.files import read_json
from cnn_lesson.errors import DataError
from cnn_lesson.tables import Table

FIGURES = Path(__file__).with_name("further_tricks.json")

# The benchmark's variants that take one change out of lesson 5's recipe, in lesson 5's words.
WITHOUT = {
    "lesson5": "the whole recipe",
    "no-augmentation": "without augmentation (flips, shifts)",
    "no-smoothing": "without label smoothing",
    "no-residual": "without the residual block",
    "no-whitening": "without whitening (first layer trained)",
    "constant-rate": "without the one-cycle schedule (constant 0.001)",
    "float32": "without mixed precision (float32)",
}


@checked
def ablation(path: str | os.PathLike = FIGURES) -> Table:
    """Lesson 5's recipe whole and with each change taken out: accuracy and speed.

    Used by lesson 5. The figures come from one run of `benchmarks/further_tricks.py` (see
    the module's docstring); the machine and the command are in the file.

    Args:
        path: the benchmark's `--save` file.

    Returns:
        A `Table`: for each recipe its validation and test accuracy, the test accuracy with
        the mirror image added (test-time augmentation), the changes in validation and test
        accuracy against the whole recipe, in points, and its training speed in images per
        second, timed on its own (`further_tricks.py --speed`; the seconds of the training
        runs are in the file too, but they also count whatever else the machine was doing).
    """
    measured = _measured(path)
    whole = measured["lesson5"]
    return Table(
        {"recipe": description,
         "validation": measured[variant]["validation"],
         "test": measured[variant]["test"],
         "test + mirror": measured[variant]["test_mirror"],
         "validation vs whole": _points(measured[variant], whole, "validation"),
         "test vs whole": _points(measured[variant], whole, "test"),
         "images/s": round(measured[variant]["images_per_second"])
         if "images_per_second" in measured[variant] else "—"}
        for variant, description in WITHOUT.items() if variant in measured)


def _measured(path) -> dict[str, dict]:
    """The benchmark's figures by variant, each checked, or a DataError that says what to do."""
    try:
        figures = read_json(path)
        measured = {result["variant"]: result for result in figures["variants"]}
        measured["lesson5"]
        for result in measured.values():
            numbers = [result[key] for key in ("validation", "test", "test_mirror")]
            numbers += list(result["epoch_val_accuracy"]) + [result.get("images_per_second", 1)]
            if not all(isinstance(value, (int, float)) and not isinstance(value, bool)
                       and math.isfinite(value) for value in numbers):
                raise ValueError(f"{result['variant']} holds a value that is not a number")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path} does not hold the figures of benchmarks/further_tricks.py "
                        f"--save ({error!r:.80}): run that benchmark again, or reinstall "
                        "the course.") from None
    return measured


def _points(result: dict, whole: dict, key: str) -> str:
    if result is whole:
        return "—"
    return f"{100 * (result[key] - whole[key]):+.2f} points"


@checked
def plot_ablation(path: str | os.PathLike = FIGURES) -> Figure:
    """Validation accuracy after each epoch, for the whole recipe and each change taken out.

    The same runs as `ablation()`'s table, epoch by epoch: whether a recipe was behind all
    along or only at the end. The whole recipe is drawn black and thick; the others in
    matplotlib's colour-blind-safe tab10 colours, each with its own marker. Used by lesson 5.

    Args:
        path: the benchmark's `--save` file.

    Returns:
        The `Figure`.
    """
    measured = _measured(path)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    markers = "osD^v<>"
    for index, (variant, description) in enumerate(
            (variant, text) for variant, text in WITHOUT.items() if variant in measured):
        accuracy = measured[variant]["epoch_val_accuracy"]
        style = ({"color": "black", "linewidth": 2.5, "marker": "o"} if variant == "lesson5"
                 else {"color": f"C{index - 1}", "linewidth": 1.2, "linestyle": "--",
                       "marker": markers[index % len(markers)]})
        axis.plot(range(1, len(accuracy) + 1), accuracy, label=description, **style)
    axis.set_xlabel("epoch")
    axis.set_ylabel("validation accuracy (5,000 held-out images)")
    axis.set_title("Lesson 5's recipe, whole and with one change taken out")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    return figure
