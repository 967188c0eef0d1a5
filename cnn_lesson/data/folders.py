"""CIFAR-10 as image folders: `train/<class>/*` and `test/<class>/*` (PNG or JPEG).

Images must already be 32x32 RGB: anything else is an error, never silently converted, so
the arrays are exactly what the files hold. Within a class the files are taken in sorted
order; the classes are interleaved (the first image of each class in `CLASS_NAMES` order,
then the second, ...), so every slice from the start holds all classes in balance, as the
shuffled official batches do (a quick run's `train_images[:2000]` is not all airplanes).

Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`; the real copy the course
ships (`cifar10-jpeg.tar.gz`) has this layout.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_lesson.data.cache import Arrays
from cnn_lesson.data.classes import CLASS_NAMES, IMAGE_SHAPE
from cnn_lesson.errors import DataError, shown

SPLITS = ("train", "test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a camera's JPEG with more pictures; the first is read
_CHUNK = 500
_PERMISSION = ("you cannot read it (permission denied). Make it readable (e.g. `chmod -R u+rX` "
               "on the data folder) or copy the data to a folder of yours.")


def _scan(folder: Path) -> list[os.DirEntry]:
    """The entries of a folder, or a `DataError` that says why it cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except PermissionError:
        raise DataError(f"{shown(folder)} cannot be listed: {_PERMISSION}") from None
    except OSError as error:
        raise DataError(f"{shown(folder)} cannot be listed ({error}).") from None


def _dangling(entry: os.DirEntry) -> bool:
    """A symbolic link whose target is missing or leads back to itself (a loop)."""
    return entry.is_symlink() and not os.path.exists(entry.path)


def _dangling_message(path: str) -> str:
    return (f"{shown(path)} is a symbolic link to nothing (a loop, or its target was moved "
            "or deleted). Remove it, or point it at what it stands for.")


def looks_like_image_folders(folder: Path) -> bool:
    """Whether `folder` has a `train/` or `test/` subfolder."""
    return any((folder / split).is_dir() for split in SPLITS)


def _list_class(class_folder: Path) -> tuple[list[str], str, list[tuple[int, int]]]:
    """The image files of one class folder (sorted), a line for the cache identity, and
    each file's (device, inode): which file on the disk it is, through any link."""
    found = []
    for entry in _scan(class_folder):
        if entry.name.startswith("."):  # .DS_Store, ._x.jpg and other hidden files
            continue
        if _dangling(entry):
            raise DataError(_dangling_message(entry.path))
        if not entry.is_file() or not entry.name.lower().endswith(IMAGE_SUFFIXES):
            raise DataError(
                f"{shown(entry.path)} is not a PNG or JPEG image; a class folder may hold "
                f"only images ({', '.join(IMAGE_SUFFIXES)}). Move it out of the data folder."
            )
        try:
            info = entry.stat()
        except OSError as error:
            raise DataError(f"{shown(entry.path)} cannot be read ({error}).") from None
        found.append((entry.path, info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino))
    if not found:
        raise DataError(f"{shown(class_folder)} holds no images; each class needs at least "
                        "one (PNG or JPEG, 32x32 RGB).")
    found.sort()
    return ([path for path, *_ in found], repr([entry[:3] for entry in found]),
            [entry[3:] for entry in found])


def _check_files_not_seen(files: list[str], disk_files: list[tuple[int, int]],
                          seen: dict[tuple[int, int], str]) -> None:
    """Refuse an image file that is another one of the data (a symbolic or hard link): it
    would count for two classes, or for training and testing both."""
    for file, disk_file in zip(files, disk_files):
        if disk_file[1] == 0:  # a filesystem without inode numbers: nothing to compare
            continue
        first = seen.setdefault(disk_file, file)
        if first != file:
            leak = (" The test accuracy would be measured on training images."
                    if Path(first).parts[-3] != Path(file).parts[-3] else "")
            raise DataError(f"{shown(file)} and {shown(first)} are the same file on the disk, "
                            f"through a link.{leak} Each image of the data must be its own "
                            "file: copy it, or remove the link.")


def _check_not_seen(class_folder: Path, seen: dict[Path, Path]) -> None:
    """Refuse two class folders that are one folder (through symbolic links): the same images
    would count for two classes, or for training and testing both."""
    real = class_folder.resolve()
    if real in seen:
        first = seen[real]
        leak = (" The test accuracy would be measured on training images."
                if first.parent.name != class_folder.parent.name else "")
        raise DataError(f"{class_folder} and {first} are the same folder ({real}), through a "
                        f"symbolic link.{leak} Each class of each split needs its own folder "
                        "of images.")
    seen[real] = class_folder


def list_image_folders(root: Path) -> tuple[dict[str, list[list[str]]], str]:
    """Check the layout and list the images.

    Returns:
        `({split: [files of class 0, files of class 1, ...]}, identity)`, where the
        identity (names, sizes and times of every file) keys the cache.

    Raises:
        DataError: a split or class folder is missing, there is an extra folder or file,
            or a class folder holds something other than images.
    """
    listing: dict[str, list[list[str]]] = {}
    identity = hashlib.sha256()
    expected = ", ".join(CLASS_NAMES)
    seen: dict[Path, Path] = {}  # a real folder -> the first class folder that led to it
    seen_files: dict[tuple[int, int], str] = {}  # (device, inode) -> the first file there
    for split in SPLITS:
        split_folder = root / split
        if not split_folder.is_dir():
            raise DataError(
                f"{root} has no `{split}/` folder; an image-folder copy of CIFAR-10 needs "
                f"`train/<class>/` and `test/<class>/` with the classes {expected}."
            )
        present = {entry.name for entry in _scan(split_folder) if not entry.name.startswith(".")}
        missing = [name for name in CLASS_NAMES if name not in present]
        extra = sorted(present - set(CLASS_NAMES))
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing class folders: {', '.join(missing)}")
            if extra:
                problems.append(f"unexpected entries: {', '.join(map(shown, extra))}")
            raise DataError(
                f"{split_folder} has {' and '.join(problems)}. It must hold exactly one "
                f"folder per CIFAR-10 class, named {expected}. Rename or move the folders "
                "(class names are lower case, in English)."
            )
        class_folders = [split_folder / class_name for class_name in CLASS_NAMES]
        for class_folder in class_folders:
            if class_folder.is_symlink() and not class_folder.exists():
                raise DataError(_dangling_message(str(class_folder)))
            if not class_folder.is_dir():
                raise DataError(f"{class_folder} is a file; it must be a folder of images.")
            _check_not_seen(class_folder, seen)
        with ThreadPoolExecutor(max_workers=4) as pool:  # stat() waits on the disk
            listed = list(pool.map(_list_class, class_folders))
        listing[split] = [files for files, _, _ in listed]
        for files, line, disk_files in listed:
            _check_files_not_seen(files, disk_files, seen_files)
            identity.update(line.encode("utf-8", "surrogateescape"))
    return listing, identity.hexdigest()


def _interleave(per_class: list[list[str]]) -> tuple[list[str], np.ndarray]:
    """Round-robin over the classes: file i of class 0, 1, ..., 9, then file i + 1."""
    files, labels = [], []
    for index in range(max(len(files_) for files_ in per_class)):
        for label, class_files in enumerate(per_class):
            if index < len(class_files):
                files.append(class_files[index])
                labels.append(label)
    return files, np.array(labels, dtype=np.uint8).reshape(-1, 1)


def _decode_into(images: np.ndarray, files: list[str], start: int) -> None:
    for offset, file in enumerate(files):
        try:
            with Image.open(file) as image:
                if image.format not in _FORMATS:
                    raise DataError(
                        f"{shown(file)} is a {image.format} image; only PNG and JPEG are "
                        "read. Convert it to PNG."
                    )
                if image.size != IMAGE_SHAPE[:2] or image.mode != "RGB":
                    raise DataError(
                        f"{shown(file)} is {image.size[0]}x{image.size[1]} {image.mode}; "
                        "CIFAR-10 images must be 32x32 RGB. Nothing is resized or converted "
                        "silently: convert the file (e.g. with Pillow: "
                        "`image.convert('RGB').resize((32, 32))`) or remove it."
                    )
                images[start + offset] = np.asarray(image)
        except DataError:
            raise
        except PermissionError:
            raise DataError(f"{shown(file)} cannot be read: {_PERMISSION}") from None
        except Image.DecompressionBombError as error:
            # Pillow refuses it in Image.open, before decoding: over 2 x MAX_IMAGE_PIXELS.
            raise DataError(
                f"{shown(file)} claims to be far larger than a 32x32 image ({error}); it was "
                "not decoded. CIFAR-10 images must be 32x32 RGB: replace or remove it."
            ) from None
        except Exception as error:  # Pillow raises many types for damaged files (OSError,
            # UnidentifiedImageError, SyntaxError, ValueError, struct.error, ...)
            raise DataError(
                f"{shown(file)} cannot be read as an image ({type(error).__name__}: {error}); "
                "it may be truncated or not an image at all. Replace or remove it."
            ) from None


def _decode(files: list[str], workers: int) -> np.ndarray:
    images = np.empty((len(files), *IMAGE_SHAPE), dtype=np.uint8)
    chunks = [(files[start:start + _CHUNK], start) for start in range(0, len(files), _CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        for chunk, start in chunks:
            _decode_into(images, chunk, start)
        return images
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_decode_into, images, chunk, start) for chunk, start in chunks]
        try:
            for future in futures:
                future.result()
        finally:
            for future in futures:
                future.cancel()
    return images


def read_image_folders(listing: dict[str, list[list[str]]], workers: int | None = None) -> Arrays:
    """Decode the images `list_image_folders` found.

    Args:
        listing: its first result.
        workers: decoding threads (default: the number of CPUs, at most 8).

    Raises:
        DataError: an image is unreadable, not PNG/JPEG, or not 32x32 RGB.
    """
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    result = []
    for split in SPLITS:
        files, labels = _interleave(listing[split])
        result.append((_decode(files, workers), labels))
    return result[0], result[1]
