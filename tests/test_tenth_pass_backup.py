"""The tenth hostile pass (issue 17, /tmp/pass10/B.md 2 and 8c) on the training backup:
`notebooks refresh` removed the only copy of a `train` run's weights (it forgets the lessons'
finished runs, nothing else), and a read-only backup folder was found after an epoch."""

import shutil

import pytest

from cnn_lesson.backup import LESSON_RUNS, forget_finished_runs
from cnn_lesson.backup.saved import BACKUP_FOLDER, COMMAND_DATA
from cnn_lesson.data.synthetic import SYNTHETIC_LABEL
from cnn_lesson.errors import BackupError
from cnn_lesson.further import FURTHER_FOLDER
from cnn_lesson.saving import save_model
from tests.helpers import interrupted_folder, last_line, needs_file_modes, run_closed
from tests.test_backup import _run

# What `python -m cnn_lesson train --quick --data synthetic` logs beside the course's facts
# A process forgetting the lessons' finished runs in the folder it is given, as refresh does.
FORGET = ("import sys; from cnn_lesson.backup import forget_finished_runs; "
          "forget_finished_runs(sys.argv[1])")
COMMAND_RUN = {COMMAND_DATA: "the command's images", "data source": SYNTHETIC_LABEL,
               "quick": True}


def test_a_commands_unsaved_run_is_refused_and_nothing_removed(tmp_path):
    """The command's run in the lessons' output folder, finished and never saved: refused
    with the way out, and the lessons' finished runs beside it keep their weights too."""
    _run(tmp_path, epochs=1, run=COMMAND_RUN)
    lesson_run = tmp_path / FURTHER_FOLDER
    _run(lesson_run, epochs=1)
    # every setting the backup compares, or that command is another run (the twelfth pass)
    with pytest.raises(BackupError, match=r"never saved.*Run `python -m cnn_lesson train --data "
                                          r"synthetic --output .* --epochs 1 --seed 5 "
                                          r"--precision float32 --quick` \(without --fresh\): "
                                          r"it restores.*Nothing was changed"):
        forget_finished_runs(tmp_path)
    assert (tmp_path / BACKUP_FOLDER).is_dir() and (lesson_run / BACKUP_FOLDER).is_dir()


def test_a_commands_saved_run_and_the_lessons_runs_are_forgotten(tmp_path):
    """Its model saved, the command's run loses nothing: it is forgotten like the lessons'."""
    model, _ = _run(tmp_path, epochs=1, run=COMMAND_RUN)
    save_model(model, tmp_path)
    exercise = tmp_path / "exercises" / "wider"
    _run(exercise, epochs=1)
    assert forget_finished_runs(tmp_path) == [tmp_path / BACKUP_FOLDER,
                                             exercise / BACKUP_FOLDER]


def test_runs_outside_the_lessons_folders_are_left_alone(tmp_path):
    """The pass's case: `train --output out/my_run` with CNN_LESSON_OUTPUT=out, stopped
    after its training. Runs of one's own there, of the command or not, are not the
    lessons'; nothing of theirs is removed (and the command's is not refused either)."""
    mine = tmp_path / "my_run"
    _run(mine, epochs=1, run=COMMAND_RUN)
    python_run = tmp_path / "projects" / "seed_3"
    shutil.copytree(mine, python_run)
    assert forget_finished_runs(tmp_path) == []
    assert (mine / BACKUP_FOLDER).is_dir() and (python_run / BACKUP_FOLDER).is_dir()


def test_lesson_runs_name_lesson_5s_folder():
    """A guard: `LESSON_RUNS` spells lesson 5's folder as `further` does."""
    assert FURTHER_FOLDER in LESSON_RUNS


@pytest.mark.slow  # a process without root's capabilities: CI runs it
@needs_file_modes
def test_a_read_only_backup_is_refused_before_training(tmp_path):
    """Finding 8c: it resumed, trained an epoch (minutes on the real data), then could not
    save it. Now nothing trains, and the backup is intact once writable again."""
    folder = interrupted_folder(tmp_path / "run", _run, 1)
    process = run_closed(folder / BACKUP_FOLDER, 0o555, "-c",
                         "import sys; from tests.test_backup import _run; "
                         "_run(sys.argv[1], verbose=2)", str(folder))
    error = last_line(process)
    assert error.startswith("cnn_lesson.errors.BackupError: Cannot write to the training "
                            "backup"), error
    assert "Permission denied" in error and "Nothing was trained" in error
    assert "make that folder writable" in error and "another output folder" not in error
    assert "Epoch 2/3" not in process.stdout + process.stderr
    _, history = _run(folder)  # writable again: it resumes from epoch 1
    assert len(history.history["loss"]) == 3


