"""Looking inside the network: what each convolution filter finds in an image.

Used by lesson 2 (`02_the_model.ipynb`): `layer_explorer(model, train_images[0])`, an
ipywidgets explorer like those in `cnn_lesson.widgets`.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

import ipywidgets as widgets
import keras
import matplotlib
import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.errors import SettingsError
from cnn_lesson.model import nested_layers
from cnn_lesson.training import normalize_images
from cnn_lesson.widgets import SHOWN_SIZE, png_bytes


# The layers whose outputs are maps that filters found; Conv2D's subclasses count too.
CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
                keras.layers.Conv2DTranspose)


def feature_map_image(feature_map: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """Turn one feature map (H, W) into a coloured uint8 image, scaled to its own min..max."""
    low, high = float(feature_map.min()), float(feature_map.max())
    scaled = (feature_map - low) / (high - low) if high > low else np.zeros_like(feature_map)
    return (matplotlib.colormaps[colormap](scaled)[..., :3] * 255).astype(np.uint8)


class LayerExplorer(widgets.VBox):
    """The widget `layer_explorer` returns; see there."""

    def __init__(self, model, image, layer_names, probes=None):
        self.model, self.input_image = model, image
        self.probes: dict = dict(probes or {})  # layer name -> sub-model giving its maps
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
            probe = self.probes.get(layer_name) or _probe(self.model, layer_name)
            if probe is None:
                raise SettingsError(_unreachable(self.model, layer_name))
            self.probes[layer_name] = probe
            batch = normalize_images(self.input_image)[np.newaxis]
            try:
                maps = probe.predict(batch, verbose=0)
            except Exception as error:  # noqa: BLE001 - Keras on this model and image
                raise SettingsError(
                    f"Layer {layer_name!r} cannot be computed for this image of shape "
                    f"{self.input_image.shape}: {_keras_reason(error)}. Pass an image of the "
                    "size and colours the model was made for.") from None
            self.activations[layer_name] = np.asarray(maps)[0]
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
                            f"{feature_map.shape[0]}×{feature_map.shape[1]}; bright = strong "
                            f"response, scaled to this map's range, from "
                            f"{float(feature_map.min()):.2f} to {float(feature_map.max()):.2f}")


def _input_shape(model: keras.Model) -> tuple:
    """The shape of one image `model` takes, or a SettingsError: the sub-models that give the
    feature maps start at the model's inputs, which a model without `keras.Input` lacks."""
    try:  # a Sequential model without keras.Input, or a subclassed keras.Model: AttributeError
        return tuple(model.input_shape[1:])
    except (AttributeError, ValueError):
        pass
    how = "keras.Input(shape=(32, 32, 3)) as its first layer, as create_model() does"
    if isinstance(model, keras.Sequential):  # explain_parameters' and plot_first_layer_filters'
        raise SettingsError(f"The model is not built yet, so it has no input to show feature "
                            f"maps of: give it an input shape ({how}).")
    raise SettingsError(f"layer_explorer needs a model with a defined input; "
                        f"{type(model).__name__} is a subclassed keras.Model, which has none. "
                        f"Build the network with keras.Sequential or the functional API, "
                        f"starting with {how}.")


def _keras_reason(error: Exception) -> str:
    """The line of Keras' message that says why (not "Exception encountered when calling
    ..."), without its terminal colours, short."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("Exception encountered")]
    reason = lines[0] if lines else type(error).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


def _output_shape(layer) -> tuple | None:
    """The shape of a layer's output in the model, or None when Keras cannot say."""
    try:
        return tuple(layer.output.shape)
    except (AttributeError, ValueError):
        return None


