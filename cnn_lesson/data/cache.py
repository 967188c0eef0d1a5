"""A disk cache of decoded CIFAR-10 arrays, so a second load takes about a second.

Each entry is an uncompressed `.npz` in `<cache_dir>/arrays/`, named after the source's
resolved path and its identity (sizes and modification times), so an edited source is
decoded again. The files are ours: a damaged one is ignored and rebuilt, never trusted,
and a user's data is never written to.

Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from cnn_lesson.data.classes import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.config import user_path
from cnn_lesson.data.notices import warn_caller

CACHE_VERSION = 1
_ARRAY_NAMES = ("train_images", "train_labels", "test_images", "test_labels")

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """The cache folder: `CNN_LESSON_CACHE`, or `~/.cache/cnn_lesson`.

    Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.

    Args:
        environ: the environment to read (default `os.environ`).

    Returns:
        The folder (it may not exist yet).
    """
    env = os.environ if environ is None else environ
    chosen = env.get("CNN_LESSON_CACHE", "").strip()
    if chosen:
        return user_path(chosen, "CNN_LESSON_CACHE")
    return Path.home() / ".cache" / "cnn_lesson"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def entry_path(cache_dir: Path, kind: str, source: Path, identity: str) -> Path:
    """Where the arrays of `source` (in the state `identity` describes) are cached."""
    name = f"{kind}-{_digest(str(source))}-{_digest(f'{CACHE_VERSION}|{identity}')}.npz"
    return Path(cache_dir) / "arrays" / name


def _counts(arrays: dict[str, np.ndarray]) -> dict[str, int]:
    return {split: int(len(arrays[f"{split}_images"])) for split in ("train", "test")}


def _valid(arrays: dict[str, np.ndarray], metadata: dict) -> bool:
    """The arrays have the right types and shapes, and as many images as were stored (an
    entry replaced by another file, even a well-formed empty one, is rebuilt)."""
    if metadata.get("counts") != _counts(arrays):
        return False
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if not len(images) or images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
            return False
        if labels.dtype != np.uint8 or labels.shape != (len(images), 1):
            return False
        if len(labels) and labels.max() >= NUM_CLASSES:
            return False
    return True


def load(entry: Path) -> tuple[Arrays, dict] | None:
    """Read a cache entry; `None` when it is missing, damaged or cannot be read (then it is
    rebuilt, and `store` warns when it cannot write it either: a cache folder of another user,
    or a name too long, only costs speed).

    Returns:
        `(((train_images, train_labels), (test_images, test_labels)), metadata)` or None.
    """
    try:
        if not entry.is_file():
            return None
    except OSError:  # a folder on the way that cannot be entered, a name too long
        return None
    try:
        with np.load(entry, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _ARRAY_NAMES}
            metadata = json.loads(str(stored["metadata"]))
    except Exception:  # ours and damaged (truncated, not a zip, edited): rebuild it
        return None
    if not isinstance(metadata, dict) or not _valid(arrays, metadata):
        return None
    train = (arrays["train_images"], arrays["train_labels"])
    return (train, (arrays["test_images"], arrays["test_labels"])), metadata


def store(entry: Path, data: Arrays, metadata: dict) -> None:
    """Write a cache entry atomically and drop older entries of the same source.

    A cache that cannot be written (read-only or full disk) only costs speed: it warns.
    """
    (train_images, train_labels), (test_images, test_labels) = data
    folder = entry.parent
    temporary = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".writing-", suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.savez(
                file,
                train_images=train_images,
                train_labels=train_labels,
                test_images=test_images,
                test_labels=test_labels,
                metadata=np.array(json.dumps({**metadata, "counts": _counts({
                    "train_images": train_images, "test_images": test_images})})),
            )
        os.replace(temporary, entry)
        temporary = None
        same_source = entry.name.rsplit("-", 1)[0] + "-"
        for old in folder.glob(same_source + "*.npz"):
            if old != entry:
                old.unlink(missing_ok=True)
    except OSError as error:
        warn_caller(
            f"Could not write the data cache in {folder} ({error}); the data loaded fine "
            "but the next load will decode it again. Set CNN_LESSON_CACHE to a writable "
            "folder to fix this.",
            UserWarning,
        )
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
