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


def plot_normalization(images: np.ndarray, index: int = 0) -> Figure:
    """One image and the histogram of its pixel values before and after normalising.

    Used by lesson 1, to show that dividing by 255 changes the scale of the numbers (0..255
    to 0..1) but not the picture.

    Args:
        images: uint8 images.
        index: which image to show.

    Returns:
        The `Figure`, with three axes: the image, raw values, normalised values.
    """
    raw = np.asarray(images[index])
    scaled = raw.astype(np.float32) / 255.0
    figure, (picture, before, after) = plt.subplots(1, 3, figsize=(12, 3.2))
    picture.imshow(raw)
    picture.set_title("The image")
    picture.axis("off")
    before.hist(raw.ravel(), bins=32, range=(0, 255), color="tab:orange")
    before.set_title("Before: uint8 values 0..255")
    after.hist(scaled.ravel(), bins=32, range=(0, 1), color="tab:green")
    after.set_title("After: float32 values 0..1")
    for axis in (before, after):
        axis.set_xlabel("Pixel value")
        axis.set_ylabel("Number of values")
    figure.tight_layout()
    return figure


# Two hand-made 3x3 filters: the kind of edge detector a trained first layer often learns.
EDGE_FILTERS = {
    "vertical edges": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32),
    "horizontal edges": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float32),
}


def plot_convolution_example(image: np.ndarray) -> Figure:
    """An image and what two 3x3 edge filters make of it (their feature maps, after ReLU).

    A convolution slides each small filter over the image and writes, at each place, how
    strongly that patch matches the filter. Used by lesson 2 (`02_the_model.ipynb`).

    Args:
        image: one uint8 image, shape (32, 32, 3).

    Returns:
        The `Figure`: the image, then one feature map per filter.
    """
    import tensorflow as tf

    gray = np.asarray(image, dtype=np.float32).mean(axis=-1) / 255.0
    figure, axes = plt.subplots(1, 1 + len(EDGE_FILTERS), figsize=(4 * (1 + len(EDGE_FILTERS)), 3.6))
    axes[0].imshow(image)
    axes[0].set_title("Input image (32x32)")
    for axis, (name, kernel) in zip(axes[1:], EDGE_FILTERS.items()):
        feature_map = tf.nn.relu(
            tf.nn.conv2d(gray[None, :, :, None], kernel[:, :, None, None], strides=1, padding="VALID")
        ).numpy()[0, :, :, 0]
        axis.imshow(feature_map, cmap="magma")
        axis.set_title(f"Feature map: {name} ({feature_map.shape[0]}x{feature_map.shape[1]})")
    for axis in axes:
        axis.axis("off")
    figure.tight_layout()
    return figure


def plot_augmentations(image: np.ndarray, count: int = 7, seed: int = 0) -> Figure:
    """One image and `count` random augmented versions of it, side by side.

    Used by lesson 5's "Data augmentation" section.

    Args:
        image: one uint8 image, shape (32, 32, 3).
        count: how many augmented versions to show.
        seed: seed of the random flips and shifts.

    Returns:
        The `Figure`.
    """
    import keras

    from cnn_lesson.further import augmentation

    layers_ = augmentation(seed=seed)
    batch = np.repeat(np.asarray(image, dtype=np.float32)[None] / 255.0, count, axis=0)
    augmented = keras.ops.convert_to_numpy(layers_(batch, training=True))
    figure, axes = plt.subplots(1, count + 1, figsize=(1.6 * (count + 1), 2))
    for axis, picture, title in zip(axes, [batch[0], *augmented],
                                    ["original", *[f"random {i + 1}" for i in range(count)]]):
        axis.imshow(np.clip(picture, 0, 1))
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    return figure


def plot_learning_rate(
    schedule, total_steps: int,
    steps_per_epoch: int | None = None,
) -> Figure:
    """The learning rate of every training step under `schedule`. Used by lesson 5.

    Args:
        schedule: a schedule such as `one_cycle_schedule(...)`.
        total_steps: how many steps to draw.
        steps_per_epoch: when given, the x axis counts epochs instead of steps.

    Returns:
        The `Figure`.
    """
    steps = np.arange(total_steps)
    rates = [float(schedule(step)) for step in steps]
    figure, axis = plt.subplots(figsize=(6, 3))
    x = steps / steps_per_epoch if steps_per_epoch else steps
    axis.plot(x, rates)
    axis.set_xlabel("epoch" if steps_per_epoch else "training step")
    axis.set_ylabel("learning rate")
    axis.set_title("One-cycle learning rate: warm up, then decay")
    return figure


def plot_accuracy_against_time(
    runs: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    target: float | None = 0.80,
) -> Figure:
    """Accuracy against seconds of training, one line per recipe. Used by lesson 5.

    Args:
        runs: `(label, seconds at the end of each epoch, accuracy after each epoch)` triples.
        target: draw a dotted line at this accuracy (None: none).

    Returns:
        The `Figure`.
    """
    figure, axis = plt.subplots(figsize=(7, 4))
    for label, seconds, accuracy in runs:
        axis.plot([0, *seconds], [0.1, *accuracy], marker="o", label=label)
    if target is not None:
        axis.axhline(target, linestyle=":", color="grey", label=f"{target:.0%} target")
    axis.set_xlabel("seconds of training")
    axis.set_ylabel("accuracy")
    axis.set_title("Accuracy against training time")
    axis.legend(loc="lower right")
    return figure
