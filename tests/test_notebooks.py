"""The notebooks' own checks: tidy files, and an nbval comparison that can fail."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_at_least_four_lessons_in_order():
    names = [path.name for path in LESSONS]
    assert names[:4] == ["01_the_data.ipynb", "02_the_model.ipynb", "03_training.ipynb",
                         "04_results.ipynb"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_files_are_tidy(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code_cells:
        assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs), \
            f"{path.name} {cell.id}: stderr is stored"
        assert not any(o.output_type == "error" for o in cell.outputs), f"{cell.id} failed"
        assert not cell.source.rstrip().endswith(";"), f"{cell.id} hides its output with ;"
        assert len(cell.source.splitlines()) <= 12, f"{cell.id} is too long for a lesson cell"
    assert any(cell.outputs for cell in code_cells), f"{path.name} has no stored outputs"
    assert notebook.cells[-1].cell_type == "markdown" and "Exercises" in notebook.cells[-1].source


def _nbval(*paths):
    environment = {**os.environ, "CNN_LESSON_QUICK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), "--nbval", "--nbval-current-env", "-q", *map(str, paths)],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.slow
def test_nbval_catches_an_altered_stored_output(tmp_path):
    """The same lesson passes as stored and fails once a compared output is altered."""
    source = ROOT / "notebooks" / "01_the_data.ipynb"
    intact, altered = tmp_path / "intact", tmp_path / "altered"
    for folder in (intact, altered):
        folder.mkdir()
        shutil.copy(source, folder / source.name)
    notebook = json.loads((altered / source.name).read_text())
    cell = next(c for c in notebook["cells"] if c.get("id") == "data-08")  # the class names
    assert "3 cat" in "".join(cell["outputs"][0]["text"])
    cell["outputs"][0]["text"] = "".join(cell["outputs"][0]["text"]).replace("3 cat", "3 dog")
    (altered / source.name).write_text(json.dumps(notebook))

    passed = _nbval(intact / source.name)
    assert passed.returncode == 0, passed.stdout[-3000:]
    failed = _nbval(altered / source.name)
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "1 failed" in failed.stdout
    assert "3 dog" in failed.stdout and "3 cat" in failed.stdout  # the mismatch is shown
