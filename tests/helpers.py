"""Small things the package tests share."""

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from cnn_lesson.config import PROJECT_ROOT
from cnn_lesson.data import UnofficialDataWarning, load_cifar10
from cnn_lesson.errors import DataError


# Root reads and writes every file: without its capabilities, the file modes apply to it too.
WITHOUT_PRIVILEGES = (["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
                      if os.geteuid() == 0 else [])
needs_file_modes = pytest.mark.skipif(
    os.geteuid() == 0 and shutil.which("setpriv") is None,
    reason="root ignores file modes, and setpriv is not there to drop its capabilities")


def run_closed(path: Path, mode: int, *arguments: str, **kwargs):
    """`run_without_privileges(*arguments)` while `path` has the file `mode` (its own mode
    back afterwards); returns the CompletedProcess."""
    before = path.stat().st_mode & 0o7777
    path.chmod(mode)
    try:
        return run_without_privileges(*arguments, **kwargs)
    finally:
        path.chmod(before)


# A process reading the backup of the folder it is given, as the next run would.
READ_SAVED_RUN = ("import sys; from pathlib import Path; "
                  "from cnn_lesson.backup.saved import read_saved_run; "
                  "read_saved_run(Path(sys.argv[1]))")


def last_line(process) -> str:
    """The last line a process wrote to its standard error (its error, after TF's notes)."""
    return process.stderr.strip().splitlines()[-1]


def one_line(text: str) -> str:
    """The only line of a message (a failure if there are more, or a traceback)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def run_without_privileges(*arguments: str, env: dict | None = None, timeout: int = 300):
    """Run `python ARGUMENTS` in the project's folder where the file modes apply (TF's logs
    quiet); returns the CompletedProcess."""
    return subprocess.run([*WITHOUT_PRIVILEGES, sys.executable, *arguments],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})


def write_notebook(path: Path, *sources: str) -> Path:
    """A notebook of a markdown cell, then one code cell per source."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("A tiny notebook.")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def random_images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` random uint8 images (count, 32, 32, 3) and balanced labels (count, 1)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8).reshape(-1, 1)
    return images, labels


class InterruptAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of epoch `epochs`, as the notebook's stop button does."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def interrupted_folder(folder: Path, run, epochs_done: int) -> Path:
    """`folder` holding the backup of `run(folder, callbacks=[...])` (a small `train` run of
    a test module) stopped by KeyboardInterrupt after `epochs_done` epochs."""
    with pytest.raises(KeyboardInterrupt):
        run(folder, callbacks=[InterruptAfter(epochs_done)])
    return folder


def run_cell(source: str, namespace: dict):
    """Run a notebook cell as Jupyter does; return the value of its last line (the check)."""
    *body, last = source.strip().splitlines()
    exec("\n".join(body), namespace)
    return eval(last, namespace)


def exercise_pairs(path) -> list:
    """(stub cell, solution cell) for every exercise of a lesson notebook."""
    cells = nbformat.read(path, as_version=4).cells
    return [(cell, cells[index + 1]) for index, cell in enumerate(cells)
            if "exercise" in cell.metadata.get("tags", [])]


def _content(path: Path):
    try:
        return path.read_bytes()
    except PermissionError:  # the tests of unreadable files: their size and time then
        info = path.stat()
        return ("unreadable", info.st_size, info.st_mtime_ns, info.st_mode)


def snapshot(root) -> dict:
    """Every file under `root` (or `root` itself) with its bytes."""
    root = Path(root)
    if root.is_file():
        return {str(root): _content(root)}
    return {str(path): _content(path) for path in sorted(root.rglob("*")) if path.is_file()}


def refused(source, match: str, **kwargs) -> str:
    """Load `source`, expect a DataError whose message contains `match`; return it.

    The user's files must be left as they were.
    """
    before = snapshot(source)
    with pytest.raises(DataError) as caught, warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialDataWarning)  # allowed in some tests
        load_cifar10(source, **kwargs)
    assert match in str(caught.value)
    assert snapshot(source) == before, "the user's files must be left as they were"
    return str(caught.value)


def each_refused(cases) -> None:
    """Each `(call, error class, text)`: the call raises that error, its message holding the
    text."""
    for call, error, text in cases:
        with pytest.raises(error, match=re.escape(text)):
            call()
