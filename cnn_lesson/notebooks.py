"""The lesson notebooks: where they are, and, for instructors, refreshing or checking their
stored outputs.

    python -m cnn_lesson notebooks copy DIR  a working copy of the five lessons in DIR (from a
                                             checkout or from the installed wheel)
    python -m cnn_lesson notebooks refresh   re-execute every lesson, in order, in a fresh
                                             kernel, and store its outputs (in a checkout)
    python -m cnn_lesson notebooks check     run nbval on every lesson and report the stale
                                             or failing ones (in a checkout)

The stored outputs are what learners compare their own run with, so `refresh` only runs on
real CIFAR-10 in full mode: it refuses the synthetic set and quick mode.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from cnn_lesson import config
from cnn_lesson.errors import CnnLessonError, OutputError, shown
from cnn_lesson.files import atomic_path, prepare_output_dir

NOTEBOOK_DIR = config.PROJECT_ROOT / "notebooks"
LESSON_PATTERN = "[0-9][0-9]_*.ipynb"
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 3600
KEPT_METADATA = ("kernelspec", "language_info")


def lessons_folder() -> Path:
    """Where the lessons are: the checkout's `notebooks/`, or the installed package's copy
    (a wheel carries them as the package data of `cnn_lesson.lessons`, see pyproject.toml)."""
    # A wheel installs its files as they are, so the folder is a plain path beside this file.
    return NOTEBOOK_DIR if config.IN_CHECKOUT else Path(__file__).resolve().parent / "lessons"


def lesson_notebooks(names: Sequence[str] = ()) -> list[Path]:
    """The lesson notebooks in order (`notebooks/0*.ipynb`), or the ones named."""
    folder = lessons_folder()
    if not names:
        lessons = sorted(folder.glob(LESSON_PATTERN))
        if not lessons:
            raise CnnLessonError(f"No lessons in {folder}: the installation is incomplete; "
                                 "install the course again (see the README).")
        return lessons
    paths = []
    for name in names:
        try:
            path = Path(name)
            if not path.exists():
                path = folder / name
            found = path.is_file()
        except (OSError, ValueError):  # a name too long, a NUL character
            found = False
        if not found:
            raise CnnLessonError(f"No notebook {name:.80}: give a path or a name in {folder}.")
        paths.append(path)
    return paths


def read_notebook(path: Path):
    """The notebook at `path`, or a CnnLessonError that says it is not one."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001
        # nbformat raises NotJSONError for text that is not JSON, ValidationError for a wrong
        # shape, and KeyError, AttributeError or TypeError from its converters for JSON that
        # is nothing like a notebook: every one of them means "not a notebook" here.
        raise CnnLessonError(
            f"{path} is not a readable Jupyter notebook ({type(error).__name__}): give a "
            "lesson's .ipynb file, or no names for every lesson."
        ) from None
    return notebook


def _needs_checkout(action: str) -> None:
    if not config.IN_CHECKOUT:
        raise CnnLessonError(
            f"`notebooks {action}` is for instructors and needs a checkout of the project (its "
            "tests and settings are not in the installed package): run it from a git clone, "
            "after `pip install -r requirements-dev.txt`."
        )


def tidy(notebook) -> None:
    """Make a notebook's file tidy: no stderr noise, no execution timestamps, kernel python3.

    TensorFlow's log lines and warnings land on stderr; they are not part of the lesson.
    Cell ids are kept as they are, so diffs stay small.
    """
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k in KEPT_METADATA}
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3", "language": "python", "name": KERNEL_NAME,
    }
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = [
                output for output in cell.outputs
                if not (output.output_type == "stream" and output.name == "stderr")
            ]


class RefreshError(CnnLessonError):
    """A notebook failed while it was refreshed; it was left as it was."""


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # IPython colours its tracebacks and names


def _plain(text: str) -> str:
    return _ANSI.sub("", str(text)).strip()


