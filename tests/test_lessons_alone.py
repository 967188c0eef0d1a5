"""Every lesson runs top to bottom in a fresh kernel on its own, with nothing from earlier lessons.

nbval (the README's test command) runs the lessons in order in quick mode, sharing one output
folder, so lesson 4 finds lesson 3's model there. Here each lesson gets an empty output folder
of its own, as for a learner who opens it first:

- quick mode: the student edition of every lesson (solutions removed): each runs alone, every
  exercise stub says "not yet", and lessons 4 and 5, the two that read what an earlier lesson
  saved, run without it (lesson 4 on its stand-in). One run serves both questions, so the
  quick-mode lessons are not run a second time;
- full mode: lessons 1, 2 and 4 (lesson 4 then trains its stand-in). Lessons 3 and 5 train for
  minutes in full mode; `python -m cnn_lesson notebooks refresh` runs them in full mode, each in
  a fresh kernel, whenever the stored outputs are refreshed.

The data is whatever the test run uses (the synthetic set, or the real copy in CI).
"""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CASES = [
    ("01_the_data.ipynb", "0"),
    ("02_the_model.ipynb", "0"),
    ("04_results.ipynb", "0"),
]


def _run_alone(name: str, quick: str, output: Path, monkeypatch, student: bool = False
               ) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    from cnn_lesson.editions import student_edition

    monkeypatch.setenv("CNN_LESSON_QUICK", quick)
    monkeypatch.setenv("CNN_LESSON_OUTPUT", str(output))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    if student:
        notebook, _ = student_edition(notebook)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    return notebook


def _stdout(notebook) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.output_type == "stream")


def _check_alone(name: str, notebook, output: Path) -> None:
    if name.startswith("04"):
        # Without lesson 3's model, lesson 4 says it shows a stand-in, and never saves the
        # stand-in where lesson 3's model belongs, so a later run cannot mistake it for one
        # (tests/test_saving.py checks that a second run still calls it a stand-in).
        assert "stand-in" in _stdout(notebook).lower()
        assert not (output / "model.keras").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name, quick", CASES,
                         ids=[f"{name[:2]}-{'quick' if quick == '1' else 'full'}"
                              for name, quick in CASES])
def test_lesson_runs_alone_in_a_fresh_kernel(name, quick, tmp_path, monkeypatch):
    output = tmp_path / "output"
    _check_alone(name, _run_alone(name, quick, output, monkeypatch), output)


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS, ids=[name[:2] for name in LESSONS])
def test_the_student_edition_runs_alone_unsolved_in_quick_mode(name, tmp_path, monkeypatch):
    output = tmp_path / "output"
    notebook = _run_alone(name, "1", output, monkeypatch, student=True)
    _check_alone(name, notebook, output)
    stubs = [cell for cell in notebook.cells if "exercise" in cell.metadata.get("tags", [])]
    said = "".join(cell_output.get("data", {}).get("text/plain", "")
                   for cell in stubs for cell_output in cell.outputs)
    assert len(stubs) >= 3 and said.count("NOT YET") == len(stubs)
    assert not [cell for cell in notebook.cells if "solution" in cell.metadata.get("tags", [])]
