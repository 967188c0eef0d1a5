"""The thirteenth hostile pass (issue 17, /tmp/pass13/B.md 1, 2, 5, 6) on the command line:
folders that can be listed but not entered (mode 444) ended in raw PermissionErrors, in the
data and in the lessons' output folder; a read-only run folder stopped `notebooks refresh`;
`train` with its standard output closed died in Keras' progress line."""

import subprocess
import sys

import pytest

import cifar_writer as writer
from cnn_lesson.config import PROJECT_ROOT
from tests.helpers import (
    READ_SAVED_RUN, last_line, needs_file_modes, run_closed, run_without_privileges,
)
from tests.test_tenth_pass_backup import COMMAND_RUN, FORGET, _run


@needs_file_modes
def test_a_data_folder_that_cannot_be_entered_is_one_line(tmp_path):
    """Finding 2: `train/` of an image folder tree, or `cifar-10-batches-py/`, of mode 444."""
    data = writer.make_data()
    folders = tmp_path / "folders"
    writer.write_image_folders(folders, data)
    batches = tmp_path / "batches"
    writer.write_batches_folder(batches / "cifar-10-batches-py", data)
    for closed in (folders / "train", batches / "cifar-10-batches-py"):
        closed.chmod(0o444)
    try:
        for source in (folders, batches):
            process = run_without_privileges(
                "-c", "import sys; from cnn_lesson.data import load_cifar10; "
                "load_cifar10(sys.argv[1], cache_dir=sys.argv[2])", str(source),
                str(tmp_path / "cache"))
            error = last_line(process)
            assert error.startswith("cnn_lesson.errors.DataError: "), error
            assert "cannot be read: permission denied" in error and "chmod -R u+rX" in error
    finally:
        for closed in (folders / "train", batches / "cifar-10-batches-py"):
            closed.chmod(0o755)


@needs_file_modes
def test_a_lessons_folder_that_cannot_be_entered_is_named_by_refresh(tmp_path):
    """Finding 1: `notebooks refresh` died in forget_finished_runs with a PermissionError."""
    exercises = tmp_path / "exercises"
    (exercises / "mine").mkdir(parents=True)
    error = last_line(run_closed(exercises, 0o444, "-c", FORGET, str(tmp_path)))
    assert error.startswith("cnn_lesson.errors.BackupError: Cannot look into"), error
    assert "exercises" in error and "Nothing was changed" in error


@pytest.mark.slow  # a process without root's capabilities: CI runs it
@needs_file_modes
def test_a_read_only_folder_of_a_saved_command_run_is_named_for_what_it_is(tmp_path):
    """Finding 5: its lock could not be taken ("That folder is not writable ... (--output
    DIR or CNN_LESSON_OUTPUT)", an option refresh does not have). Nothing trains in a folder
    one cannot write, so no lock is taken; the kept weights that cannot be removed are named."""
    from cnn_lesson.saving import save_model

    run_dir = tmp_path / "exercises" / "mine"
    model, _ = _run(run_dir, epochs=1, run=COMMAND_RUN)
    save_model(model, run_dir)
    error = last_line(run_closed(run_dir, 0o555, "-c", FORGET, str(tmp_path)))
    assert error.startswith("cnn_lesson.errors.BackupError: Could not remove"), error
    assert "lock" not in error and "--output" not in error


@pytest.mark.slow  # the command in a process: CI runs it
def test_train_with_its_output_closed_finishes(tmp_path):
    """Finding 6: `train ... >&-` died after its first epoch (Keras wrote to None)."""
    output = tmp_path / "run"
    process = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m cnn_lesson train --quick --data synthetic '
         f'--epochs 1 --output "{output}" >&-'],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr[-2000:]
    assert (output / "metrics.json").is_file()


@needs_file_modes
def test_a_backup_folder_that_cannot_be_entered_is_not_called_damaged(tmp_path):
    """Finding 3: a training_backup/ of mode 444 was "damaged ... Start over with --fresh"."""
    from cnn_lesson.backup.saved import BACKUP_FOLDER
    from tests.helpers import interrupted_folder

    folder = interrupted_folder(tmp_path / "run", _run, 1)
    error = last_line(run_closed(folder / BACKUP_FOLDER, 0o444, "-c", READ_SAVED_RUN,
                                 str(folder)))
    assert "cannot be read" in error and "permission denied" in error, error
    assert "damaged" not in error and "--fresh" not in error
