"""Write small copies of CIFAR-10 in its genuine formats, for the data tests.

- `py2_pickle(obj)`: a Python 2 style pickle (protocol 2, byte strings as `str`, numpy
  arrays reduced through `numpy.core.multiarray._reconstruct`), byte for byte what
  Python 2's cPickle wrote for the official batches; Python 3's pickler cannot write it
  (it routes bytes through `_codecs.encode`).
- `write_batches_folder`, `write_archive`, `write_image_folders`: the three local forms.

The content is random but fixed by a seed; `expected` arrays say what the loader must
return for each.
"""

from __future__ import annotations

import io
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_lesson.data import CLASS_NAMES, NUM_CLASSES

BATCH_NAMES = [f"data_batch_{number}" for number in range(1, 6)] + ["test_batch"]


def _emit(obj, out: list[bytes]) -> None:
    if isinstance(obj, bytes):
        if len(obj) < 256:
            out.append(b"U" + bytes([len(obj)]) + obj)  # SHORT_BINSTRING
        else:
            out.append(b"T" + struct.pack("<i", len(obj)) + obj)  # BINSTRING
    elif obj is None:
        out.append(b"N")
    elif obj is False:
        out.append(b"\x89")
    elif isinstance(obj, int):
        if 0 <= obj < 256:
            out.append(b"K" + bytes([obj]))
        elif 0 <= obj < 65536:
            out.append(b"M" + struct.pack("<H", obj))
        else:
            out.append(b"J" + struct.pack("<i", obj))
    elif isinstance(obj, tuple):
        out.append(b"(")
        for item in obj:
            _emit(item, out)
        out.append(b"t")
    elif isinstance(obj, list):
        out.append(b"](")
        for item in obj:
            _emit(item, out)
        out.append(b"e")
    elif isinstance(obj, dict):
        out.append(b"}(")
        for key, value in obj.items():
            _emit(key, out)
            _emit(value, out)
        out.append(b"u")
    elif isinstance(obj, np.ndarray):
        assert obj.dtype == np.uint8
        out.append(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
        out.append(b"K\x00\x85U\x01b\x87R")  # _reconstruct(ndarray, (0,), 'b')
        out.append(b"(K\x01")  # state: (1, shape, dtype, False, raw bytes)
        _emit(tuple(int(size) for size in obj.shape), out)
        out.append(b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R")  # dtype('u1', 0, 1)
        out.append(b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
        out.append(b"\x89")
        _emit(np.ascontiguousarray(obj).tobytes(), out)
        out.append(b"tb")
    else:
        raise TypeError(f"cannot write {type(obj)} as a Python 2 pickle")


def py2_pickle(obj) -> bytes:
    """`obj` (dict, list, tuple, bytes, int, uint8 arrays) as Python 2's cPickle wrote it."""
    out = [b"\x80\x02"]
    _emit(obj, out)
    out.append(b".")
    return b"".join(out)


def zero_stride_bomb(rows: int) -> bytes:
    """A batch of a few bytes that asks numpy for `rows` images over a 1-byte buffer.

    `numpy.ndarray(shape, dtype, buffer, offset, strides)` with strides of 0: each batch
    file is under 150 bytes, and a reader that lets the pickle call `numpy.ndarray` holds
    `rows` x 3,072 bytes as soon as it copies the array.
    """
    def array(shape):
        out = [b"cnumpy\nndarray\n("]
        _emit(tuple(shape), out)
        out.append(b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R")  # dtype('u1', 0, 1)
        for item in (b"\0", 0, (0,) * len(shape)):  # buffer, offset, strides
            _emit(item, out)
        out.append(b"tR")
        return b"".join(out)

    return (b"\x80\x02}(U\x04data" + array((rows, 3072)) + b"U\x06labels" + array((rows,))
            + b"u.")


def make_split(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random images, `per_class` of each class, in shuffled order."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES, dtype=np.uint8), per_class))
    images = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    return images, labels.reshape(-1, 1)


def make_data(per_class_per_batch: int = 2, seed: int = 0):
    """`((train_images, train_labels), (test_images, test_labels))` for five train batches."""
    train = make_split(5 * per_class_per_batch, seed)
    test = make_split(per_class_per_batch, seed + 1)
    return train, test


def batch_bytes(images: np.ndarray, labels: np.ndarray, label: bytes) -> bytes:
    """One batch file: rows of 3072 bytes (red plane, green, blue), labels as a list."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return py2_pickle({
        b"batch_label": label,
        b"labels": [int(value) for value in labels.ravel()],
        b"data": rows,
        b"filenames": [f"image_{index:05d}.png".encode() for index in range(len(images))],
    })


def meta_bytes(per_batch: int) -> bytes:
    return py2_pickle({
        b"num_cases_per_batch": per_batch,
        b"label_names": [name.encode() for name in CLASS_NAMES],
        b"num_vis": 3072,
    })


def batch_files(data) -> dict[str, bytes]:
    """The files of `cifar-10-batches-py/` for `data` (as `make_data` returns it)."""
    (train_images, train_labels), (test_images, test_labels) = data
    files = {}
    for number, (images, labels) in enumerate(
        zip(np.array_split(train_images, 5), np.array_split(train_labels, 5)), start=1
    ):
        files[f"data_batch_{number}"] = batch_bytes(
            images, labels, f"training batch {number} of 5".encode()
        )
    files["test_batch"] = batch_bytes(test_images, test_labels, b"testing batch 1 of 1")
    files["batches.meta"] = meta_bytes(len(test_images))
    files["readme.html"] = b"<html>a small copy for tests</html>"
    return files


def write_batches_folder(folder: Path, data) -> Path:
    """Write `<folder>/cifar-10-batches-py/`; return that folder."""
    target = Path(folder) / "cifar-10-batches-py"
    target.mkdir(parents=True)
    for name, payload in batch_files(data).items():
        (target / name).write_bytes(payload)
    return target


def write_archive(path: Path, data, files: dict[str, bytes] | None = None) -> Path:
    """Write `cifar-10-python.tar.gz` holding `cifar-10-batches-py/` (or the given files)."""
    files = batch_files(data) if files is None else files
    with tarfile.open(path, "w:gz") as archive:
        folder = tarfile.TarInfo("cifar-10-batches-py")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        for name, payload in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(payload))
    return Path(path)


def write_image_folders(root: Path, data, image_format: str = "PNG") -> dict:
    """Write `train/<class>/NNNN.png|jpg` and `test/...`; return the expected arrays.

    Returns:
        `{split: (images, labels)}` in the order the loader must return them: classes
        interleaved (file i of each class in class order, then file i + 1), files sorted.
        For JPEG the images are what Pillow decodes from the written files.
    """
    suffix = {"PNG": "png", "JPEG": "jpg"}[image_format]
    expected = {}
    for split, (images, labels) in zip(("train", "test"), data):
        per_class = []
        for label, class_name in enumerate(CLASS_NAMES):
            folder = Path(root) / split / class_name
            folder.mkdir(parents=True)
            written = []
            for index, image in enumerate(images[labels.ravel() == label]):
                file = folder / f"{index:04d}.{suffix}"
                Image.fromarray(image).save(file, format=image_format)
                with Image.open(file) as decoded:
                    written.append(np.asarray(decoded.convert("RGB")))
            per_class.append(written)
        order = [
            (per_class[label][index], label)
            for index in range(max(map(len, per_class)))
            for label in range(NUM_CLASSES)
            if index < len(per_class[label])
        ]
        expected[split] = (
            np.stack([image for image, _ in order]),
            np.array([label for _, label in order], dtype=np.uint8).reshape(-1, 1),
        )
    return expected
