"""A process killed between the two renames of a backup save (the eighth hostile pass).

`_Backup._save_model` writes `.partial-PID.weights.h5` and `.partial-PID.json`, then renames
the weights onto `latest.weights.h5` and the epoch number onto `training_metadata.json`. A
kill between the two left epoch N's weights under epoch N-1's number (or none, at the first
save), and the next run called the backup damaged while the dead process's `.partial-PID.json`
held the very epoch number it lacked. The run now finishes that rename and resumes.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_lesson.backup import BACKUP_FOLDER, EPOCH_LOG_FILE
from cnn_lesson.config import PROJECT_ROOT
from cnn_lesson.errors import OutputError
from tests.test_backup_bad_input import _run

METADATA = f"{BACKUP_FOLDER}/training_metadata.json"

# Runs `_run` (2 epochs) in a process that dies, as under kill -9 (no cleanup, no finally),
# when its backup save of epoch `KILL_AT` has renamed the weights and not the epoch number.
KILLED_RUN = """
import os, sys
from pathlib import Path
real_replace = os.replace
def replace(source, target, *args, **kwargs):
    if Path(target).name == "training_metadata.json" and \\
            '"epoch": {kill_at},' in Path(source).read_text():
        os._exit(9)
    return real_replace(source, target, *args, **kwargs)
os.replace = replace
from tests.test_backup_bad_input import _run
_run(Path(sys.argv[1]))
"""


def killed_between_the_renames(folder: Path, kill_at: int) -> int:
    """Run the killed process on `folder`; its pid."""
    process = subprocess.run(
        [sys.executable, "-c", KILLED_RUN.format(kill_at=kill_at), str(folder)],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=600)
    assert process.returncode == 9, process.stderr[-3000:]
    partials = list((folder / BACKUP_FOLDER).glob(".partial-*"))
    assert [path.suffix for path in partials] == [".json"], partials  # the weights were renamed
    return int(partials[0].name.split("-")[1].split(".")[0])


class KilledRuns(dict):
    """Folders left by a run killed between the renames of its save of epoch N, made when
    first asked for (each is a process that trains)."""

    def __init__(self, factory):
        super().__init__()
        self.factory = factory

    def __missing__(self, epoch: int) -> Path:
        folder = self.factory.mktemp(f"killed_at_{epoch}")
        killed_between_the_renames(folder, epoch)
        self[epoch] = folder
        return folder


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    return KilledRuns(tmp_path_factory)


@pytest.mark.parametrize("epoch", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_the_next_run_finishes_the_rename_and_resumes(killed_runs, tmp_path, epoch):
    folder = shutil.copytree(killed_runs[epoch], tmp_path / "run")
    metadata = folder / METADATA
    if epoch == 1:
        assert not metadata.exists()  # before: "training_metadata.json is missing or broken"
    else:  # before: "latest.weights.h5 does not hold the weights of epoch 1"
        assert json.loads(metadata.read_text())["epoch"] == 1
    logged = json.loads((folder / EPOCH_LOG_FILE).read_text())["history"]["loss"]
    assert len(logged) == epoch
    model, history = _run(folder)
    assert history.history["loss"][:epoch] == logged  # the killed run's epochs, not trained again
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations.numpy() == 6  # 2 epochs of 3 batches, no more
    assert not list((folder / BACKUP_FOLDER).glob(".partial-*"))


COMMAND = ["train", "--quick", "--data", "synthetic", "--epochs", "2"]


@pytest.mark.slow  # a command killed, then run again: 20 s
def test_the_command_line_finishes_it_too(tmp_path, capsys):
    """`check_replacing` reads the backup before training: it finishes the rename first."""
    from cnn_lesson.cli import main

    code = KILLED_RUN.format(kill_at=1).replace(
        "from tests.test_backup_bad_input import _run\n_run(Path(sys.argv[1]))",
        f"from cnn_lesson.cli import main\nmain({COMMAND!r} + ['--output', sys.argv[1]])")
    process = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=600,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert process.returncode == 9, process.stderr[-3000:]
    assert not (tmp_path / METADATA).exists()
    assert main([*COMMAND, "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 epoch(s) already done" in out, out
    assert len(json.loads((tmp_path / "history.json").read_text())["loss"]) == 2


def test_a_partial_naming_an_earlier_epoch_is_removed_not_renamed(killed_runs, tmp_path):
    """A stale partial (an epoch number not ahead of the backup's) is no save to finish."""
    from cnn_lesson.backup import finish_killed_saves

    folder = shutil.copytree(killed_runs[1], tmp_path / "run")
    (partial,) = (folder / BACKUP_FOLDER).glob(".partial-*.json")
    (folder / METADATA).write_text(json.dumps({"epoch": 1, "batch": 0}))  # the backup's
    partial.write_text(json.dumps({"epoch": 1, "batch": 0}))
    finish_killed_saves(folder / BACKUP_FOLDER)
    assert not partial.exists()
    assert json.loads((folder / METADATA).read_text()) == {"epoch": 1, "batch": 0}


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError(28, "No space left on device")],
                         ids=["Ctrl-C", "disk full"])
def test_a_save_stopped_between_its_renames_is_not_lost(tmp_path, monkeypatch, stop):
    """The tenth pass (B.md 1): Ctrl-C (or an error) between the two renames left the
    weights of epoch N under epoch N-1's number, and the cleanup deleted the epoch number
    the next run could have finished the save from: "damaged", and --fresh as the advice."""
    import cnn_lesson.backup as backup_module

    real_replace, stopped = os.replace, []

    def replace(source, target, *args, **kwargs):
        if Path(target).name == "training_metadata.json" and not stopped \
                and '"epoch": 2,' in Path(source).read_text():
            stopped.append(target)
            raise stop
        return real_replace(source, target, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(backup_module.os, "replace", replace)
        with pytest.raises((KeyboardInterrupt, OutputError)) as raised:
            _run(tmp_path)
    if raised.type is OutputError:  # the epoch number kept for the next run, which says so
        assert "its epoch number waits in .partial-" in str(raised.value)
        assert list((tmp_path / BACKUP_FOLDER).glob(".partial-*.json"))
    assert stopped
    model, history = _run(tmp_path)  # finishes the save (or it was), and goes on
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 6
    assert not list((tmp_path / BACKUP_FOLDER).glob(".partial-*"))


def test_ctrl_c_as_the_weights_rename_returns_is_not_lost(tmp_path, monkeypatch):
    """The eleventh pass (B.md 1): Ctrl-C during the weights' rename is raised once
    `os.replace` returns, before a flag set on the next line says the weights were renamed:
    the cleanup then deleted the epoch number, and the next run said "damaged"."""
    import cnn_lesson.backup as backup_module

    real_replace, stopped = os.replace, []

    def replace(source, target, *args, **kwargs):
        real_replace(source, target, *args, **kwargs)
        if Path(target).name == "latest.weights.h5" and not stopped \
                and backup_module.backup_epoch(Path(target).parent) == 1:  # epoch 2's save
            stopped.append(target)
            raise KeyboardInterrupt  # as Python delivers a SIGINT that came in the call

    with monkeypatch.context() as patch:
        patch.setattr(backup_module.os, "replace", replace)
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path)
    assert stopped
    assert backup_module.backup_epoch(tmp_path / BACKUP_FOLDER) == 2  # the save was finished
    model, history = _run(tmp_path)
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 6
    assert not list((tmp_path / BACKUP_FOLDER).glob(".partial-*"))
