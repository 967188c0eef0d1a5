"""Pictures of the data and of training, returned as matplotlib Figures.

Each function returns the `Figure` (so tests can look at its axes and labels) and saves it
only when given a `path`. Used by lesson 1 (sample grid) and lessons 3 and 4 (history).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.files import atomic_path


def save_figure(figure: Figure, path: str | os.PathLike) -> None:
    """Save a figure as PNG, atomically (an interrupted save keeps the previous file)."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight")


def plot_sample_images(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    rows: int = 5,
    columns: int = 5,
    title: str = "CIFAR-10 training images",
    class_names: Sequence[str] = CLASS_NAMES,
    path: str | os.PathLike | None = None,
) -> Figure:
    """A grid of random images, each titled with its class name (`sample_images.png`).

    Used by lesson 1 (`01_the_data.ipynb`) and the command line.

    Args:
        images: uint8 images, shape (N, 32, 32, 3).
        labels: their labels, shape (N, 1) or (N,).
        seed: which random images are shown; the same seed shows the same ones.
        rows: rows of the grid.
        columns: columns of the grid.
        title: the figure's title (say "synthetic" when the data is).
        class_names: names of the labels.
        path: save the figure there as PNG when given.

    Returns:
        The `Figure`.
    """
    count = rows * columns
    if len(images) < count:
        raise ValueError(f"Need at least {count} images for a {rows}x{columns} grid.")
    chosen = np.random.default_rng(seed).choice(len(images), size=count, replace=False)
    flat_labels = np.asarray(labels).reshape(-1)
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.6, rows * 1.75))
    for axis, index in zip(np.ravel(axes), chosen):
        axis.imshow(images[index])
        axis.set_title(class_names[int(flat_labels[index])], fontsize=9)
        axis.axis("off")
    figure.suptitle(title)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


def plot_history(
    history: Mapping[str, Sequence[float]] | object,
    title: str = "Training history",
    path: str | os.PathLike | None = None,
) -> Figure:
    """Accuracy (left) and loss (right) per epoch, training and validation (`training_history.png`).

    Used by lesson 4 (`04_results.ipynb`) and the command line.

    Args:
        history: a Keras `History`, or its `.history` dict (as stored in `metrics.json`).
        title: the figure's title.
        path: save the figure there as PNG when given.

    Returns:
        The `Figure`, with two axes: accuracy and loss.
    """
    values = getattr(history, "history", history)
    for key in ("accuracy", "loss"):
        if key not in values:
            raise ValueError(f"The history has no {key!r}: pass model.fit's History or its .history.")
    epochs = np.arange(1, len(values["accuracy"]) + 1)
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric, label in ((accuracy_axis, "accuracy", "Accuracy"), (loss_axis, "loss", "Loss")):
        axis.plot(epochs, values[metric], marker="o", label=f"training {metric}")
        if f"val_{metric}" in values:
            axis.plot(epochs, values[f"val_{metric}"], marker="o", label=f"validation {metric}")
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        axis.set_title(f"{label} per epoch")
        axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure
