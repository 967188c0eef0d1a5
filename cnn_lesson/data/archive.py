"""The official CIFAR-10 format: `cifar-10-python.tar.gz` and its `cifar-10-batches-py/`.

The archive is read in place (nothing is extracted to disk) after its MD5 checksum is
compared with the official one; the extracted folder is read file by file. Both are parsed
with the restricted unpickler of `safe_pickle`. Neither is ever modified.

Used by lesson 1 (`01_the_data.ipynb`) through `load_cifar10`.
"""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from pathlib import Path

import numpy as np

from cnn_lesson.data.cache import Arrays
from cnn_lesson.data.notices import warn_caller
from cnn_lesson.data.safe_pickle import MAX_BATCH_BYTES, read_batch
from cnn_lesson.errors import DataError

ARCHIVE_NAME = "cifar-10-python.tar.gz"
BATCHES_FOLDER = "cifar-10-batches-py"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
OFFICIAL_SIZE = 170_498_071
OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
TEST_BATCH = "test_batch"
BATCH_NAMES = (*TRAIN_BATCHES, TEST_BATCH)
# The official archive holds 9 entries (the folder, 6 batches, batches.meta, readme.html).
MAX_ARCHIVE_ENTRIES = 1_000

CANNOT_READ = ("If it is yours, make it readable (e.g. `chmod -R u+rX` on the data); otherwise "
               "copy the data to a folder of yours and point CNN_LESSON_DATA at the copy.")


class UnofficialDataWarning(UserWarning):
    """An archive was used without matching the official checksum (the caller allowed it)."""


