"""`python -m cnn_lesson notebooks refresh` on bad input (seventh hostile pass, findings 4, 5).

Tiny notebooks written here run in a real python3 kernel; nothing is trained and the lessons'
own notebooks are never refreshed.
"""

import json
import os
from pathlib import Path

import nbformat
import pytest

from cnn_lesson.backup.saved import BACKUP_FOLDER, EPOCH_LOG_FILE
from tests.helpers import write_notebook


def finished_run(folder: Path) -> Path:
    """A run folder as a finished but never saved run leaves it: its kept weights."""
    backup = folder / BACKUP_FOLDER
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"weights")
    (folder / EPOCH_LOG_FILE).write_text(json.dumps({"finished": True, "history": {}}))
    return backup


def stored_text(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "".join(output.get("text", "") for cell in notebook.cells
                   if cell.cell_type == "code" for output in cell.outputs)


@pytest.fixture
def refresh_env(tmp_path, monkeypatch):
    """Settings `refresh` accepts: full mode, a local data file, folders in tmp_path."""
    data = tmp_path / "cifar-10-python.tar.gz"
    data.write_bytes(b"not read: the notebooks here never load data")
    monkeypatch.setenv("CNN_LESSON_QUICK", "0")
    monkeypatch.setenv("CNN_LESSON_DATA", str(data))
    monkeypatch.setenv("CNN_LESSON_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("CNN_LESSON_CACHE", str(tmp_path / "cache"))
    return tmp_path


def refresh(*paths) -> int:
    from cnn_lesson.cli import main

    return main(["notebooks", "refresh", *map(str, paths)])


# Finding 4: a lesson that fails while refreshing.

@pytest.mark.parametrize("source, shown", [
    ("1/0", "ZeroDivisionError: division by zero"),
    ("class DataError(Exception):\n    pass\n"
     "raise DataError('\\x1b[31mThere is no file\\x1b[0m at /nowhere')",
     "DataError: There is no file at /nowhere"),
    # the eighth pass: a long or many-line message was printed whole
    ("raise ValueError('first line\\n' + 'x' * 100000)", "ValueError: first line"),
    ("raise ValueError('y' * 100000)", "ValueError: " + "y" * 297 + "..."),
], ids=["zero-division", "coloured-message", "many lines", "long line"])
def test_a_failing_cell_is_one_error_line_and_the_notebook_is_left_as_it_was(
        refresh_env, capsys, source, shown):
    first = write_notebook(refresh_env / "nbs" / "a_first.ipynb", "print('first ran')")
    failing = write_notebook(refresh_env / "nbs" / "b_fails.ipynb", "x = 1", source)
    last = write_notebook(refresh_env / "nbs" / "c_last.ipynb", "print('last ran')")
    before = {path: path.read_bytes() for path in (failing, last)}
    assert refresh(first, failing, last) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "CellExecutionError" not in out + err
    assert "\x1b" not in out + err
    lines = err.splitlines()
    assert lines[0] == f"error: {failing} failed in cell 3: {shown}"
    assert "b_fails.ipynb was left as it was" in err
    assert "a_first.ipynb" in err and "c_last.ipynb" in err  # refreshed, and not run
    assert "b_fails.ipynb ... failed" in out
    assert "first ran" in stored_text(first)  # refreshed before the failure: kept
    assert {path: path.read_bytes() for path in (failing, last)} == before


def test_a_kernel_that_dies_is_one_error_line(refresh_env, capsys):
    dying = write_notebook(refresh_env / "nbs" / "dies.ipynb", "import os\nos._exit(1)")
    before = dying.read_bytes()
    assert refresh(dying) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.startswith(f"error: {dying} failed in cell 2: the kernel died")
    assert dying.read_bytes() == before


def test_no_such_kernel_is_refused_before_any_run_is_forgotten(refresh_env, capsys,
                                                              monkeypatch):
    from cnn_lesson import notebooks

    monkeypatch.setattr(notebooks, "KERNEL_NAME", "no-such-kernel-cnn-lesson")
    backup = finished_run(refresh_env / "out" / "my_run")
    path = write_notebook(refresh_env / "nbs" / "a.ipynb", "print(1)")
    before = path.read_bytes()
    assert refresh(path) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "no-such-kernel-cnn-lesson" in err and "ipykernel install" in err
    assert backup.is_dir() and "Removed" not in out
    assert path.read_bytes() == before


# Finding 5: relative settings, and forgetting finished runs only once everything is checked.

def test_relative_settings_mean_the_commands_folder_to_the_kernel_too(tmp_path, monkeypatch,
                                                                      capsys):
    work, nbs = tmp_path / "work", tmp_path / "nbs"
    work.mkdir()
    (work / "cifar-10-python.tar.gz").write_bytes(b"not read")
    lessons_run = finished_run(work / "out" / "exercises" / "my_run")  # "out" to the user
    other_run = finished_run(nbs / "out" / "exercises" / "my_run")  # from the notebook's folder
    path = write_notebook(nbs / "show.ipynb", "import os\n"
                          "for name in ('CNN_LESSON_OUTPUT', 'CNN_LESSON_DATA', "
                          "'CNN_LESSON_CACHE'):\n"
                          "    print(name, os.path.abspath(os.environ[name]))")
    monkeypatch.chdir(work)
    monkeypatch.setenv("CNN_LESSON_QUICK", "0")
    monkeypatch.setenv("CNN_LESSON_OUTPUT", "out")
    monkeypatch.setenv("CNN_LESSON_DATA", "cifar-10-python.tar.gz")
    monkeypatch.setenv("CNN_LESSON_CACHE", "cache")
    assert refresh(path) == 0, capsys.readouterr().err
    assert stored_text(path).splitlines() == [
        f"CNN_LESSON_OUTPUT {work / 'out'}",
        f"CNN_LESSON_DATA {work / 'cifar-10-python.tar.gz'}",
        f"CNN_LESSON_CACHE {work / 'cache'}",
    ]
    assert not lessons_run.exists()
    assert other_run.is_dir()


def test_the_default_output_folder_is_the_kernels_too(refresh_env, monkeypatch, capsys):
    from cnn_lesson import config

    default = refresh_env / "default_output"
    monkeypatch.setattr(config, "DEFAULT_OUTPUT", default)
    monkeypatch.delenv("CNN_LESSON_OUTPUT")
    backup = finished_run(default)
    path = write_notebook(refresh_env / "nbs" / "show.ipynb",
                          "import os\nprint(os.environ.get('CNN_LESSON_OUTPUT'))")
    assert refresh(path) == 0, capsys.readouterr().err
    assert stored_text(path).strip() == str(default)
    assert not backup.exists()


@pytest.mark.parametrize("problem", ["missing data", "data not CIFAR-10", "cache ~nosuchuser",
                                     "not a notebook"])
def test_nothing_is_forgotten_or_run_before_the_settings_and_notebooks_are_checked(
        refresh_env, monkeypatch, capsys, problem):
    backup = finished_run(refresh_env / "out" / "my_run")
    path = write_notebook(refresh_env / "nbs" / "a.ipynb", "print('ran')")
    before = path.read_bytes()
    names = [path]
    if problem == "missing data":
        monkeypatch.setenv("CNN_LESSON_DATA", str(refresh_env / "no-such-data"))
    elif problem == "data not CIFAR-10":
        (refresh_env / "empty").mkdir()
        monkeypatch.setenv("CNN_LESSON_DATA", str(refresh_env / "empty"))
    elif problem == "cache ~nosuchuser":
        monkeypatch.setenv("CNN_LESSON_CACHE", "~nosuchuser-cnn-lesson/cache")
    else:
        bad = refresh_env / "nbs" / "b.ipynb"
        bad.write_text("not a notebook")
        names.append(bad)
    assert refresh(*names) == 1
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and "Traceback" not in out + err
    assert backup.is_dir() and "Removed" not in out
    assert path.read_bytes() == before
    assert os.listdir(backup) == ["latest.weights.h5"]


# Eighth pass: an output "folder" that is a pipe or a file passed the up-front checks, and
# the first lesson failed in its first cell.

@pytest.mark.parametrize("kind", ["pipe", "file"])
def test_an_output_folder_that_is_not_one_is_refused_before_any_lesson_runs(
        refresh_env, monkeypatch, capsys, kind):
    output = refresh_env / "out"
    if kind == "pipe":
        os.mkfifo(output)
    else:
        output.write_text("my notes")
    lesson = write_notebook(refresh_env / "nbs" / "a_lesson.ipynb", "print('ran')")
    before = lesson.read_bytes()
    assert refresh(lesson) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    expected = "is a file, not a folder" if kind == "file" else "is not a folder"
    assert f"{output} {expected}" in err and "CNN_LESSON_OUTPUT" in err
    assert "a_lesson" not in out  # refused before the first lesson started
    assert lesson.read_bytes() == before
    if kind == "file":
        assert output.read_text() == "my notes"


# The tenth pass (B.md 5, 7): an output folder among the data's images, and a notebook
# given through a symbolic link.

def test_an_output_folder_among_the_datas_images_is_refused_before_any_lesson_runs(
        refresh_env, monkeypatch, capsys):
    data = refresh_env / "data"
    for split in ("train", "test"):
        (data / split / "cat").mkdir(parents=True)
    monkeypatch.setenv("CNN_LESSON_DATA", str(data))
    monkeypatch.setenv("CNN_LESSON_OUTPUT", str(data / "train" / "out"))
    lesson = write_notebook(refresh_env / "nbs" / "a_lesson.ipynb", "print('ran')")
    before = lesson.read_bytes()
    assert refresh(lesson) == 1
    out, err = capsys.readouterr()
    assert "inside the data folder" in err and "Traceback" not in err
    assert "(CNN_LESSON_OUTPUT)" in err and "--output" not in err  # the eleventh pass, B.md 5a
    assert lesson.read_bytes() == before and not (data / "train" / "out").exists()


def test_a_notebook_given_through_a_link_is_refreshed_where_it_lies(refresh_env):
    lesson = write_notebook(refresh_env / "nbs" / "a_lesson.ipynb", "print('ran here')")
    link = refresh_env / "link.ipynb"
    link.symlink_to(lesson)
    assert refresh(link) == 0
    assert link.is_symlink() and link.resolve() == lesson
    assert "ran here" in stored_text(lesson)
