"""Read CIFAR-10's pickled batches without letting a pickle run code or fill the memory.

The official batches are Python 2 pickles of a dict: `b"data"` is a uint8 array of shape
(N, 3072) (each row is the red, then green, then blue 32x32 plane), `b"labels"` a list
of N class numbers, plus `b"batch_label"` and `b"filenames"`; N is 10,000 and a file is
about 31 MB. Unpickling them needs exactly three things from numpy (array reconstruction,
`ndarray`, `dtype`); `RestrictedUnpickler` allows those, only in the one way numpy's own
pickles use them (an empty array of bytes whose contents come from the file, one array per
batch), and nothing else, so a booby-trapped batch file raises `DataError` before anything
in it runs. Sizes are bounded before anything is built: a batch file over `MAX_BATCH_BYTES`,
more pickle instructions than a genuine batch needs, or more than `MAX_BATCH_IMAGES` rows are
refused, so a small file cannot make a huge array (e.g. numpy arrays over a zero-stride
buffer: 108 bytes read as 100,000 images).

Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.
"""

from __future__ import annotations

import io
import pickle
import pickletools

import numpy as np

from cnn_lesson.data.classes import NUM_CLASSES
from cnn_lesson.errors import DataError

try:  # numpy >= 2
    from numpy._core.multiarray import _reconstruct as _numpy_reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _numpy_reconstruct

MAX_BATCH_IMAGES = 10_000  # a genuine batch holds exactly 10,000
ROW_BYTES = 3072  # 32 x 32 pixels x 3 colours
# A genuine batch file is 31,035,704 bytes (data_batch_1); room for longer file names.
MAX_BATCH_BYTES = MAX_BATCH_IMAGES * ROW_BYTES + 4_000_000
# A genuine batch is about 40,000 pickle instructions (a label, a file name and its memo
# entry per image) and sets an object's state (BUILD) twice: the array's dtype, then the
# array. Both are counted before unpickling: BUILD copies the array's bytes, so repeated it
# could take hours; every other instruction the allowed calls permit costs a few bytes.
MAX_INSTRUCTIONS = 10 * MAX_BATCH_IMAGES
MAX_BUILDS = 2


class _ArrayType:
    """Stands for `numpy.ndarray` in a pickle: accepted by `_reconstruct`, refused as a call.

    `numpy.ndarray(shape, dtype, buffer, offset, strides)` called from a pickle could make
    a huge array over a few bytes (strides of 0), so the pickle never gets the real class.
    """

    def __call__(self, *args, **kwargs):
        raise DataError("the pickle calls `numpy.ndarray` itself, which numpy's own pickles "
                        "never do (it can make a huge array out of a few bytes)")

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY = _ArrayType()


def _dtype(name, align=0, copy=1):
    """`numpy.dtype`, for the one type CIFAR-10 uses: uint8 (no object arrays).

    Always a fresh copy (as the genuine pickle asks with copy=1), so the state the pickle
    sets next (BUILD) applies to that copy, never to numpy's shared uint8 type.
    """
    if name not in (b"u1", "u1"):
        raise DataError(f"the pickle asks for numpy dtype {name!r}; CIFAR-10 holds only uint8")
    return np.dtype("u1", copy=True)