def md5_of(path: Path) -> str:
    """The MD5 checksum of a file, read in 1 MiB blocks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _assemble(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> Arrays:
    """The training set (five batches) and the test set, or a DataError if two batches hold
    the same images: a copy or link of a training batch in the test batch's place would
    measure the test accuracy on training images."""
    digests: dict[str, str] = {}
    for name, (images, _) in batches.items():
        digest = hashlib.blake2b(np.ascontiguousarray(images).tobytes(), digest_size=16)
        first = digests.setdefault(digest.hexdigest(), name)
        if first != name:
            leak = (" The test accuracy would be measured on training images."
                    if TEST_BATCH in (first, name) else "")
            raise DataError(f"The batches {first} and {name} hold the same images.{leak} "
                            f"Extract the official `{ARCHIVE_NAME}` again.")
    train_images = np.concatenate([batches[name][0] for name in TRAIN_BATCHES])
    train_labels = np.concatenate([batches[name][1] for name in TRAIN_BATCHES])
    return (train_images, train_labels), batches[TEST_BATCH]


def check_archive(path: Path, allow_unofficial: bool) -> bool:
    """Compare the archive with the official checksum.

    Returns:
        True when it is the official archive; False when it is not and that was allowed
        (then an `UnofficialDataWarning` says so).

    Raises:
        DataError: it is not the official archive and `allow_unofficial` is False.
    """
    try:
        actual = md5_of(path)
    except OSError as error:
        raise DataError(f"{path} cannot be read ({error}). {CANNOT_READ}") from None
    if actual == OFFICIAL_MD5:
        return True
    if allow_unofficial:
        warn_caller(
            f"{path} is not the official CIFAR-10 archive (MD5 {actual}, official "
            f"{OFFICIAL_MD5}); it is used because allow_unofficial_archive=True.",
            UnofficialDataWarning,
        )
        return False
    size = path.stat().st_size
    if size < OFFICIAL_SIZE:
        why = f"it looks incomplete: {size:,} of the official {OFFICIAL_SIZE:,} bytes"
    else:
        why = f"{size:,} bytes; the official archive has {OFFICIAL_SIZE:,}"
    raise DataError(
        f"{path} does not match the official CIFAR-10 checksum (MD5 {actual}, expected "
        f"{OFFICIAL_MD5}; {why}). If you downloaded it, the download was cut short or "
        f"altered: download `{ARCHIVE_NAME}` again from {OFFICIAL_PAGE}. If you made this "
        "archive yourself in the official format, load it with "
        "`load_cifar10(path, allow_unofficial_archive=True)` (on the command line, extract it "
        "and give its cifar-10-batches-py folder). "
        "The file was left as it is."
    )


def _check_member(path: Path, member: tarfile.TarInfo, count: int) -> None:
    """Refuse an entry larger than a batch, or more entries than CIFAR-10 has, before any
    of it is decompressed (a few MB of gzip can unpack to many GB)."""
    how = (f"The official `{ARCHIVE_NAME}` holds {BATCHES_FOLDER}/ with six batches of "
           f"about 31 MB each: download it again from {OFFICIAL_PAGE}. The file was left as "
           "it is.")
    if member.size > MAX_BATCH_BYTES:
        raise DataError(f"{path} holds {member.name}, {member.size:,} bytes unpacked: larger "
                        f"than any file of CIFAR-10 (at most {MAX_BATCH_BYTES:,} here), so it "
                        f"was not unpacked. {how}")
    if count > MAX_ARCHIVE_ENTRIES:
        raise DataError(f"{path} holds more than {MAX_ARCHIVE_ENTRIES:,} entries; CIFAR-10's "
                        f"archive has 9. {how}")


def read_archive(path: Path) -> Arrays:
    """Parse `cifar-10-python.tar.gz` in memory (call `check_archive` first).

    Raises:
        DataError: the archive is truncated or corrupt, or lacks a batch file.
    """
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for count, member in enumerate(archive, start=1):
                _check_member(path, member, count)
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name in BATCH_NAMES and name not in found:
                    payload = archive.extractfile(member).read()
                    found[name] = read_batch(payload, f"{path}: {member.name}")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"{path} is truncated or corrupt, so it cannot be read as CIFAR-10's "
            f"`{ARCHIVE_NAME}` ({type(error).__name__}: {error}). Download it again from "
            f"{OFFICIAL_PAGE}, or point CNN_LESSON_DATA at another copy. The file was left "
            "as it is."
        ) from None
    missing = [name for name in BATCH_NAMES if name not in found]
    if missing:
        raise DataError(
            f"{path} has no {', '.join(f'{BATCHES_FOLDER}/{name}' for name in missing)}; "
            f"an archive of CIFAR-10 holds {BATCHES_FOLDER}/ with "
            f"{', '.join(BATCH_NAMES)}. Download the official `{ARCHIVE_NAME}` from "
            f"{OFFICIAL_PAGE}."
        )
    return _assemble(found)


def batch_files(folder: Path) -> list[Path]:
    """The six batch files of an extracted `cifar-10-batches-py/` folder, in order.

    Raises:
        DataError: a batch file is missing.
    """
    missing = [name for name in BATCH_NAMES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"{folder} looks like an extracted `{BATCHES_FOLDER}/` folder but has no "
            f"{', '.join(missing)}; it needs all of {', '.join(BATCH_NAMES)}. Extract the "
            f"official `{ARCHIVE_NAME}` again (or point CNN_LESSON_DATA at the archive "
            "itself)."
        )
    return [folder / name for name in BATCH_NAMES]


def read_batches_folder(folder: Path) -> Arrays:
    """Parse an extracted `cifar-10-batches-py/` folder.

    Raises:
        DataError: a batch file is missing, unreadable or not a CIFAR-10 batch.
    """
    found = {}
    for file in batch_files(folder):
        try:
            size = file.stat().st_size
            if size > MAX_BATCH_BYTES:  # refused unread: it would fill the memory
                raise DataError(
                    f"{file} is {size:,} bytes; a CIFAR-10 batch is about 31 MB (at most "
                    f"{MAX_BATCH_BYTES:,} here). Extract the official `{ARCHIVE_NAME}` again."
                )
            payload = file.read_bytes()
        except OSError as error:
            raise DataError(f"{file} cannot be read ({error}). {CANNOT_READ}") from None
        found[file.name] = read_batch(payload, str(file))
    return _assemble(found)
