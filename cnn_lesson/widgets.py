"""Interactive explorers (ipywidgets) and a live training plot, for poking at data and model.

Each explorer is a function returning one widget, so a notebook cell needs a single line; the
widget keeps its controls as attributes (`.slider`, `.next_button`, `.image`, `.label`...),
which is also how the tests drive it. Pictures are shown as `ipywidgets.Image` PNGs, so
everything works (and is testable) without a browser.

Used by lesson 1 (`sample_browser`), lesson 2 (`layer_explorer`), lesson 3
(`live_training_plot`) and lesson 4 (`prediction_explorer`).
"""

from __future__ import annotations

import html
import io
from typing import Mapping, Sequence

import ipywidgets as widgets
import keras
import matplotlib
import numpy as np
from IPython import get_ipython
from IPython.display import Image as DisplayImage
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.evaluation import flat_labels, predict
from cnn_lesson.training import normalize_images

SHOWN_SIZE = 128  # pixels: a 32x32 image is shown 4 times larger, each pixel a crisp block


def png_bytes(image: np.ndarray, size: int = SHOWN_SIZE) -> bytes:
    """Encode a uint8 image (H, W, 3) or (H, W) as PNG, enlarged to `size` pixels wide.

    NEAREST resampling keeps each pixel a sharp square, so learners see how little a 32x32
    image holds. Used by every explorer in this module.
    """
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    height = max(1, round(size * picture.height / picture.width))
    buffer = io.BytesIO()
    picture.resize((size, height), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixel_table(image: np.ndarray) -> str:
    """HTML table of the normalised (0..1) minimum, mean and maximum of each colour channel."""
    values = normalize_images(image)
    rows = "".join(
        f"<tr><td>{name}</td><td>{values[..., c].min():.3f}</td>"
        f"<td>{values[..., c].mean():.3f}</td><td>{values[..., c].max():.3f}</td></tr>"
        for c, name in enumerate(("red", "green", "blue"))
    )
    return ("<table><tr><th>channel</th><th>min</th><th>mean</th><th>max</th></tr>"
            f"{rows}</table><small>pixel value / 255, as the model sees it</small>")


class SampleBrowser(widgets.VBox):
    """The widget `sample_browser` returns; see there."""

    def __init__(self, images, labels, class_names, show_pixels):
        self.images, self.labels = images, flat_labels(labels)
        self.class_names = list(class_names)
        self.class_dropdown = widgets.Dropdown(options=self.class_names, description="Class")
        self.slider = widgets.IntSlider(value=1, min=1, max=1, description="Image",
                                        continuous_update=False)
        self.previous_button = widgets.Button(description="◀ Previous")
        self.next_button = widgets.Button(description="Next ▶")
        self.image = widgets.Image(format="png", width=SHOWN_SIZE, height=SHOWN_SIZE)
        self.label = widgets.HTML()
        self.pixels = widgets.HTML() if show_pixels else None
        self.index: int | None = None  # the shown image's index in `images`
        self._members = np.array([], dtype=np.int64)
        controls = widgets.HBox([self.class_dropdown, self.previous_button, self.next_button])
        shown = [self.image, self.label] + ([self.pixels] if show_pixels else [])
        super().__init__([controls, self.slider, *shown])
        self.class_dropdown.observe(lambda _: self._choose_class(), names="value")
        self.slider.observe(lambda _: self._show(), names="value")
        self.previous_button.on_click(lambda _: self._step(-1))
        self.next_button.on_click(lambda _: self._step(+1))
        self._choose_class()

    def __repr__(self) -> str:  # short and stable: the notebook's stored text output
        return f"Sample browser ({len(self.images)} images, {len(self.class_names)} classes)"

    def _choose_class(self) -> None:
        number = self.class_names.index(self.class_dropdown.value)
        self._members = np.flatnonzero(self.labels == number)
        self.slider.max = max(1, len(self._members))
        self.slider.disabled = len(self._members) <= 1
        self.slider.value = 1
        self._show()

    def _step(self, step: int) -> None:
        if len(self._members):  # wraps around at both ends
            self.slider.value = (self.slider.value - 1 + step) % len(self._members) + 1

    def _show(self) -> None:
        name = html.escape(self.class_dropdown.value)
        if not len(self._members):
            self.index = None
            self.image.value = b""
            self.label.value = f"<b>{name}</b> — no images of this class"
            return
        self.index = int(self._members[self.slider.value - 1])
        self.image.value = png_bytes(self.images[self.index])
        self.label.value = (f"<b>{name}</b> — image {self.slider.value} of "
                            f"{len(self._members)} (number {self.index} in the set)")
        if self.pixels is not None:
            self.pixels.value = _pixel_table(self.images[self.index])


def sample_browser(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    show_pixels: bool = False,
) -> SampleBrowser:
    """Browse the images of one class at a time: pick the class, then slide or step through.

    Used by lesson 1 (`01_the_data.ipynb`): `sample_browser(train_images, train_labels)`.

    Args:
        images: uint8 images (N, 32, 32, 3).
        labels: their labels, (N,) or (N, 1).
        class_names: the names of the labels, in the dropdown's order.
        show_pixels: also show each colour channel's normalised minimum, mean and maximum.

    Returns:
        A `SampleBrowser` (an `ipywidgets.VBox`) with `.class_dropdown` (value: a class name),
        `.slider` (1 to the class's image count), `.previous_button`, `.next_button` (they
        wrap around), `.image` (PNG, enlarged), `.label` (e.g. "cat — image 3 of 5000"),
        `.pixels` (an HTML table, or None) and `.index` (the image's position in `images`).
    """
    if len(images) != len(flat_labels(labels)):
        raise ValueError(f"{len(images)} images but {len(flat_labels(labels))} labels.")
    return SampleBrowser(images, labels, class_names, show_pixels)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich output shows), False in a terminal or script."""
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LivePlot(keras.callbacks.Callback):
    """A Keras callback that redraws accuracy and loss after every epoch, in place.

    In a notebook it shows one picture when training starts and replaces it after each epoch
    (through a display handle, so the last picture stays in the saved notebook). In a terminal
    or a script it shows nothing and prints nothing; either way `.history` keeps every epoch.

    Used by lesson 3 (`03_training.ipynb`): `train(..., callbacks=[live_training_plot()])`.

    Args:
        show: draw in the notebook; None (the default) draws only inside a Jupyter kernel.
        history: metrics of earlier epochs to draw first (e.g. a resumed run's history).
        title: the figure's title.

    Attributes:
        history: `{"accuracy": [...], "val_accuracy": [...], "loss": [...], ...}` so far.
        epochs: the epoch number (1-based) of each entry; a resumed fit starts after the last
            one done, and a repeated epoch replaces the one drawn before.
        draw_count: how many times it drew; `png`: the last drawing as PNG bytes.
    """

    def __init__(self, show: bool | None = None,
                 history: Mapping[str, Sequence[float]] | None = None,
                 title: str = "Training progress"):
        super().__init__()
        self.show = show
        self.title = title
        self.history = {key: [float(v) for v in values] for key, values in (history or {}).items()}
        self.epochs = list(range(1, len(next(iter(self.history.values()), [])) + 1))
        self.draw_count = 0
        self.png: bytes | None = None
        self._handle = None

    def on_train_begin(self, logs=None):
        if self.show if self.show is not None else _in_notebook():
            self._handle = display(DisplayImage(data=self._draw()), display_id=True)
        else:
            self._handle = None

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number in self.epochs:  # the same epoch again (a resume or a second fit): replace
            keep = self.epochs.index(number)
            self.epochs = self.epochs[:keep]
            self.history = {key: values[:keep] for key, values in self.history.items()}
        self.epochs.append(number)
        logs = {key: float(value) for key, value in (logs or {}).items()
                if np.ndim(value) == 0 and key != "learning_rate"}
        for key in set(logs) | set(self.history):  # a metric missing this epoch gets a gap
            values = self.history.setdefault(key, [np.nan] * (len(self.epochs) - 1))
            values.append(logs.get(key, np.nan))
        if self._handle is not None:
            self._handle.update(DisplayImage(data=self._draw()))

    def _draw(self) -> bytes:
        """Accuracy (left) and loss (right), training and validation, as PNG bytes."""
        figure = Figure(figsize=(10, 3.6))  # not pyplot: no second copy shown at cell end
        for axis, metric in zip(figure.subplots(1, 2), ("accuracy", "loss")):
            for prefix, label in (("", "training"), ("val_", "validation")):
                if prefix + metric in self.history:
                    axis.plot(self.epochs, self.history[prefix + metric], marker="o",
                              label=f"{label} {metric}")
            axis.set_xlabel("Epoch")
            axis.set_ylabel(metric.capitalize())
            axis.set_title(f"{metric.capitalize()} per epoch")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.grid(alpha=0.3)
            if self.epochs:
                axis.legend()
        figure.suptitle(self.title if self.epochs else f"{self.title}: waiting for epoch 1")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        self.png = buffer.getvalue()
        self.draw_count += 1
        return self.png


def live_training_plot(show: bool | None = None,
                       history: Mapping[str, Sequence[float]] | None = None) -> LivePlot:
    """A callback that redraws accuracy and loss after each epoch (see `LivePlot`).

    Used by lesson 3: `history = train(model, ..., callbacks=[live_training_plot()])`.
    """
    return LivePlot(show=show, history=history)


class PredictionExplorer(widgets.VBox):
    """The widget `prediction_explorer` returns; see there."""

    def __init__(self, images, labels, probabilities, class_names):
        self.images, self.true_labels = images, flat_labels(labels)
        self.probabilities = np.asarray(probabilities, dtype=np.float64)
        self.predicted_labels = self.probabilities.argmax(axis=1)
        self.mistakes = np.flatnonzero(self.predicted_labels != self.true_labels)
        self.class_names = list(class_names)
        self.slider = widgets.IntSlider(value=0, min=0, max=len(images) - 1,
                                        description="Test image", continuous_update=False)
        self.mistake_button = widgets.Button(description="Show me a mistake",
                                             disabled=not len(self.mistakes))
        self.image = widgets.Image(format="png", width=SHOWN_SIZE, height=SHOWN_SIZE)
        self.label = widgets.HTML()
        self.bars = [widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=name)
                     for name in self.class_names]
        self.percentages = [widgets.Label() for _ in self.class_names]
        chart = widgets.VBox([widgets.HBox([bar, text])
                              for bar, text in zip(self.bars, self.percentages)])
        super().__init__([widgets.HBox([self.slider, self.mistake_button]),
                          widgets.HBox([widgets.VBox([self.image, self.label]), chart])])
        self.slider.observe(lambda _: self._show(), names="value")
        self.mistake_button.on_click(lambda _: self._next_mistake())
        self._show()

    def __repr__(self) -> str:
        return (f"Prediction explorer ({len(self.images)} test images, "
                f"{len(self.mistakes)} mistakes)")

    @property
    def bar_values(self) -> np.ndarray:
        """The probabilities the ten bars show now."""
        return np.array([bar.value for bar in self.bars])

    def _next_mistake(self) -> None:
        if len(self.mistakes):  # the first mistake after the current image, wrapping around
            later = self.mistakes[self.mistakes > self.slider.value]
            self.slider.value = int(later[0] if len(later) else self.mistakes[0])

    def _show(self) -> None:
        index = self.slider.value
        true, predicted = self.true_labels[index], self.predicted_labels[index]
        self.image.value = png_bytes(self.images[index])
        verdict = "right ✓" if true == predicted else "wrong ✗"
        self.label.value = (
            f"True class: <b>{html.escape(self.class_names[true])}</b><br>"
            f"Predicted: <b>{html.escape(self.class_names[predicted])}</b> "
            f"({self.probabilities[index, predicted]:.0%}) — {verdict}")
        for number, (bar, text) in enumerate(zip(self.bars, self.percentages)):
            bar.value = float(self.probabilities[index, number])
            text.value = f"{bar.value:.1%}"
            bar.bar_style = ("success" if number == true else
                             "danger" if number == predicted else "info")


def prediction_explorer(
    model: keras.Model | None,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    probabilities: np.ndarray | None = None,
) -> PredictionExplorer:
    """Pick a test image (or "Show me a mistake") and see what the model thinks of it.

    The predictions are computed once, when the widget is made. The true class's bar is
    green; when the model is wrong, its (wrong) choice is red.

    Used by lesson 4 (`04_results.ipynb`): `prediction_explorer(model, test_images, test_labels)`.

    Args:
        model: the trained model (may be None when `probabilities` is given).
        test_images: uint8 images (N, 32, 32, 3).
        test_labels: their labels.
        class_names: the class names.
        probabilities: the model's (N, 10) probabilities if already computed (saves time).

    Returns:
        A `PredictionExplorer` (an `ipywidgets.VBox`) with `.slider` (0 to N-1),
        `.mistake_button`, `.image`, `.label` (true and predicted class), `.bars` (ten
        `FloatProgress`, described by class name), `.bar_values`, `.predicted_labels` and
        `.mistakes` (indices of the misclassified images).
    """
    if len(test_images) == 0 or len(test_images) != len(flat_labels(test_labels)):
        raise ValueError("Pass some test images and as many labels.")
    if probabilities is None:
        if model is None:
            raise ValueError("Pass the model, or its probabilities.")
        probabilities = predict(model, test_images)
    return PredictionExplorer(test_images, test_labels, probabilities, class_names)


def feature_map_image(feature_map: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """Turn one feature map (H, W) into a coloured uint8 image, scaled to its own min..max."""
    low, high = float(feature_map.min()), float(feature_map.max())
    scaled = (feature_map - low) / (high - low) if high > low else np.zeros_like(feature_map)
    return (matplotlib.colormaps[colormap](scaled)[..., :3] * 255).astype(np.uint8)


class LayerExplorer(widgets.VBox):
    """The widget `layer_explorer` returns; see there."""

    def __init__(self, model, image, layer_names):
        self.model, self.input_image = model, image
        self.activations: dict[str, np.ndarray] = {}  # layer name -> (H, W, filters), cached
        self.layer_dropdown = widgets.Dropdown(options=layer_names, description="Layer")
        self.slider = widgets.IntSlider(value=0, min=0, max=0, description="Filter",
                                        continuous_update=False)
        self.original = widgets.Image(value=png_bytes(image), format="png",
                                      width=SHOWN_SIZE, height=SHOWN_SIZE)
        self.image = widgets.Image(format="png", width=SHOWN_SIZE, height=SHOWN_SIZE)
        self.label = widgets.HTML()
        super().__init__([widgets.HBox([self.layer_dropdown, self.slider]),
                          widgets.HBox([self.original, self.image]), self.label])
        self.layer_dropdown.observe(lambda _: self._choose_layer(), names="value")
        self.slider.observe(lambda _: self._show(), names="value")
        self._choose_layer()

    def __repr__(self) -> str:
        return f"Layer explorer ({', '.join(self.layer_dropdown.options)})"

    def feature_maps(self, layer_name: str) -> np.ndarray:
        """All of a layer's feature maps for the image, (H, W, filters); computed once."""
        if layer_name not in self.activations:
            layer = self.model.get_layer(layer_name)
            probe = keras.Model(inputs=self.model.inputs, outputs=layer.output)
            batch = normalize_images(self.input_image)[np.newaxis]
            self.activations[layer_name] = np.asarray(probe.predict(batch, verbose=0))[0]
        return self.activations[layer_name]

    def _choose_layer(self) -> None:
        self.slider.max = self.feature_maps(self.layer_dropdown.value).shape[-1] - 1
        self._show()

    def _show(self) -> None:
        name = self.layer_dropdown.value
        maps = self.feature_maps(name)
        feature_map = maps[..., min(self.slider.value, maps.shape[-1] - 1)]
        self.image.value = png_bytes(feature_map_image(feature_map))
        self.label.value = (f"Layer <b>{html.escape(name)}</b>, filter {self.slider.value} of "
                            f"{maps.shape[-1]} (0 to {maps.shape[-1] - 1}): feature map "
                            f"{feature_map.shape[0]}×{feature_map.shape[1]}")


def layer_explorer(
    model: keras.Model, image: np.ndarray, layer_names: Sequence[str] | None = None
) -> LayerExplorer:
    """Pick a convolution layer and one of its filters; see what that filter finds in an image.

    Bright parts of the feature map are where the filter responds strongly. Each layer's
    maps are computed once, with a sub-model `keras.Model(model.inputs, layer.output)`.

    Used by lesson 2 (`02_the_model.ipynb`): `layer_explorer(model, train_images[0])`.

    Args:
        model: a built model (e.g. `create_model()`, trained or not).
        image: one uint8 image (32, 32, 3), normalised here like in training.
        layer_names: the layers to offer; by default every `Conv2D` layer.

    Returns:
        A `LayerExplorer` (an `ipywidgets.VBox`) with `.layer_dropdown`, `.slider` (the filter,
        from 0), `.original` (the image), `.image` (the feature map, PNG), `.label` (layer,
        filter and the map's shape) and `.feature_maps(layer_name)`.

    Raises:
        ValueError: the image is not one (H, W, 3) image, or the model has no such layer.
    """
    image = np.asarray(image)
    if image.ndim == 4 and len(image) == 1:
        image = image[0]
    if image.ndim != 3:
        raise ValueError(f"Pass one image of shape (32, 32, 3), not shape {image.shape}.")
    if layer_names is None:
        layer_names = [layer.name for layer in model.layers
                       if isinstance(layer, keras.layers.Conv2D)]
    if not layer_names:
        raise ValueError("The model has no Conv2D layer to explore.")
    for name in layer_names:
        model.get_layer(name)  # raises ValueError for an unknown name
    return LayerExplorer(model, image, list(layer_names))
