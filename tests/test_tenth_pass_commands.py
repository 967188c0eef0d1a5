"""The tenth hostile pass, part B, minor findings 8a, 8b and 8d, on the `notebooks` commands:
a folder for `notebooks copy|student` that is a symbolic link to nothing (8a), a notebook in a
shared sticky folder that belongs to another user (8b), and a kernel spec that cannot be read
(8d).

Permissions are tested in a subprocess run as root without capabilities (`setpriv`), where the
file modes and the sticky bit apply as they do to any user. No kernel is started: every refusal
comes before a notebook runs, and the one run here is replaced by a stand-in.
"""

import errno
import os
import shutil
import textwrap

import pytest

from cnn_lesson.errors import CnnLessonError
from tests.helpers import (
    last_line, needs_file_modes, one_line, run_closed, run_without_privileges, write_notebook,
)

NOBODY = 65534  # another user, who owns nothing of the test's


def refresh_settings(tmp_path) -> dict[str, str]:
    """Settings `refresh` accepts: full mode, a local data file, folders in tmp_path."""
    data = tmp_path / "cifar-10-python.tar.gz"
    data.write_bytes(b"not read: the notebooks here never load data")
    return {"CNN_LESSON_QUICK": "0", "CNN_LESSON_DATA": str(data),
            "CNN_LESSON_OUTPUT": str(tmp_path / "out"),
            "CNN_LESSON_CACHE": str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}


# Finding 8a: `notebooks copy|student DIR` with DIR a symbolic link to nothing said "File exists".

@pytest.mark.parametrize("action", ["copy", "student"])
@pytest.mark.parametrize("case", ["to nothing", "loop", "under one"])
def test_a_lessons_folder_that_is_a_link_to_nothing_is_named(tmp_path, capsys, action, case):
    from cnn_lesson.cli import main

    link = tmp_path / "lessons"
    if case == "loop":
        (tmp_path / "other").symlink_to(link)
        link.symlink_to(tmp_path / "other")
    else:
        link.symlink_to(tmp_path / "unmounted disk")
    folder = link / "mine" if case == "under one" else link
    assert main(["notebooks", action, str(folder)]) == 1
    out, err = capsys.readouterr()
    line = one_line(err)
    assert "symbolic link to nothing (a disk not mounted?) or a loop" in line
    assert str(link) in line and "File exists" not in line
    assert "--output" not in line and "CNN_LESSON_OUTPUT" not in line  # not the output folder
    assert link.is_symlink() and not (tmp_path / "unmounted disk").exists()


def test_a_working_link_is_still_a_fine_lessons_folder(tmp_path, capsys):
    from cnn_lesson.cli import main

    (tmp_path / "disk").mkdir()
    (tmp_path / "lessons").symlink_to(tmp_path / "disk")
    assert main(["notebooks", "copy", str(tmp_path / "lessons" / "mine")]) == 0
    assert list((tmp_path / "disk" / "mine").glob("0*.ipynb"))


# Finding 8b: a notebook of another user in a sticky folder (mode 1777, as /tmp) ran, then could
# not replace that user's file, and the message named the output folder's settings.

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="giving a notebook to another user takes root (and setpriv to drop its capabilities)")


def sticky_folder_with(tmp_path, folder_owner: int, file_owner: int):
    """A shared sticky folder (mode 1777) holding a notebook (mode 666), with these owners."""
    folder = tmp_path / "shared"
    notebook = write_notebook(folder / "show.ipynb", "print('stored')")
    os.chown(folder, folder_owner, folder_owner)
    os.chown(notebook, file_owner, file_owner)
    folder.chmod(0o1777)
    notebook.chmod(0o666)
    return notebook