def _probe(model: keras.Model, name: str):
    """A sub-model from the model's inputs to the output of its layer `name` *in the model*,
    or None when Keras cannot make one.

    `layer.output` is the output of the layer's first call. For a nested functional block
    (one made with `keras.Model(i, o)`, or Keras' applications such as MobileNetV2) that is
    the block's own inner output, not connected to the outer model's inputs; the block's
    call inside the model is one of its inbound nodes, so each is tried in turn.
    """
    try:
        layer = model.get_layer(name)
    except ValueError:
        return None
    candidates = [node.output_tensors for node in getattr(layer, "_inbound_nodes", None) or []]
    try:
        candidates.append([layer.output])
    except (AttributeError, ValueError):
        pass
    for outputs in candidates:
        if len(outputs) != 1:
            continue
        try:
            probe = keras.Model(inputs=model.inputs, outputs=outputs[0])
            if len(model.inputs) == 1:  # Keras 3.12 builds one from a call outside the model,
                # which then fails when run: tried on one blank image (sizes left free: 32)
                blank = [1] + [size or 32 for size in tuple(model.inputs[0].shape)[1:]]
                probe(np.zeros(blank, np.float32), training=False)
            return probe
        except Exception:  # not connected to the model's inputs: Keras' ValueError, or other
            continue
    return None


def _probe_shape(probe) -> tuple | None:
    """The shape of a sub-model's output, or None."""
    try:
        return tuple(probe.output.shape)
    except (AttributeError, ValueError):
        return None


def _unreachable(model: keras.Model, name: str, shown: Sequence[str] | None = None) -> str:
    """The message for a layer whose maps cannot be computed from the model's input."""
    if shown is None:
        shown = [layer.name for layer in model.layers
                 if (probe := _probe(model, layer.name)) is not None
                 and len(_probe_shape(probe) or ()) == 4]
    return (f"Layer {name!r} cannot be shown: Keras cannot compute its output in this model "
            f"from the model's input (its output is not connected to the model's input). "
            f"Layers that can be shown: {', '.join(shown) or 'none'}.")


def _gives_maps(layer) -> bool:
    """Whether a layer's output is feature maps, (batch, height, width, maps)."""
    shape = _output_shape(layer)
    return shape is not None and len(shape) == 4


def _pooled_blocks(blocks) -> str:
    """The end of the message for convolutions inside blocks whose output is not maps."""
    named = ", ".join(f"{block.name!r} (output shape {_output_shape(block)})"
                      for block in blocks)
    return (f"{named}, which pools or flattens them. Pool after the block instead "
            "(layers.GlobalAveragePooling2D() as a layer of its own; for Keras' applications, "
            "pooling=None), or name a layer that gives maps.")


