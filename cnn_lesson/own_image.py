"""Trying the trained model on the learner's own picture.

Used by lesson 4 (`04_results.ipynb`): any photo is turned into a 32x32 image like CIFAR-10's
and the model gives its best guesses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
from PIL import Image, ImageOps

from cnn_lesson.arguments import checked
from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.config import user_path
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.evaluation import checked_probabilities, predict

IMAGE_SIZE = 32  # pixels, CIFAR-10's width and height


def _readable_file(path: str | os.PathLike) -> Path:
    """The path as a readable file, or a `DataError` that says what is wrong with it."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"The image's path must be a file name (text or a pathlib.Path), not "
                        f"{type(path).__name__} {path!r}.")
    file = user_path(path, "The image's path", DataError)  # refuses a NUL character too
    try:
        if file.is_symlink() and not file.exists():
            raise DataError(f"{file} is a symbolic link to nothing (a loop, or its target was "
                            "moved or deleted). Point it at the picture, or use the picture's "
                            "own path.")
        if not file.exists():
            raise DataError(f"No file at {file}. Check the path (it is relative to the "
                            "notebook's folder) and the file name.")
        if file.is_dir():
            raise DataError(f"{file} is a folder, not an image file.")
        if not file.is_file():  # a device such as /dev/zero, a pipe, a socket
            raise DataError(f"{file} is not a regular file (a device, a pipe or a socket). "
                            "Save the picture as a file and give its path.")
        with open(file, "rb"):
            pass
    except PermissionError:
        raise DataError(f"{file} cannot be read: permission denied. Make it readable (e.g. "
                        "`chmod u+r`) or copy the picture to a folder of yours.") from None
    except (OSError, ValueError) as error:  # ENAMETOOLONG, a NUL character, ...
        raise DataError(f"{file!r} is not a usable file name ({error}).") from None
    return file


def _eight_bit(picture: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale as 8-bit: Pillow's own conversion clips them to 0..255,
    which turns a 16-bit photo white, so scale them here."""
    if picture.mode.startswith("I;16") or picture.mode == "I":
        values = np.asarray(picture, dtype=np.float64)
        if values.size and values.max() > 255:
            values = values / 257  # 65535 -> 255
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")
    return picture


@checked
def load_image_file(path: str | os.PathLike, crop: bool = True) -> np.ndarray:
    """Read any common image file (PNG, JPEG, GIF, BMP, WebP...) as a 32x32 RGB uint8 image.

    The photo is turned upright (EXIF orientation), transparent parts become white, and it is
    cropped to a centred square (so it is not squashed) and resized to 32x32, the size of
    CIFAR-10's images. The first frame of an animation is used; 16-bit images are scaled to
    8 bits. Pictures over Pillow's limit (`PIL.Image.MAX_IMAGE_PIXELS`, about 179 million
    pixels) are refused, as a small file can unpack to gigabytes. Used by lesson 4, to try
    the model on the learner's own photo.

    Args:
        path: the image file.
        crop: crop to a centred square before resizing; False squashes the whole picture.

    Returns:
        A uint8 array of shape (32, 32, 3), ready for `plt.imshow` or `predict`.

    Raises:
        DataError: the file is missing, is a folder, cannot be read, is too large, or is not
            an image Pillow can read.
    """
    file = _readable_file(path)
    try:
        with Image.open(file) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
        picture = _eight_bit(picture)
        if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
            rgba = picture.convert("RGBA")
            picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        picture = picture.convert("RGB")
    except Image.DecompressionBombError as error:
        raise DataError(
            f"{file} is too large to open safely ({error}). Use a smaller copy of the picture: "
            "it is shrunk to 32x32 anyway, a few megapixels are plenty."
        ) from None
    except Exception as error:  # Pillow raises many types for damaged files (OSError,
        # SyntaxError, struct.error, IndexError, ...), also from the EXIF data.
        raise DataError(
            f"{file} is not an image that can be read ({type(error).__name__}: {error}); it may "
            "be damaged, cut short, or in an unusual mode. Use a PNG, JPEG, GIF, BMP or WebP "
            "picture."
        ) from error
    size = (IMAGE_SIZE, IMAGE_SIZE)
    resample = Image.Resampling.LANCZOS
    picture = ImageOps.fit(picture, size, resample) if crop else picture.resize(size, resample)
    return np.asarray(picture, dtype=np.uint8)


@checked
def predict_image_file(
    model: keras.Model,
    path: str | os.PathLike,
    class_names: Sequence[str] = CLASS_NAMES,
    top: int = 3,
) -> list[tuple[str, float]]:
    """The model's `top` guesses for the learner's own image file. Used by lesson 4.

    Args:
        model: a trained model.
        path: an image file of any size and common format (see `load_image_file`).
        class_names: the class names.
        top: how many guesses.

    Returns:
        `[(class_name, probability), ...]`, most likely first.

    Raises:
        DataError: the file is missing or not an image.
        SettingsError: `model`, `class_names` or `top` is not what they must be, or the
            model does not give probabilities (no softmax at its end: logits).
    """
    if not callable(getattr(model, "predict", None)):
        hint = " (pass its `.model`)" if hasattr(model, "model") else ""
        raise SettingsError(f"model must be a trained Keras model{hint}, not "
                            f"{type(model).__name__}.")
    names = list(class_names) if not isinstance(class_names, str) else []
    if not names or not all(isinstance(name, str) for name in names):
        raise SettingsError(f"class_names must be a list of names such as CLASS_NAMES, not "
                            f"{class_names!r}.")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) \
            or not 1 <= top <= len(names):
        raise SettingsError(f"top={top!r}: use a whole number from 1 to {len(names)} (how many "
                            "guesses to show).")
    image = load_image_file(path)
    probabilities = predict(model, image[np.newaxis])[0]
    if len(probabilities) != len(names):
        raise SettingsError(f"The model gives {len(probabilities)} probabilities but "
                            f"class_names has {len(names)} names; pass the names of its "
                            "classes, in order.")
    # Logits (a model without a softmax) were returned as probabilities such as 0.95, 0.76.
    probabilities = checked_probabilities(probabilities[np.newaxis], 1, len(names),
                                          model_output=True)[0]
    best = np.argsort(-probabilities, kind="stable")[:top]
    return [(names[i], float(probabilities[i])) for i in best]