def kernel_environment(settings: config.Settings) -> dict[str, str]:
    """The environment of the kernels `refresh` starts: this one, with the course's folders
    as absolute paths.

    A kernel runs in its notebook's folder, so a relative CNN_LESSON_OUTPUT, CNN_LESSON_DATA
    or CNN_LESSON_CACHE would name another folder there than the one meant by whoever typed
    the command; they are resolved against the command's current folder here. The output
    folder is always set, the default too, so that the lessons write where the command
    forgets the finished runs.

    Raises:
        SettingsError: a `~name` that names no user, a NUL character.
        DataError: CNN_LESSON_DATA names nothing, or nothing the course reads.
    """
    from cnn_lesson.data.cache import default_cache_dir
    from cnn_lesson.data.sources import _kind
    from cnn_lesson.errors import DataError, SettingsError

    environment = dict(os.environ)
    try:
        environment["CNN_LESSON_OUTPUT"] = str(settings.output_dir.absolute())
        if os.environ.get("CNN_LESSON_CACHE", "").strip():
            environment["CNN_LESSON_CACHE"] = str(default_cache_dir().absolute())
        if settings.data_source is not None:  # None: the official download
            data = config.user_path(settings.data_source, "CNN_LESSON_DATA", DataError)
            data = data.absolute()
            _kind(data)  # there and readable as CIFAR-10: not a failure in the first cell
            environment["CNN_LESSON_DATA"] = str(data)
    except OSError as error:  # the current folder was removed
        raise SettingsError(f"Could not resolve the course's folders: {error}.") from None
    return environment


