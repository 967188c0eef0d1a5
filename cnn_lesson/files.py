"""Safe writing of the lesson's files: checked output folders and atomic saves.

A crash, a full disk or an interrupted kernel while saving must never leave a truncated
`model.keras`, plot or `metrics.json` behind, nor destroy the previous one. Every file the
course writes goes through `atomic_path`: it is written to a temporary file in the same folder
and renamed over the old one only when complete (a rename within a folder is atomic).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import Any, Iterable, Iterator

from cnn_lesson.arguments import checked
from cnn_lesson.errors import OutputError, shown

# What to do about a failed write, by its errno; anything else gets the generic advice.
_FULL = "The disk is full: free some disk space or choose another output folder."
_NOT_WRITABLE = ("That folder is not writable: choose a folder you can write to (--output DIR "
                 "or CNN_LESSON_OUTPUT), or make it writable.")
_ADVICE = {
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL,
    errno.ENOTDIR: ("A part of the path is a file, not a folder: move that file away or choose "
                    "another output folder."),
    errno.EACCES: _NOT_WRITABLE,
    errno.EPERM: _NOT_WRITABLE,
    errno.EROFS: _NOT_WRITABLE,
    errno.ENAMETOOLONG: "The path or a name in it is too long: choose a shorter one.",
    errno.ENOENT: ("Its folder does not exist: create it first (prepare_output_dir(folder) "
                   "does) or choose an existing folder."),
}
_GENERIC = "Free some disk space or choose another output folder."


def advice(error: OSError, path: str | os.PathLike, otherwise: str = _GENERIC) -> str:
    """What to do about `error`, raised while writing `path`: one sentence, by its errno
    (`otherwise` for an errno without its own advice)."""
    if error.errno == errno.EISDIR:
        return f"{shown(path)} is a folder: move it away or choose another output folder."
    if error.errno in (errno.ELOOP, errno.ENOENT):  # "Free some disk space" for a loop
        problem = link_problem(path)
        if problem is not None:
            return problem
    return _ADVICE.get(error.errno, otherwise)


# h5py puts the C library's report in its message, over two lines: "Can't close file (file
# write failed: time = ...\n, filename = ..., errno = 28, error message = 'No space left on
# device', buf = 0x..., ...)".
_H5_DETAIL = re.compile(r"error message = '([^']*)'")


def reason(error: OSError) -> str:
    """Why `error` happened, on one line, for a message: its `strerror` ("No space left on
    device"), or for h5py's many-line report its first words and the system's reason
    ("Can't close file: No space left on device"). Used by every "Could not write" message."""
    text = str(error.strerror or error)
    if "\n" not in text and len(text) <= 300:
        return text
    detail = _H5_DETAIL.search(text)
    because = detail.group(1) if detail else (
        os.strerror(error.errno) if isinstance(error.errno, int) and error.errno > 0 else "")
    head = " ".join(text.strip().split("\n", 1)[0].split())
    if because:
        head = ": ".join(filter(None, (head.split(" (", 1)[0].rstrip(" .:"), because)))
    return head if len(head) <= 300 else head[:297] + "..."


def broken_link(path: str | os.PathLike) -> Path | None:
    """The first of `path` and the folders above it that is a symbolic link to nothing (its
    disk not mounted, its target removed) or a loop of links; None when there is none."""
    path = Path(path)
    for candidate in (*reversed(path.parents), path):
        try:
            if os.path.islink(candidate) and not os.path.exists(candidate):
                return candidate
        except (OSError, ValueError):
            return None
    return None


# What to do about a broken link where the lessons write: another folder is given so.
CHOOSE_OUTPUT = "choose another folder (--output DIR or CNN_LESSON_OUTPUT)"


def _link_advice(link: Path, choose: str = CHOOSE_OUTPUT) -> str:
    """Where the broken `link` points, and what to do about it."""
    try:
        target = f"{shown(link)} points to {shown(os.readlink(link))}"
    except OSError:
        target = shown(link)
    return f"{target}. Mount that disk, or fix or remove the link, or {choose}."


def link_message(folder: Path, link: Path, what: str = "The output folder",
                 choose: str = CHOOSE_OUTPUT) -> str:
    """`prepare_output_dir`'s message for a `folder` that is (or lies under) the link to
    nothing or loop `link` (`broken_link`'s); `what` names the folder, `choose` the way to
    give another."""
    where = "is" if link == folder else "lies under"
    return (f"{what} {shown(folder)} {where} a symbolic link to nothing (a disk not mounted?) "
            f"or a loop: {_link_advice(link, choose)}")


def link_problem(path: str | os.PathLike) -> str | None:
    """What is wrong, and what to do, when `path` is or lies under a symbolic link to nothing
    or a loop (see `broken_link`): "X is a symbolic link to nothing (a disk not mounted?) or
    a loop: X points to Y. Mount that disk, ..."; None when there is no such link."""
    link = broken_link(path)
    if link is None:
        return None
    return (f"{shown(link)} is a symbolic link to nothing (a disk not mounted?) or a loop: "
            f"{_link_advice(link)}")


def refuse_broken_link(folder: str | os.PathLike, error_class: type = OutputError) -> None:
    """An `error_class` error (OutputError by default) with `prepare_output_dir`'s message
    when `folder` is, or lies under, a symbolic link to nothing or a loop (see
    `broken_link`). Used before work whose files would go there: saving a model or a
    history, training lesson 4's stand-in, reading a history."""
    link = broken_link(folder)
    if link is not None:
        raise error_class(link_message(Path(folder), link))


# A full training run writes two models (~2 MB each), two plots and a backup: 50 MB is ample.
MIN_FREE_BYTES = 50 * 1024 * 1024


@checked
def prepare_output_dir(path: str | os.PathLike, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """Make sure the output folder exists and can take the lesson's files, before any work.

    Used by lesson 3 and the command line before training starts, so that a bad folder is
    reported in a second rather than after an hour of training.

    Args:
        path: the folder; created (with its parents) when missing.
        min_free_bytes: the free space it must have.

    Returns:
        The folder as a `Path`.

    Raises:
        OutputError: the path is a file or a symbolic link to nothing, cannot be created or
            written, or the disk is full.
    """
    from cnn_lesson.config import user_path  # here: config is read once, files everywhere

    folder = user_path(path, "The output folder", OutputError)
    try:
        if folder.exists() and not folder.is_dir():
            what = "a file, not a folder" if folder.is_file() else "not a folder"
            raise OutputError(
                f"The output path {shown(folder)} is {what}. Choose another folder (--output "
                "DIR or CNN_LESSON_OUTPUT), or move that file away."
            )
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
        free = shutil.disk_usage(folder).free
    except OSError as error:
        link = broken_link(folder)  # mkdir said "File exists", or "Too many levels"
        if link is not None:
            raise OutputError(link_message(folder, link)) from error
        raise OutputError(
            f"Cannot write to the output folder {shown(folder)}: {reason(error)}. "
            + advice(error, folder, "Choose a folder you can write to (--output DIR or "
                                    "CNN_LESSON_OUTPUT).")
        ) from error
    if free < min_free_bytes:
        raise OutputError(
            f"The disk holding {folder} has only {free / 1e6:.1f} MB free; the lesson needs "
            f"{min_free_bytes / 1e6:.0f} MB. Free some space or choose another folder."
        )
    return folder


def refuse_folders_in_the_way(folder: Path, names: Iterable[str]) -> None:
    """Make sure no folder has the name of a file a run will write in `folder`, before it runs.

    Used by `resumable_training` (lesson 3, lesson 5 and the command line) before training:
    otherwise the run would train for an hour and then fail to save its model.

    Raises:
        OutputError: one of `names` in `folder` is a folder; the message names it.
    """
    for name in names:
        if os.path.isdir(folder / name):
            raise OutputError(
                f"{shown(folder / name)} is a folder, where training saves its file {name}. "
                "Nothing was trained: move that folder away or choose another output folder "
                "(--output DIR, or another output_dir), then run again."
            )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The temporary name keeps the file's suffix, because Keras and matplotlib choose the format
    from it. If the block raises, the temporary file is removed and `path` is left untouched.

    Args:
        path: the file to (re)write.

    Yields:
        The temporary path to write to.

    Raises:
        OutputError: the file could not be written (e.g. the disk is full).
    """
    final = Path(path)
    temporary = final.with_name(f".{final.stem}.partial-{os.getpid()}{final.suffix}")
    try:
        yield temporary
        flush_to_disk(temporary)
        os.replace(temporary, final)
        flush_folder(final.parent)
    except OSError as error:
        raise OutputError(
            f"Could not write {shown(final)}: {reason(error)}. The previous version, "
            "if any, is unchanged. " + advice(error, final)
        ) from error
    finally:
        with contextlib.suppress(OSError):  # e.g. never made: a part of the path is a file
            temporary.unlink()


def flush_to_disk(path: str | os.PathLike) -> None:
    """Have the system write the file at `path` to the disk now (`fsync`), before it is
    renamed onto the previous version: otherwise a power cut soon after the rename can leave
    an empty or partial file in its place on some file systems, and the previous version
    gone. Used by `atomic_path` and the training backup.

    Raises:
        OSError: the file cannot be opened or written to the disk.
    """
    with open(path, "rb+") as file:  # Windows syncs only files open for writing
        os.fsync(file.fileno())


def flush_folder(folder: str | os.PathLike) -> None:
    """Have the system write a folder's list of names to the disk (`fsync`), so that a rename
    in it survives a power cut. Only where folders can be opened (not Windows, which has no
    such call); a file system that cannot do it is left as it is."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def remove_stale_partials(folder: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Remove the half-written files that `atomic_path` leaves when its process is killed
    (`.model.partial-PID.keras` for `model.keras`, up to the size of a model each), for the
    files `names` only and for processes that no longer run. Returns the files removed."""
    patterns = [re.compile(rf"^\.{re.escape(Path(name).stem)}\.partial-(\d+)"
                           rf"{re.escape(Path(name).suffix)}$") for name in names]
    removed = []
    for path in Path(folder).glob(".*.partial-*"):
        match = next(filter(None, (pattern.match(path.name) for pattern in patterns)), None)
        if match is None or not is_regular_file(path) or path.is_symlink():
            continue
        try:
            os.kill(int(match.group(1)), 0)  # signal 0: only asks whether it runs
            continue
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, ValueError):  # another user's, or no pid
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


# Far above any JSON file the course writes (a history, metrics, an epoch log: kilobytes).
MAX_JSON_BYTES = 16 * 1024 * 1024


def read_json(path: str | os.PathLike) -> Any:
    """The JSON in `path`. Raises OSError, or ValueError for text that is not JSON, also for
    JSON nested so deep that Python's parser gives up ([[[[... a hundred thousand deep raised
    RecursionError, which no caller expected of a bad file), for a file of more than
    MAX_JSON_BYTES, and for what is not a file (a pipe in its place waited forever, a link to
    /dev/zero filled the memory)."""
    size = os.stat(path).st_size  # FileNotFoundError for a missing file, as read_text gives
    if not is_regular_file(path):
        raise ValueError(f"{shown(path)} is not a file of its own (a pipe, a device or a folder)")
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{shown(path)} is larger than any JSON file of the course")
    text = Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{shown(path)} is nested deeper than any JSON file of the course "
                         "(it is not one)") from None


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether `path` (after its links) is an ordinary file, not a pipe, device or folder:
    the only kind the package reads without knowing how long reading would take."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):  # missing, a link to nothing, a NUL in the name
        return False


def closed_to_us(paths: Iterable[Path]) -> Path | None:
    """The first of `paths` that is there but cannot be read for its permissions (a folder
    that cannot be listed, a file that cannot be opened: another user's, in a shared folder),
    or None. Such a file is not damaged, nor missing: messages say so. Pipes are not opened
    (opening one would wait)."""
    for path in paths:
        try:
            os.stat(path)  # in a folder that can be listed but not entered (mode 444): closed
            if os.path.isdir(path):
                os.scandir(path).close()
            elif is_regular_file(path):
                open(path, "rb").close()
        except PermissionError:
            return Path(path)
        except (OSError, ValueError):  # missing, a link to nothing: not closed, absent
            continue
    return None


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write `data` as indented JSON, atomically. Returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return Path(path)
