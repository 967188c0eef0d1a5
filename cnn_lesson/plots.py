"""Pictures of the data and of training, returned as matplotlib Figures.

Each function returns the `Figure` (so tests can look at its axes and labels) and saves it
only when given a `path`. Used by lesson 1 (sample grid) and lessons 3 and 4 (history).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnn_lesson.arguments import checked
from cnn_lesson.config import MAX_SEED, user_path, whole_number
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.data.checks import checked_class_names, checked_images, class_numbers, one_image
from cnn_lesson.errors import DataError, OutputError, SettingsError, shown
from cnn_lesson.files import atomic_path


@checked
def save_figure(figure: Figure, path: str | os.PathLike) -> None:
    """Save a figure as PNG, atomically (an interrupted save keeps the previous file).

    The format follows the suffix of `path` (`.png`, `.pdf`, `.svg`, ...); a path starting
    with `~` is in the home folder, as everywhere in the package (`config.user_path`).

    Raises:
        OutputError: `path` is a folder, or cannot be written.
        SettingsError: `path` has no image suffix matplotlib knows, or starts with a `~name`
            that names no user.
    """
    if not isinstance(figure, Figure):
        raise DataError(f"save_figure needs a matplotlib Figure, not {type(figure).__name__}: "
                        "pass the figure a plot function returned.")
    if not isinstance(path, (str, os.PathLike)):
        raise SettingsError(f"The figure's path must be a file name such as 'plot.png', not "
                            f"{type(path).__name__} {path!r}.")
    if "\0" in os.fspath(path):
        raise SettingsError(f"The figure's path {shown(path)!r} holds a NUL character, which no "
                            "file name can: give a file name such as 'plot.png'.")
    path = user_path(path, "The figure's path")  # "~/plot.png" was a folder called "~"
    if os.path.isdir(path):
        raise OutputError(f"{shown(path)} is a folder: give a file name such as "
                          f"{shown(Path(path) / 'plot.png')}.")
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in figure.canvas.get_supported_filetypes():
        raise SettingsError(f"Cannot save the figure as {shown(path)}: the path needs an image "
                            "suffix such as .png (or .pdf, .svg).")
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, bbox_inches="tight")


def colours_last(images, channels: tuple[int, ...] = (1, 3, 4)) -> np.ndarray:
    """`images` as `checked_images` takes them, or a DataError unless they are pictures
    matplotlib can draw: (N, height, width, c) with c in `channels`. A channels-first array
    (or a flat one) failed in matplotlib with "Invalid shape (3, 32, 32) for image data".
    Used by `plot_sample_images` and `evaluation.plot_mistakes`."""
    images = checked_images(images)
    if images.shape[-1] not in channels or min(images.shape[1:3]) < 1:
        hint = (" These look channels-first: pass images.transpose(0, 2, 3, 1)."
                if images.shape[1] == 3 else "")  # the explorers' hint
        raise DataError(f"The images have shape {images.shape}: pictures need their colours "
                        "last, (N, height, width, 3), as load_cifar10 gives them." + hint)
    return images


@checked
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
        class_names: names of the labels, each different (`checked_class_names`).
        path: save the figure there as PNG when given (`~` is the home folder).

    Returns:
        The `Figure`.

    Raises:
        DataError: the images are not pictures with their colours last; the labels are not
            one class number per image; class_names is not a list of different names.
        SettingsError: rows, columns or seed out of range, or fewer images than the grid.
    """
    rows, columns = (whole_number("rows", rows, maximum=100),
                     whole_number("columns", columns, maximum=100))
    seed = whole_number("seed", seed, minimum=0, maximum=MAX_SEED)
    images = colours_last(images)  # channels first, or a flat array, failed in matplotlib
    class_names = checked_class_names(class_names)  # text was read as one-letter names
    count = rows * columns
    if len(images) < count:
        raise SettingsError(f"Need at least {count} images for a {rows}x{columns} grid.")
    chosen = np.random.default_rng(seed).choice(len(images), size=count, replace=False)
    flat_labels = class_numbers(labels, count=len(images), classes=len(class_names))
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