def check_instructions(payload: bytes) -> None:
    """Refuse a pickle that is larger or does more than a genuine CIFAR-10 batch.

    Raises:
        DataError: too many bytes or instructions, or more than two state settings.
    """
    if len(payload) > MAX_BATCH_BYTES:
        raise DataError(f"it is {len(payload):,} bytes; a CIFAR-10 batch is about 31 MB "
                        f"(at most {MAX_BATCH_BYTES:,} here)")
    builds = 0
    for number, (opcode, _, _) in enumerate(pickletools.genops(payload), start=1):
        if number > MAX_INSTRUCTIONS:
            raise DataError(f"it holds more than {MAX_INSTRUCTIONS:,} pickle instructions, "
                            "more than a batch of 10,000 images needs")
        builds += opcode.name == "BUILD"
        if builds > MAX_BUILDS:
            raise DataError(f"it sets an object's state (pickle instruction BUILD) more than "
                            f"{MAX_BUILDS} times; a CIFAR-10 batch holds one numpy array")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that may build one numpy uint8 array, dicts, lists, bytes and numbers only.

    Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.

    Raises:
        DataError: the pickle references anything else (a function, a class, a module),
            calls numpy in a way its own pickles never do, or builds more than one array.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._arrays = 0

    def _reconstruct(self, subtype, shape, typecode):
        """`numpy.core.multiarray._reconstruct` as numpy's pickles call it: an empty array."""
        if subtype is not _NDARRAY:
            raise DataError(f"the pickle asks numpy to build a {subtype!r}, not a plain array")
        if tuple(shape) != (0,) or typecode not in (b"b", "b"):
            raise DataError(f"the pickle asks numpy for an array of shape {shape!r} and type "
                            f"{typecode!r}; numpy's own pickles start from an empty one")
        self._arrays += 1
        if self._arrays > 1:
            raise DataError("the pickle builds more than one numpy array; a CIFAR-10 batch "
                            "holds one (`data`)")
        return _numpy_reconstruct(np.ndarray, (0,), b"b")

    def find_class(self, module: str, name: str):
        # (module, name) as written in the pickle -> what it may build. Genuine batches name
        # `numpy.core.multiarray`; batches pickled by numpy 2 name `numpy._core.multiarray`.
        if (module, name) in (("numpy.core.multiarray", "_reconstruct"),
                              ("numpy._core.multiarray", "_reconstruct")):
            return self._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            return _dtype
        raise DataError(
            f"the pickle references `{module}.{name}`, which a CIFAR-10 batch never "
            "does (it holds only numpy arrays); it was refused unread so nothing in it "
            "ran"
        )


def _labels(batch: dict, rows: int, where: str, how: str) -> np.ndarray:
    labels = batch.get(b"labels", batch.get("labels"))
    # Checked item by item before numpy sees them: a list of lists (or the same list
    # repeated through the pickle's memo) would make a huge array.
    if not isinstance(labels, list) or not all(type(label) is int for label in labels):
        raise DataError(f"{where} has no `labels` list of whole numbers as a CIFAR-10 batch "
                        f"does. {how}")
    if len(labels) != rows:
        raise DataError(f"{where} has {rows:,} images but {len(labels):,} `labels`. {how}")
    if min(labels) < 0 or max(labels) >= NUM_CLASSES:
        raise DataError(f"{where} has labels outside 0..{NUM_CLASSES - 1}. {how}")
    return np.array(labels, dtype=np.uint8).reshape(-1, 1)


def read_batch(payload: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Unpickle one batch and turn it into images and labels.

    Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.

    Args:
        payload: the batch file's bytes.
        where: the file's name for messages, e.g. `/data/cifar-10-batches-py/test_batch`.

    Returns:
        `(images, labels)`: uint8 arrays of shape (N, 32, 32, 3) and (N, 1), 1 <= N <= 10,000.

    Raises:
        DataError: the file is not a CIFAR-10 batch, is damaged, is larger than one, holds
            no images, or references anything but numpy arrays.
    """
    how = "Get a fresh copy of the official data (see `load_cifar10`)."
    try:
        check_instructions(payload)
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
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != ROW_BYTES
    ):
        raise DataError(
            f"{where} has no uint8 `data` array of shape (N, 3072) as a CIFAR-10 batch "
            f"does. {how}"
        )
    if not 1 <= len(data) <= MAX_BATCH_IMAGES:
        raise DataError(f"{where} holds {len(data):,} images; a CIFAR-10 batch holds "
                        f"1 to {MAX_BATCH_IMAGES:,}. {how}")
    labels = _labels(batch, len(data), where, how)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels
