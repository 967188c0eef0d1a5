"""`load_cifar10`: CIFAR-10 from the download, an archive, folders, or the synthetic set.

Used by lesson 1 (`01_the_data.ipynb`) and by everything that trains or evaluates.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.data import archive, cache, folders
from cnn_lesson.data.cache import Arrays
from cnn_lesson.data.classes import LOCAL_FORMS
from cnn_lesson.data.download import CIFAR10_URL, download_archive
from cnn_lesson.data.synthetic import SYNTHETIC, SYNTHETIC_LABEL, generate, warn_synthetic
from cnn_lesson.config import user_path
from cnn_lesson.errors import DataError, SettingsError, shown

Source = str | os.PathLike | None


def _chosen(source: Source) -> str | os.PathLike | None:
    """`source`, or `CNN_LESSON_DATA` when it is None; None means the download."""
    if source is None:
        source = os.environ.get("CNN_LESSON_DATA", "")
    if isinstance(source, str):
        source = source.strip()
        return source or None
    return source


@checked
def is_synthetic(source: Source = None) -> bool:
    """Whether `source` (or `CNN_LESSON_DATA` when None) names the synthetic stand-in.

    Used by the plots and notebooks to label what they show.

    Args:
        source: as for `load_cifar10`.

    Returns:
        True for the string `synthetic` (any case); a path is never synthetic.
    """
    return _names_synthetic(_chosen(source))


def _names_synthetic(chosen: str | os.PathLike | None) -> bool:
    return isinstance(chosen, str) and chosen.lower() == SYNTHETIC


def _kind(path: Path) -> tuple[str, Path]:
    """What a local path holds: ("archive" | "batches" | "folders", the path to read).

    Raises:
        DataError: nothing is there, it cannot be read, or it is none of the local forms.
    """
    try:
        return _probe(path)
    except PermissionError:
        raise DataError(
            f"{shown(path)} (from CNN_LESSON_DATA or `source=`) cannot be read: permission "
            "denied. Make it readable (e.g. `chmod -R u+rX` on it) or copy the data to a "
            "folder of yours."
        ) from None
    except (OSError, ValueError) as error:  # a name too long, a NUL character, ...
        raise DataError(
            f"{shown(path)!r} (from CNN_LESSON_DATA or `source=`) is not a usable path "
            f"({error}). Check it."
        ) from None


def _probe(path: Path) -> tuple[str, Path]:
    if "\0" in str(path):  # pathlib answers "no such file" for it
        raise ValueError("it holds a NUL character, which no file name can")
    if path.is_symlink() and not path.exists():
        raise DataError(
            f"{shown(path)} (from CNN_LESSON_DATA or `source=`) is a symbolic link to "
            "nothing (a loop, or its target was moved or deleted). Point it at the data, or "
            "use the data's own path."
        )
    if path.is_file():
        return "archive", path
    if not path.exists():
        raise DataError(
            f"There is no file or folder at {path} (from CNN_LESSON_DATA or `source=`). "
            f"Check the path (it is read relative to {Path.cwd()}). CIFAR-10 may be:\n"
            + LOCAL_FORMS + "\nor leave CNN_LESSON_DATA unset to download it."
        )
    if path.is_dir():
        if any((path / name).is_file() for name in archive.BATCH_NAMES):
            return "batches", path
        if (path / archive.BATCHES_FOLDER).is_dir():
            return "batches", path / archive.BATCHES_FOLDER
        if folders.looks_like_image_folders(path):
            return "folders", path
    raise DataError(
        f"{path} is not CIFAR-10 in a form the course reads: it has no batch files "
        f"({', '.join(archive.BATCH_NAMES)}) and no train/ or test/ folder. CIFAR-10 may "
        "be:\n" + LOCAL_FORMS
    )


@checked
def source_label(source: Source = None) -> str:
    """A short description of the data for titles and captions.

    Used by the plots and lesson 1 (`01_the_data.ipynb`), so nobody mistakes the
    synthetic set for CIFAR-10.

    Args:
        source: as for `load_cifar10`.

    Returns:
        e.g. "CIFAR-10 (image folders)" or "SYNTHETIC stand-in for CIFAR-10 — not real
        images". It names the kind of source, never its path: the label ends up in stored
        pictures, and a path of the machine that made them means nothing to a learner.
        Never raises.
    """
    chosen = _chosen(source)
    if chosen is None:
        return "CIFAR-10 (official download)"
    if _names_synthetic(chosen):
        return SYNTHETIC_LABEL
    try:
        kind, _ = _kind(Path(chosen).expanduser())
    except (DataError, OSError, TypeError, RuntimeError):  # RuntimeError: ~nosuchuser
        return "CIFAR-10 (local copy)"
    names = {"archive": "archive", "batches": "batches folder",
             "folders": "image folders"}
    return f"CIFAR-10 ({names[kind]})"


def _file_identity(*files: Path) -> str:
    parts = []
    for file in files:
        info = file.stat()
        parts.append(f"{file.name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(parts)


def _load_archive(path: Path, cache_dir: Path, allow_unofficial: bool) -> Arrays:
    entry = cache.entry_path(cache_dir, "archive", path, _file_identity(path))
    hit = cache.load(entry)
    if hit is not None and hit[1].get("official"):
        return hit[0]
    official = archive.check_archive(path, allow_unofficial)  # refuses or warns
    if hit is not None:
        return hit[0]
    data = archive.read_archive(path)
    cache.store(entry, data, {"source": str(path), "official": official})
    return data


def _load_local(path: Path, cache_dir: Path, allow_unofficial: bool) -> Arrays:
    kind, where = _kind(path)
    where = where.resolve()
    if kind == "archive":
        return _load_archive(where, cache_dir, allow_unofficial)
    if kind == "batches":
        identity = _file_identity(*archive.batch_files(where))
        listing = None
    else:
        listing, identity = folders.list_image_folders(where)
    entry = cache.entry_path(cache_dir, kind, where, identity)
    hit = cache.load(entry)
    if hit is not None:
        return hit[0]
    if kind == "batches":
        data = archive.read_batches_folder(where)
    else:
        data = folders.read_image_folders(listing)
    cache.store(entry, data, {"source": str(where)})
    return data


@checked
def load_cifar10(
    source: Source = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    allow_unofficial_archive: bool = False,
    seed: int = 0,
    url: str = CIFAR10_URL,
) -> Arrays:
    """Load CIFAR-10 as `keras.datasets.cifar10.load_data()` does, from wherever it is.

    The first load of an archive or folder decodes it and caches the arrays; later loads
    of the same, unchanged source read the cache (about a second). Nothing the user
    gave is ever modified or deleted.

    Used by lesson 1 (`01_the_data.ipynb`), and by training and evaluation.

    Args:
        source: where the data is; None reads `CNN_LESSON_DATA`, and when that is empty
            too, downloads the official archive (once; later calls use Keras' cache).
            Otherwise a path to `cifar-10-python.tar.gz`, to an extracted
            `cifar-10-batches-py/` folder (or the folder holding it), to an image-folder
            tree `train/<class>/*`, `test/<class>/*` (PNG/JPEG, 32x32 RGB), or the string
            `synthetic` for the generated stand-in.
        cache_dir: the cache folder (default `CNN_LESSON_CACHE`, or `~/.cache/cnn_lesson`).
        allow_unofficial_archive: accept an archive (given or downloaded) that does not
            match the official checksum, with an `UnofficialDataWarning`: for a self-made
            archive in the official format.
        seed: the seed of the synthetic set (ignored by the other sources).
        url: where to download from (tests point it at a loopback server).

    Returns:
        `((train_images, train_labels), (test_images, test_labels))`: uint8 images of shape
        (N, 32, 32, 3) and uint8 labels of shape (N, 1), numbered as in `CLASS_NAMES`
        (official: 50,000 and 10,000 images).

    Raises:
        DataError: the data cannot be had; the message says why and what to do.
        SettingsError: `seed` is not a whole number of at least 0 (also a ValueError).

    Warns:
        SyntheticDataWarning: every time the synthetic set is loaded.
        UnofficialDataWarning: an unofficial archive was accepted.
    """
    if source is not None and not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"source must be a path (text or a pathlib.Path) or 'synthetic', not "
            f"{type(source).__name__} {source!r}. CIFAR-10 may be:\n" + LOCAL_FORMS
        )
    chosen = _chosen(source)
    if _names_synthetic(chosen):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise SettingsError(f"seed={seed!r}: use a whole number of at least 0.")
        warn_synthetic()
        return generate(seed, 5000, 1000)
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise DataError(f"cache_dir must be a folder's path or None, not "
                        f"{type(cache_dir).__name__} {cache_dir!r}.")
    cache_root = (user_path(cache_dir, "cache_dir", DataError) if cache_dir
                  else cache.default_cache_dir())
    if chosen is None:
        path = download_archive(url, cache_root, check_hash=not allow_unofficial_archive)
        return _load_archive(path.resolve(), cache_root, allow_unofficial_archive)
    try:
        return _load_local(user_path(chosen, "The data source", DataError), cache_root,
                           allow_unofficial_archive)
    except PermissionError as error:  # a folder inside it that can be listed, not entered
        closed = os.fsdecode(error.filename) if error.filename else chosen
        raise DataError(
            f"{shown(closed)} (in the data source) cannot be read: permission denied. Make it "
            "readable (e.g. `chmod -R u+rX` on the data) or copy the data to a folder of "
            "yours.") from None