@needs_root
def test_refresh_refuses_another_users_notebook_in_a_sticky_folder_before_running_any(
        tmp_path):
    ran = tmp_path / "ran"
    first = write_notebook(tmp_path / "mine" / "a_first.ipynb", f"open({str(ran)!r}, 'w')")
    theirs = sticky_folder_with(tmp_path, NOBODY, NOBODY)
    before = theirs.read_bytes()
    result = run_without_privileges("-m", "cnn_lesson", "notebooks", "refresh", str(first),
                                    str(theirs), env=refresh_settings(tmp_path))
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    assert "Nothing was run" in line and str(theirs.parent) in line and "another user" in line
    assert "--output" not in line and "CNN_LESSON_OUTPUT" not in line
    assert not ran.exists()  # the first notebook, which could be stored, did not run either
    assert theirs.read_bytes() == before
    assert sorted(path.name for path in theirs.parent.iterdir()) == ["show.ipynb"]


@needs_root
@pytest.mark.parametrize("owners", [(0, NOBODY), (NOBODY, 0)],
                         ids=["my folder", "my notebook"])
def test_a_sticky_folder_is_fine_when_the_folder_or_the_notebook_is_mine(tmp_path, owners):
    notebook = sticky_folder_with(tmp_path, *owners)
    result = run_without_privileges("-c", textwrap.dedent(f"""
        from pathlib import Path
        from cnn_lesson.notebooks import check_writable
        check_writable([Path({str(notebook)!r})])
        print("can be stored")
    """))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "can be stored"


def test_a_notebook_that_cannot_be_stored_after_its_run_names_its_folder(tmp_path,
                                                                          monkeypatch):
    """Should it still happen (the folder changed during the run), the advice is about the
    notebook's folder, not the output folder of the lessons."""
    import nbclient

    from cnn_lesson import notebooks

    notebook = write_notebook(tmp_path / "shared" / "show.ipynb", "print('stored')")
    before = notebook.read_bytes()
    monkeypatch.setattr(nbclient.NotebookClient, "execute", lambda self, **kwargs: None)

    def refused(source, destination):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(CnnLessonError) as raised:
        notebooks.refresh(notebook)
    line = one_line(str(raised.value))
    assert str(notebook) in line and "Operation not permitted" in line
    assert str(notebook.parent) in line.split("Operation not permitted", 1)[1]
    assert "--output" not in line and "CNN_LESSON_OUTPUT" not in line
    assert notebook.read_bytes() == before
    assert sorted(path.name for path in notebook.parent.iterdir()) == ["show.ipynb"]


# Finding 8d: a kernel spec that cannot be read was called broken, to be removed.

@needs_file_modes
def test_an_unreadable_kernel_spec_is_a_permission_problem_not_damage(tmp_path):
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = kernel / "kernel.json"
    spec.write_text('{"argv": ["python", "-m", "ipykernel_launcher", "-f", '
                    '"{connection_file}"], "display_name": "Python 3", "language": "python"}')
    spec.chmod(0)
    try:
        result = run_without_privileges("-c", textwrap.dedent("""
            from cnn_lesson.errors import CnnLessonError
            from cnn_lesson.notebooks import check_kernel
            try:
                check_kernel()
            except CnnLessonError as error:
                print(error)
        """), env={"JUPYTER_PATH": str(tmp_path / "jupyter")})
    finally:
        spec.chmod(0o644)
    assert result.returncode == 0, result.stderr
    line = one_line(result.stdout)
    assert str(spec) in line and "cannot be read" in line and "permission denied" in line
    assert "chmod" in line and "JUPYTER_PATH" in line
    assert "broken" not in line and "Remove its folder" not in line


# The eleventh pass (B.md 3): a saved run whose model.keras one may not read was "a model that
# no metrics.json of this command describes, such as lesson 3's", and --fresh the advice.

@pytest.mark.slow  # a process without root's capabilities: CI runs it
@needs_file_modes
def test_an_unreadable_model_is_said_so_not_called_another_runs(tmp_path):
    from cnn_lesson.cli import main

    arguments = ["train", "--quick", "--data", "synthetic", "--epochs", "1",
                 "--output", str(tmp_path)]
    assert main(arguments) == 0
    process = run_closed(tmp_path / "model.keras", 0, "-m", "cnn_lesson", *arguments)
    line = last_line(process)  # after TensorFlow's and the data's notes
    assert "Traceback" not in process.stderr and line.startswith("error: ")
    assert "model.keras cannot be read (permission denied)" in line, line
    assert "another run" not in line and "--fresh" not in line and process.returncode == 1