@pytest.mark.slow  # a process without root's capabilities: CI runs it
@needs_file_modes
def test_a_read_only_backup_of_a_finished_run_is_still_restored(tmp_path):
    """The eleventh pass (B.md 2a): the probe refused a finished, never-saved run, whose
    restore only reads its backup (and "another output folder" would train it again)."""
    folder = tmp_path / "run"
    _run(folder, epochs=1)  # `train` saves no model.keras: the run is finished, unsaved
    process = run_closed(folder / BACKUP_FOLDER, 0o555, "-c",
                         "import sys; from tests.test_backup import _run; "
                         "_run(sys.argv[1], epochs=1, verbose=1)", str(folder))
    assert process.returncode == 0, process.stderr[-2000:]
    assert "had already finished its 1 epoch(s)" in process.stdout


def test_a_failed_probe_is_not_left_in_the_backup(tmp_path, monkeypatch):
    """The eleventh pass (B.md 2b): on a full disk the probe file was made, its write failed,
    and it stayed in the backup folder for good; the advice was "make it writable"."""
    import errno
    from pathlib import Path

    from cnn_lesson.backup import _check_writable

    def full_disk(self, data):
        self.touch()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(BackupError, match="No space left.*free some disk space there"):
        _check_writable(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_commands_unfinished_run_is_refused_before_any_lesson(tmp_path):
    """The eleventh pass (B.md 4): lesson 3 failed on it, after lessons 1 and 2 had run, with
    a message cut before its way out, which named options refresh does not have."""
    interrupted_folder(tmp_path, lambda folder, **kwargs: _run(folder, run=COMMAND_RUN,
                                                               **kwargs), 1)
    with pytest.raises(BackupError, match=r"an unfinished run.*Finish it with `python -m "
                                          r"cnn_lesson train --data synthetic --output .* "
                                          r"--epochs 3 --seed 5 --precision float32 --quick`"
                                          r".*CNN_LESSON_OUTPUT"):
        forget_finished_runs(tmp_path)
    assert (tmp_path / BACKUP_FOLDER).is_dir()


@pytest.mark.slow  # a process without root's capabilities: CI runs it
@needs_file_modes
def test_an_unreadable_saved_model_is_not_called_never_saved(tmp_path):
    """The eleventh pass (B.md 3): a saved run whose model.keras one may not read was "a
    finished run ... whose model was never saved"."""
    model, _ = _run(tmp_path, epochs=1, run=COMMAND_RUN)
    save_model(model, tmp_path)
    error = last_line(run_closed(tmp_path / "model.keras", 0, "-c", FORGET, str(tmp_path)))
    assert "model.keras cannot be read (permission denied)" in error, error
    assert "never saved" not in error and (tmp_path / BACKUP_FOLDER).is_dir()


def test_a_resuming_run_without_room_for_its_next_save_is_refused_before_training(
        tmp_path, monkeypatch):
    """The twelfth pass (B.md 2): two bytes could be written, so a resuming run trained a
    whole epoch, then stopped for want of room to save it."""
    import shutil as shutil_module

    import cnn_lesson.backup as backup_module

    folder = interrupted_folder(tmp_path / "run", _run, 1)
    real_usage = shutil_module.disk_usage

    def full(path):
        usage = real_usage(path)
        return usage._replace(free=1_000_000) if BACKUP_FOLDER in str(path) else usage

    monkeypatch.setattr(backup_module.shutil, "disk_usage", full)
    with pytest.raises(BackupError, match=r"No space left.*Nothing was trained.*free some disk "
                                          r"space there"):
        _run(folder)
    assert not list((folder / BACKUP_FOLDER).glob(".write-test-*"))


def test_a_commands_run_training_now_is_said_so(tmp_path):
    """The twelfth pass (B.md 3a): refresh said "Finish it with `python -m cnn_lesson train
    ...`" of a run still training there, a command the folder's lock then refused."""
    import subprocess
    import sys

    interrupted_folder(tmp_path, lambda folder, **kwargs: _run(folder, run=COMMAND_RUN,
                                                               **kwargs), 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from cnn_lesson.backup.lock import lock_folder; "
         "lock_folder(Path(sys.argv[1]), object()); print('locked', flush=True); "
         "time.sleep(60)", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BackupError, match=r"Another training run \(process \d+\) is using"):
            forget_finished_runs(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / BACKUP_FOLDER).is_dir()
