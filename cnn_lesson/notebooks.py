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

import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

from cnn_lesson import config
from cnn_lesson.errors import CnnLessonError
from cnn_lesson.files import atomic_path

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


def refresh(path: Path) -> float:
    """Execute one notebook in a fresh kernel and store its tidied outputs. Returns seconds."""
    import nbformat
    from nbclient import NotebookClient

    notebook = read_notebook(path)
    started = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,  # widget state holds image bytes; the kernel rebuilds it
    )
    client.execute()
    tidy(notebook)
    with atomic_path(path) as temporary:
        nbformat.write(notebook, temporary)
    return time.perf_counter() - started


def check(path: Path) -> tuple[str, str]:
    """Run nbval on one notebook. Returns (`ok` | `stale` | `fails`, the end of its report)."""
    # The project's conftest (stderr left out of the comparison, quick mode, a temporary
    # output folder) and pyproject (the sanitize file) apply wherever the notebook lies.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-c",
         str(config.PROJECT_ROOT / "pyproject.toml"), "--rootdir", str(config.PROJECT_ROOT),
         "--nbval", "--nbval-current-env", "-q", str(Path(path).resolve())],
        cwd=config.PROJECT_ROOT, capture_output=True, text=True,
    )
    report = result.stdout[-3000:]
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
        from cnn_lesson.backup import forget_finished_runs

        # New runs, not the finished ones restored: their outputs are what is stored.
        if settings.output_dir.is_dir():
            for backup in forget_finished_runs(settings.output_dir):
                print(f"Removed the weights a finished run kept in {backup}: it trains again.")
        print(f"Refreshing {len(paths)} notebook(s) on {source_label(settings.data_source)}")
        total = 0.0
        for path in paths:
            print(f"  {path.name} ...", end=" ", flush=True)
            seconds = refresh(path)
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