def check_kernel() -> None:
    """Refuse at once when there is no `KERNEL_NAME` kernel to run the notebooks in, or when
    its spec (its `kernel.json`) cannot be read: not JSON, not a kernel's, not readable."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise CnnLessonError(_no_kernel_message()) from None
    except Exception as error:  # noqa: BLE001 JSONDecodeError, a TraitError, an OSError
        try:
            where = Path(manager.find_kernel_specs()[KERNEL_NAME]) / "kernel.json"
        except Exception:  # noqa: BLE001 the same broken installation: the name is enough
            where = Path("kernel.json")
        if isinstance(error, PermissionError):  # not damage: the file is only closed to us
            raise CnnLessonError(
                f"The Jupyter kernel {KERNEL_NAME} cannot start: its spec {shown(where)} cannot "
                "be read (permission denied). Make it readable to you (e.g. `chmod a+r` on "
                "it), or, if JUPYTER_PATH leads there, change JUPYTER_PATH; then refresh again."
            ) from None
        detail = " ".join(str(error).split("\n", 1)[0].split())[:200]
        raise CnnLessonError(
            f"The Jupyter kernel {KERNEL_NAME} cannot start: its spec {shown(where)} is broken "
            f"({type(error).__name__}: {detail}). Remove its folder (or fix that file), then "
            f"refresh again; `{Path(sys.executable).name} -m ipykernel install --user` installs "
            "a new one."
        ) from None


def _no_kernel_message() -> str:
    return (f"There is no Jupyter kernel named {KERNEL_NAME} to run the notebooks in: install "
            f"one for this Python with `{Path(sys.executable).name} -m ipykernel install "
            "--user` (after `pip install -r requirements-dev.txt`), then refresh again.")


def _may_replace_anyones_files() -> bool:
    """Whether this process may replace another user's file in a sticky folder: root with its
    CAP_FOWNER capability (read from Linux's /proc), or root where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 3 & 1)  # bit 3: CAP_FOWNER
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def _owner_keeping(path: Path) -> str | None:
    """The other user who alone may replace `path`, because its folder is sticky (mode 1777,
    like /tmp: only a file's owner or the folder's may rename onto it or remove it); None when
    this process may replace it."""
    if not hasattr(os, "geteuid"):  # Windows: no sticky folders
        return None
    folder_info, file_info = os.stat(path.parent), os.stat(path)
    if (not folder_info.st_mode & stat.S_ISVTX
            or os.geteuid() in (folder_info.st_uid, file_info.st_uid)
            or _may_replace_anyones_files()):
        return None
    try:
        import pwd

        return pwd.getpwuid(file_info.st_uid).pw_name
    except (ImportError, KeyError):
        return f"user {file_info.st_uid}"


# What keeps a refreshed notebook from being stored in its folder (not the output folder's).
_NOT_YOURS = (errno.EACCES, errno.EPERM, errno.EROFS)


def check_writable(paths: Sequence[Path]) -> None:
    """Refuse at once, before any notebook runs, when a refreshed notebook could not be stored:
    its folder cannot take the new file (written beside it, then renamed onto it), the file
    itself is read-only, or it is another user's in a sticky shared folder (which lets no one
    else rename onto it). Otherwise the refresh would run for hours, then fail to save.

    Raises:
        CnnLessonError: a notebook cannot be written; the message names it.
    """
    from cnn_lesson.files import reason

    for path in paths:
        folder = path.parent
        probe = folder / f".write-test-{os.getpid()}.tmp"
        try:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
        except OSError as error:
            raise CnnLessonError(
                f"Cannot store the refreshed {path.name} in {shown(folder)}: {reason(error)}. "
                "Nothing was run: make that folder writable (e.g. `chmod u+w` on it), or "
                "refresh a copy of the notebook in a folder you can write to."
            ) from None
        try:  # opened for writing but not written: the file is left as it is
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            raise CnnLessonError(
                f"Cannot store the refreshed {shown(path)}: {reason(error)} (the file is "
                "read-only). Nothing was run: make it writable (e.g. `chmod u+w` on it), then "
                "refresh again."
            ) from None
        try:
            owner = _owner_keeping(path)
        except OSError:  # gone since it was read: the refresh says so when it reads it
            owner = None
        if owner is not None:
            raise CnnLessonError(
                f"Cannot store the refreshed {path.name} in {shown(folder)}: it belongs to "
                f"another user ({owner}), and that shared folder (sticky, like /tmp) lets only "
                "a file's owner replace it. Nothing was run: refresh a copy of the notebook in "
                "a folder of yours, or ask its owner to refresh it."
            )


def refresh(path: Path, environment: dict[str, str] | None = None) -> float:
    """Execute one notebook in a fresh kernel and store its tidied outputs. Returns seconds.

    `environment`: the kernel's (default: this process's, see `kernel_environment`).

    Raises:
        RefreshError: a cell failed, the kernel died or could not start; the notebook's file
            was left as it was.
        OutputError: the refreshed notebook could not be written (the file is unchanged).
    """
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = read_notebook(path)
    started = time.perf_counter()
    running = []  # the index of the cell being run

    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,  # widget state holds image bytes; the kernel rebuilds it
        on_cell_execute=lambda cell, cell_index: running.append(cell_index),
    )

    def where() -> str:  # cells counted from 1, the markdown ones too
        return f"{path} failed in cell {running[-1] + 1}" if running else f"{path} failed"

    try:
        client.execute(**({} if environment is None else {"env": environment}))
    except CellExecutionError as error:
        message = next((line for line in _plain(error.evalue).splitlines() if line.strip()), "")
        message = message if len(message) <= 300 else message[:297] + "..."  # one line
        named = ": ".join(part for part in (_plain(error.ename), message) if part)
        raise RefreshError(f"{where()}: {named or 'an error'}") from None
    except CellTimeoutError:
        raise RefreshError(f"{where()}: it ran longer than {CELL_TIMEOUT_S:,} s, the limit "
                           "for one cell.") from None
    except DeadKernelError:
        raise RefreshError(f"{where()}: the kernel died (it ran out of memory, crashed or was "
                           "killed).") from None
    except NoSuchKernel:
        raise RefreshError(f"{path} was not run: {_no_kernel_message()}") from None
    except (RuntimeError, OSError, TimeoutError) as error:
        if running:  # not the kernel's start: a bug to show in full
            raise
        raise RefreshError(f"{path} was not run: its {KERNEL_NAME} kernel could not start "
                           f"({type(error).__name__}: {_plain(error)}).") from None
    tidy(notebook)
    try:
        with atomic_path(path) as temporary:
            nbformat.write(notebook, temporary)
    except OutputError as error:  # its advice is about the output folder, not this one
        cause = error.__cause__
        if not isinstance(cause, OSError) or cause.errno not in _NOT_YOURS:
            raise
        from cnn_lesson.files import reason

        raise OutputError(
            f"Could not store the refreshed {shown(path)}: {reason(cause)}. The notebook is "
            f"unchanged: make its folder {shown(path.parent)} writable to you, or refresh a "
            "copy of it in a folder of yours."
        ) from None
    return time.perf_counter() - started


def _name(path: Path) -> str:
    """A notebook as the command line names it: a lesson by its name, another by its path."""
    return path.name if path.parent == lessons_folder() else str(path)