@checked
def layer_explorer(
    model: keras.Model, image: np.ndarray, layer_names: Sequence[str] | None = None
) -> LayerExplorer:
    """Pick a convolution layer and one of its filters; see what that filter finds in an image.

    Bright parts of the feature map are where the filter responds strongly. Each layer's
    maps are computed once, with a sub-model from `model.inputs` to the layer's output in
    the model (for a nested block, its call in the model, not its own inner output).

    Used by lesson 2 (`02_the_model.ipynb`): `layer_explorer(model, train_images[0])`.

    Args:
        model: a built model (e.g. `create_model()`, trained or not).
        image: one uint8 image (32, 32, 3), normalised here like in training.
        layer_names: the layers to offer (a list of names, or one name); by default every
            convolution layer (`Conv2D`, `SeparableConv2D`, ...), and for convolutions inside
            a nested block (a `keras.Sequential` or a functional `keras.Model` used as a
            layer, such as Keras' MobileNetV2) the block, whose output maps in the model
            are shown (a block whose output is not maps, pooled or flattened, is left
            out).

    Returns:
        A `LayerExplorer` (an `ipywidgets.VBox`) with `.layer_dropdown`, `.slider` (the filter,
        from 0), `.original` (the image), `.image` (the feature map, PNG), `.label` (layer,
        filter and the map's shape) and `.feature_maps(layer_name)`.

    Raises:
        SettingsError: the image is not one image of the model's input shape, `layer_names`
            is empty, the model has no such layer, no layer that gives feature maps, a layer
            whose output Keras cannot compute from the model's input, or no input shape (no `keras.Input`; also a ValueError).
    """
    if not isinstance(model, keras.Model):
        raise SettingsError(f"layer_explorer needs a Keras model, not {type(model).__name__}.")
    expected = _input_shape(model)
    image = np.asarray(image)
    if image.ndim == 4 and len(image) == 1:
        image = image[0]
    # Each size the model fixes must match (a None size takes any), the colours too: a
    # (None, None, 3) model given 4 channels failed in Keras' call (the thirteenth pass).
    if image.ndim != 3 or len(expected) != 3 or any(
            size is not None and size != given for size, given in zip(expected, image.shape)):
        raise SettingsError(f"Pass one image of shape {expected}, not shape {image.shape}.")
    # A convolution nested in a block (a keras.Sequential or keras.Model inside) has no output of
    # its own in the model's graph: the block's output, its last layer's maps, stands for it,
    # when it is maps (a block that ends in pooling or Flatten gives none).
    # The maps are computed by a sub-model from the model's input to the block's output in
    # the model (`_probe`); a block whose output Keras cannot reach is not offered.
    blocks = list(dict.fromkeys(block for layer, block in nested_layers(model)
                                if isinstance(layer, CONVOLUTIONS)))
    probes = {}
    for block in blocks:
        probe = _probe(model, block.name)
        if probe is not None:
            probes[block.name] = probe
    explorable = [block.name for block in blocks if block.name in probes
                  and len(_probe_shape(probes[block.name]) or ()) == 4]
    unreachable = [block.name for block in blocks
                   if block.name not in probes and _gives_maps(block)]
    pooled = [block for block in blocks
              if block.name not in explorable and block.name not in unreachable]
    if isinstance(layer_names, str):  # one name: "conv1" was read letter by letter, "c"...
        layer_names = [layer_names]
    elif layer_names is not None:
        layer_names = list(layer_names)  # once: a generator was used up by the checks below
        if not layer_names:  # it said "The model has no convolution layer" of create_model()
            raise SettingsError("layer_names is empty: name the layers to offer, such as "
                                f"{explorable[:1] or ['conv1']}, or leave it out to offer "
                                "every convolution.")
    if layer_names is None:
        layer_names = explorable
    if not layer_names and unreachable:
        raise SettingsError(_unreachable(model, unreachable[0], explorable))
    if not layer_names and pooled:
        raise SettingsError(f"The model gives no feature maps to show: its convolutions are "
                            f"inside {_pooled_blocks(pooled)}")
    if not layer_names:
        raise SettingsError("The model has no convolution layer to explore (Conv2D, "
                            "SeparableConv2D, DepthwiseConv2D or Conv2DTranspose).")
    names = {layer.name for layer in model.layers}
    for name in layer_names:
        if name not in names:
            raise SettingsError(f"No layer named {name!r} in this model: its convolutions are "
                                f"{', '.join(explorable) or 'none that give feature maps'}.")
        layer = model.get_layer(name)
        if name not in probes:
            probe = _probe(model, name)
            if probe is None:
                raise SettingsError(_unreachable(model, name, explorable))
            probes[name] = probe
        shape = _probe_shape(probes[name])
        if shape is None or len(shape) != 4:  # (batch, height, width, maps)
            advice = (f"Pick one of the convolutions: {', '.join(explorable)}." if explorable
                      else f"Its convolutions are inside {_pooled_blocks(pooled)}" if pooled
                      else "The model has no convolution that gives them.")
            raise SettingsError(
                f"Layer {name!r} gives no feature maps to show: its output has shape "
                f"{shape or _output_shape(layer)}, not (batch, height, width, maps). {advice}")
    return LayerExplorer(model, image, list(layer_names), probes)
