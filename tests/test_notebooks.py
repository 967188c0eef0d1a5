"""The notebooks' own checks: tidy files, and an nbval comparison that can fail."""

import json
import re
import shutil
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
    assert notebook.cells[-1].cell_type == "markdown"  # the lesson ends with prose
    assert any(cell.cell_type == "markdown" and "## Exercises" in cell.source
               for cell in notebook.cells), f"{path.name} has no Exercises section"
    for cell in notebook.cells:  # learners see lessons, not test scaffolding
        assert "NBVAL" not in cell.source, f"{path.name} {cell.id}: an nbval comment"
        if cell.cell_type == "code":
            assert not any(line.lstrip().startswith("assert ") for line in cell.source.splitlines()), \
                f"{path.name} {cell.id}: a bare assert (use a checkpoint)"
            assert not re.search(r"\bif\b.*\blesson\.quick\b", cell.source), \
                f"{path.name} {cell.id}: a quick-mode branch (it belongs in the package)"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_exercises_have_a_stub_a_check_and_a_folded_solution(path):
    """Each exercise cell (tag `exercise`) has `...` for the learner and ends with a check; the
    cell right after it is its solution (tag `solution`), folded in JupyterLab; the stored
    outputs say "NOT YET" for the stub and "RIGHT" for the solution."""
    cells = nbformat.read(path, as_version=4).cells
    for index, cell in enumerate(cells):
        tags = cell.metadata.get("tags", [])
        if "exercise" in tags:
            assert "..." in cell.source and "check_" in cell.source.splitlines()[-1], cell.id
            solution = cells[index + 1]
            assert "solution" in solution.metadata.get("tags", []), f"{cell.id}: no solution"
            assert solution.metadata.get("jupyter", {}).get("source_hidden") is True
            assert "..." not in solution.source
            stored = lambda c: "".join(o.get("text", "") + "".join(o.get("data", {}).get(  # noqa: E731
                "text/plain", "")) for o in c.outputs)
            assert "NOT YET" in stored(cell), f"{cell.id}: the stored stub output"
            assert "RIGHT" in stored(solution), f"{solution.id}: the stored solution output"


@pytest.mark.slow
def test_nbval_catches_an_altered_stored_output(tmp_path):
    """The same lesson passes as stored and fails once a compared output is altered."""
    from cnn_lesson.notebooks import check

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

    status, report = check(intact / source.name)  # `python -m cnn_lesson notebooks check`
    assert status == "ok", report
    status, report = check(altered / source.name)
    assert status == "stale", report
    assert "1 failed" in report
    assert "3 dog" in report and "3 cat" in report  # the mismatch is shown


def test_refresh_refuses_quick_mode_and_synthetic_data(monkeypatch, capsys):
    from cnn_lesson.cli import main

    monkeypatch.setenv("CNN_LESSON_DATA", "synthetic")
    monkeypatch.setenv("CNN_LESSON_QUICK", "0")
    assert main(["notebooks", "refresh"]) == 1
    assert "real CIFAR-10" in capsys.readouterr().err
    monkeypatch.setenv("CNN_LESSON_DATA", "/somewhere/cifar")
    monkeypatch.setenv("CNN_LESSON_QUICK", "1")
    assert main(["notebooks", "refresh"]) == 1
    assert "CNN_LESSON_QUICK" in capsys.readouterr().err


def test_tidy_strips_stderr_and_stray_metadata():
    from cnn_lesson.notebooks import tidy

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {"state": {}}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.id = "keep-me"
    cell.metadata["execution"] = {"iopub.execute_input": "2026-11-28"}
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="I0000 TF noise\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    notebook.cells.append(cell)
    tidy(notebook)
    assert list(notebook.metadata) == ["kernelspec"]
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert cell.id == "keep-me" and "execution" not in cell.metadata
    assert [output.name for output in cell.outputs] == ["stdout"]


def test_lesson_notebooks_are_listed_in_order_and_unknown_names_refused():
    from cnn_lesson.errors import CnnLessonError
    from cnn_lesson.notebooks import lesson_notebooks

    assert lesson_notebooks()[:4] == LESSONS[:4]
    assert lesson_notebooks(["02_the_model.ipynb"]) == [ROOT / "notebooks" / "02_the_model.ipynb"]
    with pytest.raises(CnnLessonError, match="No notebook"):
        lesson_notebooks(["99_nothing.ipynb"])


