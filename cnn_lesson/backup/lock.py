"""One training run per output folder at a time.

Two runs writing one backup would mix their epochs, so a run takes a lock on its output
folder first and a second run refuses at once. The lock is the operating system's
(`fcntl.flock`, `msvcrt.locking` on Windows): it is released when its process ends, also by
SIGKILL or a crash, so no stale lock is ever left to clean up.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO, Iterator

from cnn_lesson.errors import BackupError, shown
from cnn_lesson.files import advice, reason

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

LOCK_FILE = ".training.lock"
_WHOLE_COMMAND = object()  # the owner of a lock held by `holding_folder`

# The folders this process has locked: folder -> [open lock file, owner]. A lock belongs to
# the process, so a notebook cell run again after an interrupted `fit` takes over the lock its
# earlier run never released, instead of refusing itself.
_held: dict[Path, list] = {}


def _try_lock(file: IO) -> bool:
    """Lock `file` without waiting; False if another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            file.seek(0)  # msvcrt locks bytes from the current position: byte 0 for everyone
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
    except BlockingIOError:
        return False
    except OSError:
        # msvcrt says "locked" with a plain OSError. With fcntl, a filesystem without locks
        # (some network drives) lands here: then train unlocked rather than not at all.
        return fcntl is not None
    return True


def _other_pid(path: Path) -> str:
    with contextlib.suppress(OSError, ValueError):
        return f" (process {int(path.read_text().strip())})"
    return ""


def _open_lock_file(path: Path) -> IO:
    try:
        # Not through a link: a `.training.lock` linked to another file would truncate it.
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_BINARY", 0), 0o644)
    except IsADirectoryError:
        raise BackupError(
            f"{shown(path)} is a folder, in the way of the lock file that training keeps there. "
            "The course never makes a folder of that name: remove it, then run again."
        ) from None
    except OSError as error:
        if os.path.islink(path):
            raise BackupError(
                f"{shown(path)} is a link, in the way of the lock file that training keeps "
                "there. The course never makes a link of that name: remove it (the file it "
                "points to stays), then run again.") from None
        raise BackupError(f"Cannot open the lock file {shown(path)}: "
                          f"{reason(error)}. " + advice(error, path)) from error
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:  # a hard link, a pipe, a device
        os.close(descriptor)
        raise BackupError(
            f"{shown(path)} is not a file of its own (a hard link to another file, a pipe or a "
            "device), in the way of the lock file that training keeps there. The course never "
            "makes one: remove it, then run again.")
    return os.fdopen(descriptor, "r+", encoding="utf-8")


def lock_folder(folder: Path, owner: object) -> bool:
    """Take the output folder's training lock for `owner`.

    Args:
        folder: the output folder (it exists).
        owner: who releases it (`unlock_folder(folder, owner)`).

    Returns:
        True if `owner` holds the lock now; False if this process holds it for a whole
        command already (then that command releases it).

    Raises:
        BackupError: another process holds the lock, or the lock file cannot be opened (e.g.
            a folder has its name).
    """
    key = folder.resolve()
    if key in _held:
        if _held[key][1] is _WHOLE_COMMAND:
            return False
        _held[key][1] = owner  # an earlier fit of this process, interrupted: take it over
        return True
    path = key / LOCK_FILE
    while True:
        file = _open_lock_file(path)
        if not _try_lock(file):
            file.close()
            raise BackupError(
                f"Another training run{_other_pid(path)} is using the output folder "
                f"{shown(folder.name)}/ right now; two runs in one folder would mix their backups. "
                "Wait for it to finish, or choose another output folder (--output DIR, or "
                "another output_dir). If it is a notebook you interrupted, restart its kernel."
            )
        # Its last holder may have removed the file between our open and our lock.
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(file.fileno()), os.stat(path)):
                break
        file.close()
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n")
    file.flush()
    _held[key] = [file, owner]
    return True


def unlock_folder(folder: Path, owner: object) -> None:
    """Release the folder's lock if `owner` holds it, and remove the lock file."""
    key = folder.resolve()
    if key not in _held or _held[key][1] is not owner:
        return
    file, _ = _held.pop(key)
    with contextlib.suppress(OSError):  # removed first: a waiting run then locks a new file
        (key / LOCK_FILE).unlink()
    file.close()


@contextlib.contextmanager
def holding_folder(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for a whole command: training, then writing its results.

    Used by `python -m cnn_lesson train`, so that two commands on one folder cannot mix
    their models and metrics either.

    Raises:
        BackupError: another process is using the folder.
    """
    taken = lock_folder(folder, _WHOLE_COMMAND)
    try:
        yield
    finally:
        if taken:
            unlock_folder(folder, _WHOLE_COMMAND)
