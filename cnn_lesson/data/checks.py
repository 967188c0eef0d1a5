"""Checks of the image and label arrays a user passes to the package's functions."""

from __future__ import annotations

import numpy as np

from cnn_lesson.data.classes import NUM_CLASSES
from cnn_lesson.errors import DataError


def checked_images_and_labels(images, labels, image_shape: tuple[int, ...] | None = None,
                              at_least: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels as arrays, or a DataError that says what is wrong with them.

    The images as `checked_images` takes them, with one label from 0 to 9 per image. Checked
    here because TensorFlow's own errors for these mistakes arrive mid-training and name none
    of them. Used by `make_dataset` (and so `train`) and by lesson 4's stand-in.

    Args:
        images, labels: what the caller was given.
        image_shape: the one (height, width, channels) allowed; None allows any.
        at_least: the fewest images allowed.
    """
    images = checked_images(images, image_shape, at_least)
    class_numbers(labels, count=len(images))
    return images, np.asarray(labels)


def checked_images(images, image_shape: tuple[int, ...] | None = None,
                   at_least: int = 1) -> np.ndarray:
    """The images as an array, or a DataError that says what is wrong with them.

    Images are uint8 (0..255, scaled to 0..1 batch by batch) or floats already in 0..1
    (`normalize_images`). Float images in 0..1 were divided by 255 again before, and trained
    on black pictures; NaN pixels passed every comparison. Used by `make_dataset` and
    `predict`.

    Args:
        images: what the caller was given.
        image_shape: the one (height, width, channels) allowed; None allows any.
        at_least: the fewest images allowed.
    """
    images = np.asarray(images)
    expected = ("(N, height, width, channels)" if image_shape is None
                else f"(N, {', '.join(map(str, image_shape))})")
    if images.ndim != 4 or len(images) < at_least or (
            image_shape is not None and images.shape[1:] != tuple(image_shape)):
        raise DataError(f"The images have shape {images.shape}; expected {expected} with N of "
                        f"at least {at_least}, as `load_cifar10` gives them.")
    if np.issubdtype(images.dtype, np.integer):
        if images.dtype != np.uint8 and images.size and (images.min() < 0
                                                         or images.max() > 255):
            raise DataError(f"These images hold pixel values from {images.min()} to "
                            f"{images.max()}; pixels go from 0 to 255 (uint8, as load_cifar10 "
                            "gives them).")
    elif not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"The images are of type {images.dtype}; expected uint8 pixels.")
    elif not np.all(np.isfinite(images)):
        raise DataError("These float images hold NaN or infinite values: pass the uint8 "
                        "images as load_cifar10 gives them.")
    elif images.size and (float(images.max()) > 1.0 + 1e-6 or float(images.min()) < -1e-6):
        raise DataError("These float images are not in 0..1: pass the uint8 images, or "
                        "normalize_images(images).")
    return images


def class_numbers(labels, count: int | None = None,
                  classes: int | None = NUM_CLASSES) -> np.ndarray:
    """`labels` as a flat int64 array of class numbers, or a DataError that says what is wrong.

    The one check of labels in the package: the data, the plots, the results and the widgets
    all take labels of shape (N,) or (N, 1) holding whole numbers (whole-valued floats too,
    as a float label array has them) from 0 to `classes - 1`.

    Args:
        labels: what the caller was given.
        count: how many there must be (the number of images they label); None: any.
        classes: how many classes there are; None: any class number from 0 up.
    """
    array = np.asarray(labels)
    top = "" if classes is None else f" to {classes - 1}"
    whole = np.issubdtype(array.dtype, np.integer) or (
        np.issubdtype(array.dtype, np.floating) and bool(np.all(np.isfinite(array)))
        and bool(np.all(array == np.round(array))))
    if not whole or array.ndim not in (1, 2) or array.ndim == 2 and array.shape[1] != 1:
        text = repr(labels)
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise DataError(f"Labels must be an array of class numbers from 0{top}, one per image "
                        f"(shape (N,) or (N, 1)), not {type(labels).__name__} of shape "
                        f"{array.shape}, type {array.dtype}: {shown}. Pass the label array, "
                        "e.g. `test_labels` or `probabilities.argmax(axis=1)`.")
    # The range before the cast: a float such as 1e20 has no int64.
    if array.size and (array.min() < 0 or array.max() >= (classes or 2**31)):
        raise DataError(f"Labels must be class numbers from 0{top}"
                        + (f" (for {classes} classes, e.g. class_names of {classes} names)"
                           if classes is not None and classes != NUM_CLASSES else "")
                        + f"; these go from {array.min():g} to {array.max():g}.")
    flat = array.reshape(-1).astype(np.int64)
    if count is not None and len(flat) != count:
        raise DataError(f"{count:,} images but {len(flat):,} labels: they must pair up (take "
                        "both from the same `load_cifar10`, `split_validation` or `take_subset` "
                        "result).")
    return flat


def one_image(image, caller: str) -> np.ndarray:
    """`image` as a uint8 array of shape (height, width, 3), or a DataError naming `caller`:
    for the functions that draw one picture."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[-1] != 3 or min(array.shape[:2]) < 3 \
            or not np.issubdtype(array.dtype, np.integer) or array.size and (
                array.min() < 0 or array.max() > 255):
        raise DataError(f"{caller} needs one uint8 colour image of shape (32, 32, 3), such as "
                        f"train_images[0]; this is {type(image).__name__} of shape "
                        f"{array.shape}, type {array.dtype}.")
    return array.astype(np.uint8)


def checked_class_names(class_names, count: int | None = None) -> list[str]:
    """`class_names` as a list of distinct texts (`count` of them when given), or a DataError:
    a string passed whole would be read as one-letter names, and two equal names would make
    one class hide another in the tables and widgets."""
    names = None if isinstance(class_names, (str, bytes)) else list(class_names) \
        if isinstance(class_names, (list, tuple, np.ndarray)) else None
    if names is None or not all(isinstance(name, str) for name in names) \
            or len(set(names)) != len(names) or not names or (count is not None
                                                              and len(names) != count):
        wanted = f"{count} " if count is not None else ""
        raise DataError(f"class_names must be a list of {wanted}different names, such as "
                        f"CLASS_NAMES, not {type(class_names).__name__} {class_names!r:.60}.")
    return names
