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
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.errors import DataError
from cnn_lesson.evaluation import predict

IMAGE_SIZE = 32  # pixels, CIFAR-10's width and height


def load_image_file(path: str | os.PathLike, crop: bool = True) -> np.ndarray:
    """Read any common image file (PNG, JPEG, GIF, BMP, WebP...) as a 32x32 RGB uint8 image.

    The photo is turned upright (EXIF orientation), transparent parts become white, and it is
    cropped to a centred square (so it is not squashed) and resized to 32x32, the size of
    CIFAR-10's images. Used by lesson 4, to try the model on the learner's own photo.

    Args:
        path: the image file.
        crop: crop to a centred square before resizing; False squashes the whole picture.

    Returns:
        A uint8 array of shape (32, 32, 3), ready for `plt.imshow` or `predict`.

    Raises:
        DataError: the file is missing, is a folder, or is not an image Pillow can read.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise DataError(f"No file at {file}. Check the path (it is relative to the notebook's "
                        "folder) and the file name.")
    if not file.is_file():
        raise DataError(f"{file} is a folder, not an image file.")
    try:
        with Image.open(file) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(
            f"{file} is not an image that can be read ({type(error).__name__}). Use a PNG, "
            "JPEG, GIF, BMP or WebP picture."
        ) from error
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    picture = picture.convert("RGB")
    size = (IMAGE_SIZE, IMAGE_SIZE)
    resample = Image.Resampling.LANCZOS
    picture = ImageOps.fit(picture, size, resample) if crop else picture.resize(size, resample)
    return np.asarray(picture, dtype=np.uint8)


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
    """
    image = load_image_file(path)
    probabilities = predict(model, image[np.newaxis])[0]
    best = np.argsort(-probabilities, kind="stable")[:top]
    return [(class_names[i], float(probabilities[i])) for i in best]
