"""Every lesson runs top to bottom in a fresh kernel on its own, with nothing from earlier lessons.

nbval (the README's test command) runs the lessons in order in quick mode, sharing one output
folder, so lesson 4 finds lesson 3's model there. Here each lesson gets an empty output folder
of its own, as for a learner who opens it first:

- quick mode: lessons 4 and 5, the two that read what an earlier lesson saved (lessons 1-3 read
  nothing, so nbval's own runs already are runs on their own);
- full mode: lessons 1, 2 and 4 (lesson 4 then trains its stand-in). Lessons 3 and 5 train for
  minutes in full mode; `python -m cnn_lesson notebooks refresh` runs them in full mode, each in
  a fresh kernel, whenever the stored outputs are refreshed.

The data is whatever the test run uses (the synthetic set, or the real copy in CI).
"""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("04_results.ipynb", "1"),
    ("05_going_further.ipynb", "1"),
    ("01_the_data.ipynb", "0"),
    ("02_the_model.ipynb", "0"),
    ("04_results.ipynb", "0"),
]


def _run_alone(name: str, quick: str, output: Path, monkeypatch) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    monkeypatch.setenv("CNN_LESSON_QUICK", quick)
    monkeypatch.setenv("CNN_LESSON_OUTPUT", str(output))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    return notebook


def _stdout(notebook) -> str:
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("name, quick", CASES,
                         ids=[f"{name[:2]}-{'quick' if quick == '1' else 'full'}"
                              for name, quick in CASES])
def test_lesson_runs_alone_in_a_fresh_kernel(name, quick, tmp_path, monkeypatch):
    output = tmp_path / "output"
    notebook = _run_alone(name, quick, output, monkeypatch)
    if name.startswith("04"):
        # Without lesson 3's model, lesson 4 says it shows a stand-in, and never saves the
        # stand-in where lesson 3's model belongs, so a later run cannot mistake it for one.
        assert "stand-in" in _stdout(notebook).lower()
        assert not (output / "model.keras").exists()
        if quick == "1":  # and the next run is a stand-in again, not "lesson 3's model"
            again = _run_alone(name, quick, output, monkeypatch)
            assert "stand-in" in _stdout(again).lower()