@pytest.mark.parametrize("action", ["check", "refresh"])
@pytest.mark.parametrize("text", ["", "not json at all", "{}", '{"cells": 3}', "\xff\xfe"])
def test_a_file_that_is_not_a_notebook_fails_at_once_with_a_message(action, text, tmp_path,
                                                                     monkeypatch, capsys):
    from cnn_lesson.cli import main

    monkeypatch.setenv("CNN_LESSON_DATA", str(tmp_path))  # refresh then gets past its own checks
    monkeypatch.setenv("CNN_LESSON_QUICK", "0")
    bad = tmp_path / "99_bad.ipynb"
    bad.write_bytes(text.encode("latin-1"))
    assert main(["notebooks", action, str(LESSONS[0]), str(bad)]) == 1
    error = capsys.readouterr().err
    assert "is not a readable Jupyter notebook" in error and str(bad) in error
    assert "stale" not in error


def test_copy_writes_the_lessons_and_refuses_a_changed_copy_or_a_file(tmp_path, capsys):
    from cnn_lesson.cli import main

    out = tmp_path / "lessons"
    assert main(["notebooks", "copy", str(out)]) == 0
    assert sorted(out.glob("*.ipynb")) == sorted(out / path.name for path in LESSONS)
    assert main(["notebooks", "copy", str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out
    (out / LESSONS[2].name).write_text("{}")  # the learner's (here, a broken) copy
    assert main(["notebooks", "copy", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (out / LESSONS[2].name).read_text() == "{}"
    assert main(["notebooks", "copy", str(out / LESSONS[0].name)]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["notebooks", "copy"]) == 2


def test_a_folder_in_the_way_stops_the_student_edition_before_anything_is_written(tmp_path,
                                                                                 capsys):
    from cnn_lesson.cli import main

    out = tmp_path / "class"
    (out / "solutions" / f"{LESSONS[-1].stem}_solutions.ipynb").mkdir(parents=True)
    assert main(["notebooks", "student", str(out), "--force"]) == 1
    error = capsys.readouterr().err
    assert "_solutions.ipynb is a folder" in error and "even --force" in error
    assert [path for path in out.rglob("*") if path.is_file()] == []  # nothing written
    (out / "solutions" / f"{LESSONS[-1].stem}_solutions.ipynb").rmdir()
    (out / "solutions").rmdir()
    (out / "solutions").write_text("a file where the solutions folder goes")
    assert main(["notebooks", "student", str(out), "--force"]) == 1
    assert "solutions is a file" in capsys.readouterr().err
    assert sorted(path.name for path in out.iterdir()) == ["solutions"]


@pytest.mark.parametrize("action", ["copy", "student"])
def test_the_lessons_own_folder_is_never_written_even_with_force(action, capsys):
    from cnn_lesson.cli import main

    before = {path: path.read_bytes() for path in LESSONS}
    for target in (str(ROOT / "notebooks"), str(ROOT / "notebooks" / ".." / "notebooks")):
        assert main(["notebooks", action, target, "--force"]) == 1
        assert "where the lessons come from" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in LESSONS} == before
    assert not (ROOT / "notebooks" / "solutions").exists()
    assert main(["notebooks", action, ""]) == 1
    assert "No folder given" in capsys.readouterr().err
    assert main(["notebooks", action, "/tmp/" + "x" * 300]) == 1  # a name too long
    assert "cannot be used as a folder" in capsys.readouterr().err


def test_every_name_a_lesson_imports_from_the_package_is_public():
    import re

    import cnn_lesson

    imported = re.compile(r"^from cnn_lesson import (\([^)]*\)|[\w, ]+)$", re.M)
    for path in LESSONS:
        for cell in nbformat.read(path, as_version=4).cells:
            for names in imported.findall(cell.source):
                for name in re.findall(r"\w+", names):
                    assert name in cnn_lesson.__all__, f"{path.name} imports {name}"
