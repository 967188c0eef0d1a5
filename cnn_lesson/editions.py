"""The student edition of the lessons, built from the instructor edition in `notebooks/`.

    python -m cnn_lesson notebooks student DIR [--force]

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
from pathlib import Path
from typing import Sequence

from cnn_lesson.errors import CnnLessonError

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

    out_dir = Path(out_dir).expanduser()
    plans = []
    for path in lessons:
        student, solutions = student_edition(nbformat.read(path, as_version=4))
        plans.append((out_dir / path.name, student))
        if solutions is not None:
            plans.append((out_dir / SOLUTIONS_FOLDER / f"{path.stem}_solutions.ipynb", solutions))
    existing = [target for target, _ in plans if target.exists()]
    if existing and not force:
        raise CnnLessonError(
            f"{len(existing)} file(s) already in {out_dir} (e.g. {existing[0].name}), perhaps a "
            "learner's work: choose another folder, or pass --force to overwrite them."
        )
    for target, notebook in plans:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    return [target for target, _ in plans]
