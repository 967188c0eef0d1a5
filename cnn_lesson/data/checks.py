"""Checks of the image and label arrays a user passes to the package's functions."""

from __future__ import annotations

import numpy as np

from cnn_lesson.data.classes import NUM_CLASSES
from cnn_lesson.errors import DataError


def checked_images_and_labels(images, labels, image_shape: tuple[int, ...] | None = None,
                              at_least: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels as arrays, or a DataError that says what is wrong with them.

    Images are uint8 (0..255, scaled to 0..1 batch by batch) or floats already in 0..1
    (`normalize_images`), with one label from 0 to 9 per image. Checked here because
    TensorFlow's own errors for these mistakes arrive mid-training and name none of them;
    float images in 0..1 were divided by 255 again before, and trained on black pictures.
    Used by `make_dataset` (and so `train`) and by lesson 4's stand-in.

    Args:
        images, labels: what the caller was given.
        image_shape: the one (height, width, channels) allowed; None allows any.
        at_least: the fewest images allowed.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    expected = ("(N, height, width, channels)" if image_shape is None
                else f"(N, {', '.join(map(str, image_shape))})")
    if images.ndim != 4 or len(images) < at_least or (
            image_shape is not None and images.shape[1:] != tuple(image_shape)):
        raise DataError(f"The images have shape {images.shape}; expected {expected} with N of "
                        f"at least {at_least}, as `load_cifar10` gives them.")
    if labels.ndim == 0 or len(labels) != len(images):
        count = f"{len(labels):,}" if labels.ndim else "no"
        raise DataError(f"{len(images):,} images but {count} labels: they must pair up (take "
                        "both from the same `load_cifar10`, `split_validation` or `take_subset` "
                        "result).")
    if not np.issubdtype(images.dtype, np.integer):
        if not np.issubdtype(images.dtype, np.floating):
            raise DataError(f"The images are of type {images.dtype}; expected uint8 pixels.")
        if float(images.max()) > 1.0 + 1e-6 or float(images.min()) < -1e-6:
            raise DataError("These float images are not in 0..1: pass the uint8 images, or "
                            "normalize_images(images).")
    whole = np.issubdtype(labels.dtype, np.integer) or (
        np.issubdtype(labels.dtype, np.floating) and labels.size > 0
        and bool(np.all(np.isfinite(labels))) and bool(np.all(labels == np.round(labels))))
    if not whole or labels.size != len(labels) or labels.min() < 0 \
            or labels.max() >= NUM_CLASSES:
        raise DataError(f"The labels must be one class number from 0 to {NUM_CLASSES - 1} per "
                        f"image (shape (N,) or (N, 1)); these have shape {labels.shape}, type "
                        f"{labels.dtype}" + (f", values {labels.min()} to {labels.max()}."
                                             if labels.size and np.issubdtype(labels.dtype,
                                                                              np.number)
                                             else "."))
    return images, labels
