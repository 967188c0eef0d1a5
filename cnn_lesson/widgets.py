"""Interactive explorers (ipywidgets), for poking at the data and the model's predictions.

Each explorer is a function returning one widget, so a notebook cell needs a single line; the
widget keeps its controls as attributes (`.slider`, `.next_button`, `.image`, `.label`...),
which is also how the tests drive it. Pictures are shown as `ipywidgets.Image` PNGs, so
everything works (and is testable) without a browser.

Used by lesson 1 (`sample_browser`) and lesson 4 (`prediction_explorer`); lesson 2's
`layer_explorer` lives in `cnn_lesson.feature_maps`, lesson 3's live plot in
`cnn_lesson.live_plot`.
"""

from __future__ import annotations

import html
import io
from typing import Sequence

import ipywidgets as widgets
import keras
import numpy as np
from PIL import Image

from cnn_lesson.arguments import checked
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.data.checks import checked_class_names, checked_images, class_numbers
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.evaluation import checked_probabilities, predict
from cnn_lesson.training import normalize_images

SHOWN_SIZE = 128  # pixels: a 32x32 image is shown 4 times larger, each pixel a crisp block


def png_bytes(image: np.ndarray, size: int = SHOWN_SIZE) -> bytes:
    """Encode a uint8 image (H, W, 3), (H, W, 1) or (H, W) as PNG, enlarged to `size` pixels
    wide.

    NEAREST resampling keeps each pixel a sharp square, so learners see how little a 32x32
    image holds. Used by every explorer in this module.
    """
    pixels = np.asarray(image, dtype=np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:  # grey, one channel: PIL takes (H, W)
        pixels = pixels[..., 0]
    picture = Image.fromarray(pixels)
    height = max(1, round(size * picture.height / picture.width))
    buffer = io.BytesIO()
    picture.resize((size, height), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def _checked_pictures(images) -> np.ndarray:
    """`images` as an array of colour images to show (see `_picture`), or a DataError.

    `checked_images` takes uint8 pixels (0..255) and floats already in 0..1; here the colour
    channels must also come last, as PIL draws them (a channels-first array is refused rather
    than drawn as a stripe or a raw PIL error).
    """
    # No images is allowed (the browser says so); otherwise at least 1, as a wrong shape's
    # message then reads.
    try:
        empty = np.shape(images)[:1] == (0,)
    except ValueError:  # a ragged list: checked_images says what it is not
        images, empty = np.asarray(None), False
    images = checked_images(images, at_least=0 if empty else 1)
    if images.shape[-1] != 3 or min(images.shape[1:3]) < 1:
        hint = (" These look channels-first: pass images.transpose(0, 2, 3, 1)."
                if images.shape[1] == 3 else "")
        raise DataError(f"The images have shape {images.shape}; the explorers show colour "
                        "images (N, height, width, 3), channels last, as load_cifar10 gives "
                        f"them.{hint}")
    return images


def _picture(image: np.ndarray) -> np.ndarray:
    """One checked image as uint8 pixels: floats in 0..1 (`normalize_images`'s) times 255."""
    if np.issubdtype(image.dtype, np.floating):
        return np.round(image * 255).astype(np.uint8)
    return image.astype(np.uint8, copy=False)


def _checked_names(class_names) -> list[str]:
    """`checked_class_names`'s list; None (a cell not run) or a number fails first at `len`,
    a raw TypeError for which @checked names the argument: "class_names takes a list"."""
    len(class_names)
    return checked_class_names(class_names)


def _pixel_table(image: np.ndarray) -> str:
    """HTML table of the normalised (0..1) minimum, mean and maximum of each colour channel."""
    values = image if np.issubdtype(image.dtype, np.floating) else normalize_images(image)
    rows = "".join(
        f"<tr><td>{name}</td><td>{values[..., c].min():.3f}</td>"
        f"<td>{values[..., c].mean():.3f}</td><td>{values[..., c].max():.3f}</td></tr>"
        for c, name in enumerate(("red", "green", "blue"))
    )
    return ("<table><tr><th>channel</th><th>min</th><th>mean</th><th>max</th></tr>"
            f"{rows}</table><small>pixel value / 255, as the model sees it</small>")


class SampleBrowser(widgets.VBox):
    """The widget `sample_browser` returns; see there. Takes the values it checked."""

    def __init__(self, images, labels, class_names, show_pixels):
        self.images, self.labels, self.class_names = images, labels, class_names
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
        number = self.class_names.index(self.class_dropdown.value)  # the names are distinct
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
        self.image.value = png_bytes(_picture(self.images[self.index]))
        self.label.value = (f"<b>{name}</b> — image {self.slider.value} of "
                            f"{len(self._members)} (number {self.index} in the set)")
        if self.pixels is not None:
            self.pixels.value = _pixel_table(self.images[self.index])


@checked
def sample_browser(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str] = CLASS_NAMES,
    show_pixels: bool = False,
) -> SampleBrowser:
    """Browse the images of one class at a time: pick the class, then slide or step through.

    Used by lesson 1 (`01_the_data.ipynb`): `sample_browser(train_images, train_labels)`.

    Args:
        images: uint8 images (N, 32, 32, 3), or floats already in 0..1 (shown times 255).
        labels: their labels, (N,) or (N, 1).
        class_names: the names of the labels, in the dropdown's order, each different.
        show_pixels: also show each colour channel's normalised minimum, mean and maximum.

    Returns:
        A `SampleBrowser` (an `ipywidgets.VBox`) with `.class_dropdown` (value: a class name),
        `.slider` (1 to the class's image count), `.previous_button`, `.next_button` (they
        wrap around), `.image` (PNG, enlarged), `.label` (e.g. "cat — image 3 of 5000"),
        `.pixels` (an HTML table, or None) and `.index` (the image's position in `images`).

    Raises:
        DataError: the images are not colour images (channels last) of pixels from 0 to 255
            or floats from 0 to 1; the labels are not one class number per image; class_names
            is not a list of different names (text, empty, a name twice).
    """
    images = _checked_pictures(images)
    class_names = _checked_names(class_names)
    labels = class_numbers(labels, count=len(images), classes=len(class_names))
    return SampleBrowser(images, labels, class_names, show_pixels)


class PredictionExplorer(widgets.VBox):
    """The widget `prediction_explorer` returns; see there. Takes the values it checked."""

    def __init__(self, images, labels, probabilities, class_names):
        self.images, self.true_labels, self.probabilities = images, labels, probabilities
        self.predicted_labels = self.probabilities.argmax(axis=1)
        self.mistakes = np.flatnonzero(self.predicted_labels != self.true_labels)
        self.class_names = class_names
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
        self.image.value = png_bytes(_picture(self.images[index]))
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


@checked
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
        test_images: uint8 images (N, 32, 32, 3), or floats already in 0..1.
        test_labels: their labels.
        class_names: the class names, each different.
        probabilities: the model's (N, 10) probabilities if already computed (saves time):
            `predict(model, test_images)`'s softmax output, each row adding up to 1.

    Returns:
        A `PredictionExplorer` (an `ipywidgets.VBox`) with `.slider` (0 to N-1),
        `.mistake_button`, `.image`, `.label` (true and predicted class), `.bars` (ten
        `FloatProgress`, described by class name), `.bar_values`, `.predicted_labels` and
        `.mistakes` (indices of the misclassified images).

    Raises:
        DataError: as `sample_browser`'s, for the test images, labels and class names.
        SettingsError: no images; no model and no probabilities; probabilities not of shape
            (N, classes), or not probabilities (NaN, outside 0..1, rows not adding up to 1:
            `evaluation.checked_probabilities`), or a model without a softmax.
    """
    if len(test_images) == 0:
        raise SettingsError("Pass some test images and their labels.")
    test_images = _checked_pictures(test_images)
    class_names = _checked_names(class_names)
    test_labels = class_numbers(test_labels, count=len(test_images), classes=len(class_names))
    if probabilities is None:
        if model is None:
            raise SettingsError("Pass the model, or its probabilities.")
        probabilities = predict(model, test_images)
        from_model = True
    else:
        from_model = False
    # The package's one check of probabilities, shared with plot_mistakes and the results.
    probabilities = checked_probabilities(probabilities, len(test_images), len(class_names),
                                          exact=True, model_output=from_model)
    return PredictionExplorer(test_images, test_labels, probabilities, class_names)