def history_values(history, caller: str,
                   needed: Sequence[str] = ("accuracy", "loss")) -> dict[str, np.ndarray]:
    """A History's (or `.history` dict's) metrics as float arrays of one length, or a
    SettingsError that says what is wrong. Used by the plots of training curves.

    Args:
        history: what the caller was given.
        caller: the function's name, for the message.
        needed: the metrics it must hold.
    """
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise SettingsError(f"{caller} needs model.fit's History or its .history dict, "
                            f"not {type(history).__name__}.")
    for key in needed:
        if key not in values:
            from cnn_lesson.saving import accuracy_named_acc  # Keras, only for this message

            advice = key.endswith("accuracy") and accuracy_named_acc(values)
            raise SettingsError(f"{caller}: the history has no {key!r}"
                                + (f". {advice}" if advice else ": pass model.fit's History or "
                                   "its .history."))
    arrays = {}
    for key, series in values.items():
        try:
            arrays[key] = np.asarray(series, dtype=np.float64)
        except (TypeError, ValueError):
            arrays[key] = None
        except OverflowError:  # a whole number no float can hold, such as 10**400
            raise SettingsError(f"{caller}: the history's {key!r} holds a number too large to "
                                f"draw ({series!r:.40}...): each metric needs numbers as "
                                "model.fit's History has.") from None
        if arrays[key] is None or arrays[key].ndim != 1:
            raise SettingsError(f"{caller}: the history's {key!r} is {series!r:.60}: each "
                                "metric needs a list of numbers, one per epoch, as model.fit's "
                                "History has.")
    lengths = {key: len(series) for key, series in arrays.items()
               if key in ("accuracy", "loss", "val_accuracy", "val_loss")}
    if len(set(lengths.values())) > 1:
        raise SettingsError(f"{caller}: the history's lists have different lengths ({lengths}): "
                            "each needs one value per epoch, as model.fit's History has.")
    return arrays