def _left_as_it_was(path: Path, done: Sequence[Path], rest: Sequence[Path]) -> str:
    """What a failed refresh left: which notebooks were refreshed, and how to go on."""
    parts = [f"{path.name} was left as it was"]
    parts.append("refreshed before it: " + ", ".join(p.name for p in done) if done
                 else "no notebook was refreshed")
    text = "; ".join(parts) + "."
    if rest:
        text += (" Not run: " + ", ".join(p.name for p in rest) + ". After fixing the cause, "
                 "go on with: python -m cnn_lesson notebooks refresh "
                 + " ".join(shlex.quote(_name(p)) for p in (path, *rest)))
    return text


def check(path: Path) -> tuple[str, str]:
    """Run nbval on one notebook. Returns (`ok` | `stale` | `fails`, the end of its report).

    Raises:
        CnnLessonError: pytest does not know nbval (not installed, or turned off).
    """
    # The project's conftest (stderr left out of the comparison, quick mode, a temporary
    # output folder) and pyproject (the sanitize file) apply wherever the notebook lies.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-c",
         str(config.PROJECT_ROOT / "pyproject.toml"), "--rootdir", str(config.PROJECT_ROOT),
         "--nbval", "--nbval-current-env", "-q", str(Path(path).resolve())],
        cwd=config.PROJECT_ROOT, capture_output=True, text=True,
    )
    report = result.stdout[-3000:]
    if "unrecognized arguments" in result.stderr and "--nbval" in result.stderr:
        raise CnnLessonError(
            "nbval is missing (pytest does not know --nbval), so no notebook was checked: "
            "install the instructors' tools with `pip install -r requirements-dev.txt`, then "
            "check again."
        )
    if result.returncode == 0:
        return "ok", report
    return ("fails" if "NbCellError" in result.stdout else "stale"), report


def main(action: str, names: Sequence[str]) -> int:
    """`python -m cnn_lesson notebooks refresh|check [NAMES]`. Returns the exit status."""
    from cnn_lesson.data import is_synthetic, source_label

    _needs_checkout(action)
    settings = config.settings()
    paths = lesson_notebooks(names)
    for path in paths:  # all of them before any runs: a bad name fails at once, not in an hour
        read_notebook(path)
    if action == "refresh":
        if settings.quick or is_synthetic(settings.data_source):
            raise CnnLessonError(
                "Stored outputs must come from a full run on the real CIFAR-10: unset "
                "CNN_LESSON_QUICK and point CNN_LESSON_DATA at the real data (or unset it to "
                "download), then refresh again."
            )
        # A notebook given through a symbolic link: the file it leads to is refreshed (the
        # new file would otherwise replace the link)
        paths = [path.resolve() for path in paths]
        check_writable(paths)
        from cnn_lesson.cli import refuse_output_in_data

        # the lessons' files would be among the images, and every later load would fail
        refuse_output_in_data(settings.output_dir, settings.data_source, "CNN_LESSON_OUTPUT")
        environment = kernel_environment(settings)
        check_kernel()
        # The lessons would fail in their first cell on a file, a pipe or a full disk there.
        output_dir = prepare_output_dir(environment["CNN_LESSON_OUTPUT"])
        from cnn_lesson.backup import forget_finished_runs

        # Everything is checked: new runs, not the finished ones restored, from here on (their
        # outputs are what is stored), in the very folder the lessons will write to.
        for backup in forget_finished_runs(output_dir):
            print(f"Removed the weights a finished run kept in {shown(backup)}: it trains "
                  "again.")
        print(f"Refreshing {len(paths)} notebook(s) on {source_label(settings.data_source)}; "
              f"the lessons write to {shown(output_dir)}")
        total = 0.0
        for number, path in enumerate(paths):
            print(f"  {path.name} ...", end=" ", flush=True)
            try:
                seconds = refresh(path, environment)
            except CnnLessonError as error:  # RefreshError, or an OutputError when writing
                print("failed", flush=True)
                raise CnnLessonError(
                    f"{error}\n{_left_as_it_was(path, paths[:number], paths[number + 1:])}"
                ) from None
            total += seconds
            print(f"{seconds:.0f} s")
        print(f"Done in {total:.0f} s.")
        return 0
    failures = 0
    for path in paths:
        status, report = check(path)
        print(f"{status:6} {path.name}")
        if status != "ok":
            failures += 1
            print("       " + report.strip().replace("\n", "\n       ")[-1500:])
    print(f"{len(paths) - failures} of {len(paths)} notebook(s) up to date.")
    return 1 if failures else 0
