"""Read CIFAR-10's pickled batches without letting a pickle run code.

The official batches are Python 2 pickles of a dict: `b"data"` is a uint8 array of shape
(N, 3072) (each row is the red, then green, then blue 32x32 plane) and `b"labels"` a list
of N class numbers. Unpickling them needs exactly three things from numpy (array
reconstruction, `ndarray`, `dtype`); `RestrictedUnpickler` allows those and nothing else,
so a booby-trapped batch file raises `DataError` before anything in it runs.

Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.
"""

from __future__ import annotations

import io
import pickle

import numpy as np

from cnn_lesson.data.classes import NUM_CLASSES
from cnn_lesson.errors import DataError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct


def _reconstruct(subtype, shape, typecode):
    """`numpy.core.multiarray._reconstruct`, for plain arrays only."""
    if subtype is not np.ndarray:
        raise DataError(f"the pickle asks numpy to build a {subtype!r}, not a plain array")
    return _numpy_reconstruct(np.ndarray, shape, typecode)


def _dtype(name, align=0, copy=1):
    """`numpy.dtype`, for the one type CIFAR-10 uses: uint8 (no object arrays)."""
    if name not in (b"u1", "u1"):
        raise DataError(f"the pickle asks for numpy dtype {name!r}; CIFAR-10 holds only uint8")
    return np.dtype("u1")


# (module, name) as written in the pickle -> what it may build. Genuine batches name
# `numpy.core.multiarray`; batches pickled by numpy 2 name `numpy._core.multiarray`.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that may build numpy uint8 arrays, dicts, lists, bytes and numbers only.

    Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.

    Raises:
        DataError: the pickle references anything else (a function, a class, a module).
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(
                f"the pickle references `{module}.{name}`, which a CIFAR-10 batch never "
                "does (it holds only numpy arrays); it was refused unread so nothing in it "
                "ran"
            ) from None


def read_batch(payload: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Unpickle one batch and turn it into images and labels.

    Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.

    Args:
        payload: the batch file's bytes.
        where: the file's name for messages, e.g. `/data/cifar-10-batches-py/test_batch`.

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, 32, 32, 3) and (N, 1).

    Raises:
        DataError: the file is not a CIFAR-10 batch, is damaged, or references anything
            but numpy arrays.
    """
    how = "Get a fresh copy of the official data (see `load_cifar10`)."
    try:
        batch = RestrictedUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except DataError as error:
        raise DataError(f"{where} is not a safe CIFAR-10 batch: {error}. {how}") from None
    except Exception as error:  # a damaged pickle raises almost anything
        raise DataError(
            f"{where} is damaged or not a CIFAR-10 batch ({type(error).__name__}: {error}). "
            f"{how}"
        ) from None
    if not isinstance(batch, dict):
        raise DataError(f"{where} holds a {type(batch).__name__}, not a CIFAR-10 batch. {how}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3072
    ):
        raise DataError(
            f"{where} has no uint8 `data` array of shape (N, 3072) as a CIFAR-10 batch "
            f"does. {how}"
        )
    try:
        label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError(f"{where} has no list of numeric `labels`. {how}") from None
    if labels is None or len(label_array) != len(data):
        raise DataError(f"{where} has {len(data)} images but not as many `labels`. {how}")
    if len(label_array) and (label_array.min() < 0 or label_array.max() >= NUM_CLASSES):
        raise DataError(f"{where} has labels outside 0..{NUM_CLASSES - 1}. {how}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), label_array.astype(np.uint8).reshape(-1, 1)