@checked
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
        path: save the figure there as PNG when given (`~` is the home folder).

    Returns:
        The `Figure`, with two axes: accuracy and loss.
    """
    values = history_values(history, "plot_history")
    epochs = np.arange(1, len(values["accuracy"]) + 1)
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for axis, metric, label in ((accuracy_axis, "accuracy", "Accuracy"), (loss_axis, "loss", "Loss")):
        # tab10 blue and orange (colour-blind-safe), and a second cue: marker and line style
        axis.plot(epochs, values[metric], marker="o", linestyle="-", color="tab:blue",
                  label=f"training {metric}")
        if f"val_{metric}" in values:
            axis.plot(epochs, values[f"val_{metric}"], marker="s", linestyle="--",
                      color="tab:orange", label=f"validation {metric}")
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        axis.set_title(f"{label} per epoch")
        if len(epochs) <= 30:  # one tick per epoch; thousands took seconds to draw
            axis.set_xticks(epochs)
        else:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


@checked
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
    images = checked_images(images)
    if images.shape[-1] != 3 or not np.issubdtype(images.dtype, np.integer):
        raise DataError(f"plot_normalization needs the uint8 images, (N, 32, 32, 3) as "
                        f"load_cifar10 gives them, not {images.dtype} of shape {images.shape}.")
    if not -len(images) <= whole_number("index", index, minimum=-len(images)) < len(images):
        raise SettingsError(f"index={index}: there are {len(images):,} images, so use 0 to "
                            f"{len(images) - 1:,} (or -1 for the last).")
    raw = np.asarray(images[index])
    scaled = raw.astype(np.float32) / 255.0
    figure, (picture, before, after) = plt.subplots(1, 3, figsize=(12, 3.2))
    picture.imshow(raw)
    picture.set_title(f"Image {index}")
    picture.axis("off")
    before.hist(raw.ravel(), bins=32, range=(0, 255), color="tab:blue")
    before.set_title("Before: uint8 values 0..255")
    after.hist(scaled.ravel(), bins=32, range=(0, 1), color="tab:orange")
    after.set_title("After: float32 values 0..1")
    for axis in (before, after):
        axis.set_xlabel("Pixel value (red, green and blue together)")
        axis.set_ylabel("Number of values")
    figure.tight_layout()
    return figure


# Two hand-made 3x3 filters: the kind of edge detector a trained first layer often learns.
EDGE_FILTERS = {
    "vertical edges": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32),
    "horizontal edges": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float32),
}


@checked
def plot_convolution_example(image: np.ndarray) -> Figure:
    """An image, two 3x3 edge filters with their weights, and their feature maps (after ReLU).

    A convolution slides each small filter over the image and writes, at each place, how
    strongly that patch matches the filter. The image is turned grey first (the mean of red,
    green and blue) so that each filter has one 3x3 grid of weights to show; a layer of the
    network has a 3x3 grid per colour channel instead. Used by lesson 2 (`02_the_model.ipynb`).

    Args:
        image: one uint8 image, shape (32, 32, 3).

    Returns:
        The `Figure`: two rows (one per filter) of the input, the filter's weights and its
        feature map with a colour bar.
    """
    import tensorflow as tf

    image = one_image(image, "plot_convolution_example")
    gray = image.astype(np.float32).mean(axis=-1) / 255.0
    figure, axes = plt.subplots(len(EDGE_FILTERS), 3, figsize=(11, 3.6 * len(EDGE_FILTERS)),
                                gridspec_kw={"width_ratios": [1, 0.8, 1.2]})
    axes[0, 0].imshow(image)
    axes[0, 0].set_title("Input image (32x32, colour)")
    axes[1, 0].imshow(gray, cmap="gray", vmin=0, vmax=1)
    axes[1, 0].set_title("Turned grey first (mean of R, G, B)")
    for row, (name, kernel) in zip(axes, EDGE_FILTERS.items()):
        weights_axis, map_axis = row[1], row[2]
        weights_axis.imshow(kernel, cmap="coolwarm", vmin=-2, vmax=2)
        for (y, x), weight in np.ndenumerate(kernel):
            weights_axis.text(x, y, f"{weight:g}", ha="center", va="center", fontsize=14)
        weights_axis.set_title(f"3x3 weights, {name}")
        feature_map = tf.nn.relu(
            tf.nn.conv2d(gray[None, :, :, None], kernel[:, :, None, None], strides=1, padding="VALID")
        ).numpy()[0, :, :, 0]
        shown = map_axis.imshow(feature_map, cmap="magma")
        map_axis.set_title(f"Feature map, {name} ({feature_map.shape[0]}x{feature_map.shape[1]})")
        figure.colorbar(shown, ax=map_axis, label="response after ReLU")
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    return figure


@checked
def plot_overfitting(histories: Mapping[str, object]) -> Figure:
    """Training and validation curves of several short runs side by side: overfitting, seen.

    Each run gets one colour and marker (colour-blind-safe `tab10` blue, orange, ...);
    training is drawn solid, validation dashed. Used by lesson 3 (`03_training.ipynb`), which
    trains the same small network with and without dropout on a few thousand images.

    Args:
        histories: `{label: History or its .history dict}`, each with accuracy, loss and
            their `val_` versions.

    Returns:
        The `Figure`, with two axes: accuracy and loss per epoch.
    """
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4))
    colours = plt.get_cmap("tab10").colors
    markers = "osD^v"
    metrics = ("accuracy", "loss", "val_accuracy", "val_loss")
    histories = {label: history_values(history, f"plot_overfitting ({label!r})", metrics)
                 for label, history in histories.items()}
    for index, (label, values) in enumerate(histories.items()):
        epochs = np.arange(1, len(values["loss"]) + 1)
        style = {"color": colours[index % 10], "marker": markers[index % len(markers)],
                 "markersize": 4}
        for axis, metric in ((accuracy_axis, "accuracy"), (loss_axis, "loss")):
            axis.plot(epochs, values[metric], linestyle="-", label=f"{label}: training", **style)
            axis.plot(epochs, values[f"val_{metric}"], linestyle="--",
                      label=f"{label}: validation", **style)
    for axis, metric in ((accuracy_axis, "Accuracy"), (loss_axis, "Loss")):
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.25
        axis.set_ylabel(f"{metric} (training: solid, validation: dashed)")
        axis.set_title(f"{metric} per epoch")
        axis.grid(alpha=0.3)
    accuracy_axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


@checked
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

    image = one_image(image, "plot_augmentations")
    count = whole_number("count", count, maximum=100)
    seed = whole_number("seed", seed, minimum=0, maximum=MAX_SEED)
    layers_ = augmentation(seed=seed)
    batch = np.repeat(image.astype(np.float32)[None] / 255.0, count, axis=0)
    augmented = keras.ops.convert_to_numpy(layers_(batch, training=True))
    figure, axes = plt.subplots(1, count + 1, figsize=(1.6 * (count + 1), 2))
    for axis, picture, title in zip(axes, [batch[0], *augmented],
                                    ["original", *[f"random {i + 1}" for i in range(count)]]):
        axis.imshow(np.clip(picture, 0, 1))
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    return figure


MAX_STEPS_DRAWN = 2_000  # more steps are drawn from this many, the warm-up's peak among them


@checked
def plot_learning_rate(
    schedule, total_steps: int,
    steps_per_epoch: int | None = None,
) -> Figure:
    """The learning rate of every training step under `schedule`. Used by lessons 3 and 5.

    Args:
        schedule: a schedule such as `one_cycle_schedule(...)` (or any Keras
            `LearningRateSchedule`), or a number: a constant learning rate, as
            `Adam(learning_rate=1e-3)` has.
        total_steps: how many steps to draw.
        steps_per_epoch: when given, the x axis counts epochs instead of steps.

    Returns:
        The `Figure`.
    """
    import numbers

    import keras

    total_steps = whole_number("total_steps", total_steps, maximum=1_000_000)
    if steps_per_epoch is not None:
        steps_per_epoch = whole_number("steps_per_epoch", steps_per_epoch)
    steps = np.arange(total_steps)
    if total_steps > MAX_STEPS_DRAWN:  # a schedule is called step by step: 1 ms each
        steps = np.unique(np.concatenate([
            np.linspace(0, total_steps - 1, MAX_STEPS_DRAWN).round().astype(int),
            [min(int(getattr(schedule, "warmup_steps", 0) or 0), total_steps - 1)]]))
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool) and schedule > 0:
        rates, title = [float(schedule)] * len(steps), "Constant learning rate"
    elif isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        rates = [float(schedule(step)) for step in steps]
        one_cycle = isinstance(schedule, keras.optimizers.schedules.CosineDecay) \
            and schedule.warmup_steps
        title = ("One-cycle learning rate: warm up, then decay" if one_cycle
                 else f"Learning rate: {type(schedule).__name__}")
    else:
        raise SettingsError(f"schedule={schedule!r:.80}: pass a learning-rate schedule such as "
                            "one_cycle_schedule(total_steps), or a positive number such as "
                            "1e-3 for a constant rate.")
    figure, axis = plt.subplots(figsize=(6, 3))
    x = steps / steps_per_epoch if steps_per_epoch else steps
    axis.plot(x, rates)
    axis.set_xlabel("epoch" if steps_per_epoch else "training step")
    axis.set_ylabel("learning rate")
    axis.set_title(title)
    return figure


@checked
def plot_accuracy_against_time(
    runs: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    validation_images: int | None = None,
) -> Figure:
    """Validation accuracy against seconds of training, one line per run. Used by lesson 5.

    Only measured points are drawn: one per epoch, at the seconds of training when it ended.
    Each run has its own colour (matplotlib's colour-blind-safe tab10 blue, orange, ...) and
    its own marker and line style, so the lines stay apart in grey too.

    Args:
        runs: `(label, seconds at the end of each epoch, validation accuracy after each
            epoch)` triples, such as `cnn_lesson.further.runs_to_compare` returns.
        validation_images: how many held-out images the accuracy was measured on, for the
            y axis' label.

    Returns:
        The `Figure`.

    Raises:
        SettingsError: a run is not `(label, seconds, accuracies)` with one accuracy for each
            time (also a ValueError).
    """
    colours = plt.get_cmap("tab10").colors
    markers, styles = ("o", "s", "^", "D"), ("-", "--", "-.", ":")
    figure, axis = plt.subplots(figsize=(7, 4))
    for index, run in enumerate(runs):
        try:
            label, seconds, accuracy = run
            seconds, accuracy = (np.asarray(seconds, np.float64), np.asarray(accuracy, np.float64))
        except (TypeError, ValueError, OverflowError):  # OverflowError: 10**400, say
            raise SettingsError(f"Each run must be (label, seconds, accuracies), as "
                                f"runs_to_compare gives them, not {run!r:.60}.") from None
        if seconds.ndim != 1 or accuracy.ndim != 1:
            raise SettingsError(f"{label}: the seconds and the accuracies must be lists, one "
                                "number per epoch, as runs_to_compare gives them.")
        if len(seconds) != len(accuracy):
            raise SettingsError(f"{label}: {len(seconds)} times but {len(accuracy)} accuracies.")
        axis.plot(seconds, accuracy, label=label, color=colours[index % len(colours)],
                  marker=markers[index % len(markers)], linestyle=styles[index % len(styles)])
    held_out = f" ({validation_images:,} held-out images)" if validation_images else ""
    axis.set_xlabel("seconds of training on this computer")
    axis.set_ylabel(f"validation accuracy{held_out}")
    axis.set_xlim(left=0)
    axis.set_title("Validation accuracy after each epoch, against training time")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    return figure


# The most filters plot_first_layer_filters draws: 8 rows of 8, twice create_model()'s 32.
MAX_FILTERS_DRAWN = 64


@checked
def plot_first_layer_filters(model, path: str | os.PathLike | None = None) -> Figure:
    """The first convolution's learned filters as tiny colour pictures, beside lesson 2's
    hand-made edge filters.

    Each filter of the model's first Conv2D layer (`conv1` in `create_model()`: 32 filters of
    3 x 3 pixels x 3 colour channels) is drawn as a 3 x 3 RGB picture: its red weights as the
    pixels' red, its green as green, its blue as blue. All filters share one scale,
    symmetric around 0: a weight of 0 is mid-grey, and the largest weight in size among all
    of them reaches full brightness (positive) or black (negative). Beside them, lesson 2's
    two edge filters (`EDGE_FILTERS`), grey because they are the same in all three channels,
    each on its own scale. Used by lesson 4 (`04_results.ipynb`).

    Args:
        model: a Keras model whose first Conv2D layer reads 3 colour channels (trained or
            not).
        path: save the figure there as PNG when given (`~` is the home folder).

    Returns:
        The `Figure`: one axis per learned filter, titled with its number (0, 1, ...), then
        one per edge filter, titled with its name. Of a convolution with more than
        `MAX_FILTERS_DRAWN` (64) filters, the first 64 are drawn, on their own scale, and
        the title says so ("The first 64 of its 4,096 filters").

    Raises:
        ValueError: the model has no Conv2D layer (nested blocks are looked into), its first
            convolution is separable or depthwise, or it does not read 3 channels.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise SettingsError(f"plot_first_layer_filters needs a Keras model (create_model()), "
                            f"not {type(model).__name__}.")
    from cnn_lesson.model import nested_layers

    convolutions = [layer for layer, _ in nested_layers(model)
                    if isinstance(layer, keras.layers.Conv2D | keras.layers.SeparableConv2D
                                  | keras.layers.DepthwiseConv2D)]
    if not convolutions:
        raise SettingsError("The model has no Conv2D layer: pass a model such as create_model().")
    layer = convolutions[0]
    if not isinstance(layer, keras.layers.Conv2D):  # one filter per input channel: not RGB
        raise SettingsError(
            f"The model's first convolution, {layer.name!r}, is a {type(layer).__name__}: it "
            "filters each colour channel on its own, so its filters are not colour pictures. "
            "This plot draws a first Conv2D layer's filters, as in create_model().")
    if not layer.get_weights():  # a model without an input shape has no weights yet
        raise SettingsError(f"{layer.name} has no weights yet: the model is not built. Give it "
                            "an input shape (keras.Input(shape=(32, 32, 3)) as its first layer, "
                            "as create_model() does).")
    kernel = np.asarray(layer.get_weights()[0], dtype=np.float32)  # rows, columns, RGB, filters
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise SettingsError(f"{layer.name}'s weights have shape {kernel.shape}: a first "
                            "convolution reading 3 colour channels has (rows, columns, 3, "
                            "filters).")
    count, size = kernel.shape[-1], f"{kernel.shape[0]} x {kernel.shape[1]}"
    # One axis per filter: 4,096 of them (create_model's widest) took minutes and gigabytes.
    kernel = kernel[..., :MAX_FILTERS_DRAWN]
    drawn = kernel.shape[-1]
    scale = float(np.abs(kernel).max()) or 1.0
    columns = min(drawn, 8)
    rows = -(-drawn // columns)
    figure = plt.figure(figsize=(1.1 * columns + 2.8, 1.15 * rows + 1.0), layout="constrained")
    learned, hand_made = figure.subfigures(1, 2, width_ratios=[columns, 2.2], wspace=0.04)
    for index, axis in enumerate(np.ravel(learned.subplots(rows, columns, squeeze=False))):
        if index < drawn:
            axis.imshow(0.5 + 0.5 * kernel[:, :, :, index] / scale, interpolation="nearest")
            axis.set_title(str(index), fontsize=8)
        axis.set_xticks([])
        axis.set_yticks([])
        axis.set_frame_on(index < drawn)
    which = f"Its {count}" if drawn == count else f"The first {drawn} of its {count:,}"
    learned.suptitle(f"{which} filters ({size} pixels x 3 colours), on one scale: a weight "
                     f"of 0 is mid-grey, +{scale:.2g} full colour, -{scale:.2g} no colour",
                     fontsize=10)
    for axis, (name, weights) in zip(np.ravel(hand_made.subplots(len(EDGE_FILTERS), 1)),
                                     EDGE_FILTERS.items()):
        grey = 0.5 + 0.5 * weights / float(np.abs(weights).max())
        axis.imshow(np.repeat(grey[:, :, None], 3, axis=2), interpolation="nearest")
        axis.set_title(name, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    hand_made.suptitle("Lesson 2's edge filters\n(the same in R, G, B)", fontsize=10)
    figure.suptitle(f"What {layer.name} learned, beside lesson 2's hand-made edge filters")
    if path is not None:
        save_figure(figure, path)
    return figure
