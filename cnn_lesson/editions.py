"""The two editions of the lessons a learner can take away, from the lessons in `notebooks/`
(or in the installed package).

    python -m cnn_lesson notebooks copy DIR [--force]      the lessons as they are
    python -m cnn_lesson notebooks student DIR [--force]   the student edition

The notebooks in `notebooks/` are the instructor edition: each exercise's worked solution sits
in the cell right after its stub, tagged `solution` in the cell's metadata (and collapsed in
JupyterLab). The student edition, as nbgrader and otter-grader make theirs, is a copy of every
lesson with:

- every `solution` cell removed (the stub before it stays);
- the outputs of the exercise cells (tagged `exercise`: stubs and checks) cleared, so the
  learner's first run shows "not yet";
- the solutions gathered in `DIR/solutions/<lesson>_solutions.ipynb`, one notebook per lesson,
  for a self-learner to open after trying.

Everything else, stored outputs included, is kept. Files already in DIR are not overwritten
without `force` (a learner may have worked in them).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Sequence

from cnn_lesson.errors import CnnLessonError, OutputError, shown

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
SOLUTIONS_FOLDER = "solutions"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _exercise_title(cells, index: int) -> str:
    """The exercise's title: the last bold "**Exercise ...**" in the markdown above cell
    `index` (the lessons open each exercise with one), else the nearest heading."""
    import re

    for cell in reversed(cells[:index]):
        if cell.cell_type != "markdown":
            continue
        titles = re.findall(r"\*\*(Exercise[^*]+)\*\*", cell.source)
        if titles:
            return titles[-1].strip()
        headings = [line.lstrip("#").strip() for line in cell.source.splitlines()
                    if line.startswith("#")]
        if headings:
            return headings[-1]
    return "Exercise"


def student_edition(notebook):
    """Split an instructor notebook into (student notebook, solutions notebook or None).

    Args:
        notebook: an `nbformat` notebook of the instructor edition.

    Returns:
        The student copy (solution cells removed, exercise outputs cleared), and a notebook of
        the solutions with a heading per exercise (None when the lesson has no solutions).
    """
    import nbformat

    student = copy.deepcopy(notebook)
    kept, solutions = [], []
    for index, cell in enumerate(student.cells):
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            heading = nbformat.v4.new_markdown_cell(f"### {_exercise_title(student.cells, index)}")
            heading.id = f"{cell.id}-heading"
            solution = nbformat.v4.new_code_cell(cell.source)
            solution.id = cell.id
            solutions += [heading, solution]
            continue
        if EXERCISE_TAG in tags and cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        kept.append(cell)
    student.cells = kept
    if not solutions:
        return student, None
    book = nbformat.v4.new_notebook(metadata=copy.deepcopy(notebook.metadata))
    title = nbformat.v4.new_markdown_cell(
        "# Solutions\n\nWorked solutions of the lesson's exercises. Try each exercise first; "
        "a solution runs in the lesson's notebook, after the cells above its exercise.")
    title.id = "solutions-title"
    book.cells = [title, *solutions]
    return student, book


def write_student_edition(out_dir: str | Path, lessons: Sequence[Path], force: bool = False
                          ) -> list[Path]:
    """Write the student edition of `lessons` into `out_dir`.

    Args:
        out_dir: the folder for the learner's copies (created when missing).
        lessons: the instructor notebooks.
        force: overwrite files that are already there.

    Returns:
        The files written.

    Raises:
        CnnLessonError: a file is already there and `force` is not set (nothing is written).
    """
    import nbformat

    out_dir = _target_folder(out_dir, lessons)
    plans = []
    for path in lessons:
        student, solutions = student_edition(nbformat.read(path, as_version=4))
        plans.append((out_dir / path.name, nbformat.writes(student) + "\n"))
        if solutions is not None:
            plans.append((out_dir / SOLUTIONS_FOLDER / f"{path.stem}_solutions.ipynb",
                          nbformat.writes(solutions) + "\n"))
    return _write_all(out_dir, plans, force)


def copy_lessons(out_dir: str | Path, lessons: Sequence[Path], force: bool = False
                 ) -> list[Path]:
    """Copy `lessons` as they are (solutions folded, stored outputs kept) into `out_dir`.

    A copy that is already there and unchanged is left alone; one that differs (the learner
    has run or edited it) is only replaced with `force`.

    Returns:
        The files written (not those already there unchanged).

    Raises:
        CnnLessonError: a changed copy is there and `force` is not set (nothing is written).
    """
    out_dir = _target_folder(out_dir, lessons)
    return _write_all(out_dir, [(out_dir / path.name, path.read_text(encoding="utf-8"))
                                for path in lessons], force)


def _target_folder(out_dir: str | Path, lessons: Sequence[Path]) -> Path:
    """`out_dir` as a Path, refused when empty, when it is (or lies under) a symbolic link to
    nothing, or when it is where the lessons come from (writing there, even with `force`,
    would replace the instructor edition itself)."""
    from cnn_lesson.files import broken_link, link_message

    if not str(out_dir).strip():
        raise CnnLessonError("No folder given: name the folder for the lessons, e.g. my-lessons.")
    try:
        folder = Path(out_dir).expanduser()
        link = broken_link(folder)  # else making the folder says only "File exists"
        if link is not None:
            raise OutputError(link_message(folder, link, "The folder",
                                           "choose another folder for the lessons"))
        sources = {path.resolve().parent for path in lessons}
        same = folder.resolve() in sources
    except (OSError, RuntimeError) as error:  # a name too long, ~nosuchuser
        raise OutputError(f"{out_dir} cannot be used as a folder ({error}): choose another "
                          "folder.") from None
    if same:
        raise CnnLessonError(
            f"{out_dir} is where the lessons come from: writing there would replace them, "
            "--force or not. Choose another folder, e.g. my-lessons."
        )
    return folder


def _write_all(out_dir: Path, plans: Sequence[tuple[Path, str]], force: bool) -> list[Path]:
    """Write each (file, text) of `plans`, all or none: files already there with other text
    (perhaps a learner's work) stop everything unless `force`. Returns the files written."""
    from cnn_lesson.files import atomic_path, is_regular_file, reason

    try:
        if out_dir.exists() and not out_dir.is_dir():
            raise CnnLessonError(f"{out_dir} is a file, not a folder: choose a folder for the "
                                 "lessons.")
        # Checked before anything is written, so a refusal never leaves half an edition.
        # --force overwrites files, never a folder (it may hold anything).
        # A pipe or device where a lesson goes is in the way too: reading it to compare
        # waited forever (a pipe) or filled the memory (a link to /dev/zero).
        in_the_way = [path for target, _ in plans
                      for path in (target, *target.parents) if path != out_dir
                      and out_dir in path.parents and os.path.lexists(path)  # a link to nothing too
                      and not (is_regular_file(path) if path == target else path.is_dir())]
        if in_the_way:
            path = in_the_way[0]
            kind = ("a folder" if path.is_dir() else "a file" if is_regular_file(path)
                    else "a link to nothing" if not path.exists() else "a pipe or device")
            needed = "a file" if any(path == target for target, _ in plans) else "a folder"
            raise OutputError(f"{shown(path)} is {kind}, where the lessons need {needed} (even "
                              "--force replaces only files): move it away, or choose "
                              "another folder.")
        changed = [target for target, text in plans
                   if target.exists() and _read_or_none(target) != text]
    except OSError as error:  # e.g. a name too long for the file system
        raise OutputError(f"{out_dir} cannot be used as a folder ({reason(error)}): "
                          "choose another folder.") from None
    if changed and not force:
        raise CnnLessonError(
            f"{len(changed)} file(s) in {out_dir} differ from the lessons (e.g. "
            f"{changed[0].name}), perhaps a learner's work: choose another folder, or pass "
            "--force to overwrite them."
        )
    written = []
    for target, text in plans:
        if target.exists() and _read_or_none(target) == text:
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"Could not make the folder {target.parent}: "
                              f"{reason(error)}. Choose another folder.") from None
        with atomic_path(target) as temporary:
            Path(temporary).write_text(text, encoding="utf-8")
        written.append(target)
    return written


MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024  # a lesson is a few MB; larger is not one of them


def _read_or_none(path: Path) -> str | None:
    """The text of the file at `path`; None if it cannot be read, or is not a lesson's."""
    from cnn_lesson.files import is_regular_file

    try:
        if not is_regular_file(path) or path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
