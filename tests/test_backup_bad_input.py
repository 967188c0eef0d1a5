"""The training backup's bad states, from the seventh hostile pass (part B): epoch logs of
the wrong shape or with numbers no float holds, --fresh that cannot remove the backup, a
`training_backup` link to nothing, a kill during the first save, another network's weights,
a log that is no table of metrics.

Each test failed before the fix: findings 1, 3, 6, 7, 8 and 10 a-c of /tmp/pass7/B.md.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import cnn_lesson.backup as backup_module
from cnn_lesson.backup import BACKUP_FOLDER, EPOCH_LOG_FILE
from cnn_lesson.errors import BackupError
from cnn_lesson.model import create_model
from cnn_lesson.training import compile_model, train
from tests.helpers import interrupted_folder, random_images

WEIGHTS = f"{BACKUP_FOLDER}/latest.weights.h5"


def _run(output_dir, epochs=2, **kwargs):
    """A tiny `train` run (the same run every time, unless `epochs` differs)."""
    images, labels = random_images(64, seed=1)
    keras.utils.set_random_seed(3)
    model = compile_model(create_model())
    history = train(model, (images[:48], labels[:48]), (images[48:], labels[48:]),
                    epochs=epochs, batch_size=16, seed=3, output_dir=output_dir, verbose=0,
                    **kwargs)
    return model, history


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}


def _edit_log(folder: Path, edit) -> None:
    path = folder / EPOCH_LOG_FILE
    log = json.loads(path.read_text())
    edit(log)
    path.write_text(json.dumps(log))  # json writes 10**400 as digits, 1e309 as Infinity


def _one_line_damage(message: str) -> None:
    assert "is damaged" in message and "--fresh" in message, message
    assert "\n" not in message, message


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A folder with the backup of a run stopped after 1 of its 2 epochs."""
    return interrupted_folder(tmp_path_factory.mktemp("interrupted"), _run, 1)


@pytest.fixture
def unfinished(interrupted, tmp_path):
    return shutil.copytree(interrupted, tmp_path / "unfinished", symlinks=True)


def _cli(folder: Path, *more: str) -> int:
    from cnn_lesson.cli import main

    return main(["train", "--quick", "--data", "synthetic", "--epochs", "1",
                 "--output", str(folder), *more])


@pytest.fixture(scope="module")
def unsaved_cli_run(tmp_path_factory):
    """A folder with a finished command-line run whose results were never saved (killed
    before saving): its finished epoch log and kept weights are all there is."""
    folder = tmp_path_factory.mktemp("unsaved")
    assert _cli(folder) == 0
    for name in ("model.keras", "model.h5", "metrics.json"):
        (folder / name).unlink()
    return folder


@pytest.fixture
def unsaved(unsaved_cli_run, tmp_path):
    return shutil.copytree(unsaved_cli_run, tmp_path / "unsaved")


# Findings 1 and 6: a finished log is checked as strictly as an unfinished one.

@pytest.mark.parametrize("edit, shown", [
    (lambda log: log["history"].update(loss=[10**400]), "'loss' in training_backup_history"
     ".json is not a list of numbers"),
    (lambda log: log["history"].update(loss=[1e309]), "holds NaN or an infinite value"),
    (lambda log: log["history"].update(loss=[float("nan")]), "holds NaN or an infinite value"),
    (lambda log: log["history"].pop("loss"), "holds no 'loss'"),
    (lambda log: log["history"].pop("accuracy"), "holds no 'accuracy'"),
    (lambda log: log["history"]["accuracy"].append(0.5), "have different lengths"),
    (lambda log: log.update(history={"learning_rate": [0.1]}), "holds no 'loss'"),
    (lambda log: log["run"].update(epochs="1"), "'epochs' of the run in"),
    (lambda log: log["run"].update(seed=[42]), "'seed' of the run in"),
    (lambda log: log.update(finished="no"), "'finished' in"),
], ids=["10**400", "1e309", "NaN", "no loss", "no accuracy", "lengths", "learning_rate only",
        "epochs text", "seed list", "finished text"])
def test_a_finished_runs_damaged_log_is_refused_before_the_restore(unsaved, capsys, edit, shown):
    """Findings 1 and 6: the run was restored and evaluated, then ended in a raw
    OverflowError, in plot_history's or save_history's message for the Python API, or (a
    text epochs) in "another run ... epochs: 1 (backup), 1 (this run)"."""
    _edit_log(unsaved, edit)
    before = _files(unsaved)
    assert _cli(unsaved) == 1
    said = capsys.readouterr()
    error = said.err.strip().splitlines()[-1]
    assert error.startswith("error: The training backup in") and shown in error, said.err
    _one_line_damage(error)
    assert "restored" not in said.out and "Test accuracy" not in said.out
    assert _files(unsaved) == before  # nothing restored, trained or saved


@pytest.mark.parametrize("value", [10**400, 1e309, float("nan")], ids=["10**400", "1e309", "NaN"])
def test_an_unfinished_log_with_a_number_no_float_holds_is_refused(unfinished, value):
    """Finding 1: the run resumed, and `_KeepBestModel.best` became 10**400, so no better
    best model was ever saved; the run then crashed in plot_history."""
    _edit_log(unfinished, lambda log: log["history"].update(val_accuracy=[value]))
    before = _files(unfinished)
    with pytest.raises(BackupError) as refused:
        _run(unfinished)
    _one_line_damage(str(refused.value))
    assert "'val_accuracy' in training_backup_history.json" in str(refused.value)
    assert _files(unfinished) == before


# Findings 3 and 7: --fresh that cannot remove the backup says so, and discards nothing.

def _refused(path: Path):
    def fail(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))
    return fail


def test_fresh_refuses_when_the_epoch_log_cannot_be_removed(unsaved, monkeypatch, capsys):
    """Finding 3 (an immutable log, another user's in a shared folder): a raw PermissionError,
    after the backup had been deleted."""
    log = unsaved / EPOCH_LOG_FILE
    real_rename, real_unlink = os.rename, os.unlink

    def rename(source, target, *args, **kwargs):
        if Path(source) == log:
            _refused(log)()
        return real_rename(source, target, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        if Path(path) == log:
            _refused(log)()
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "unlink", unlink)
    before = _files(unsaved)
    assert _cli(unsaved, "--fresh") == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"error: Could not remove {log}: Operation not permitted"), error
    assert "Remove it yourself, or choose another output folder" in error
    assert _files(unsaved) == before  # the backup is still whole, beside its log


def test_fresh_refuses_when_the_backup_folder_cannot_be_removed(unfinished, monkeypatch):
    """Finding 7 (a backup left by a `sudo` run): the silent rmtree(ignore_errors=True), then
    the log deleted, and every --fresh run said "damaged ... add --fresh" again."""
    weights = unfinished / WEIGHTS
    real_rmtree = shutil.rmtree

    def rmtree(path, ignore_errors=False, *args, **kwargs):
        if Path(path) == unfinished / BACKUP_FOLDER:
            if ignore_errors:  # as shutil's own does: nothing said
                return None
            raise PermissionError(errno.EACCES, "Permission denied", str(weights))
        return real_rmtree(path, ignore_errors, *args, **kwargs)

    monkeypatch.setattr(backup_module.shutil, "rmtree", rmtree)
    before = _files(unfinished)
    for _ in range(2):  # and again: the same message, not "damaged"
        with pytest.raises(BackupError) as refused:
            _run(unfinished, fresh=True)
        message = str(refused.value)
        assert message.startswith(f"Could not remove {weights}: Permission denied"), message
        assert "was not discarded" in message and "Remove it yourself" in message
        assert "\n" not in message
        assert _files(unfinished) == before  # the epoch log stays beside the backup


# Finding 8: a training_backup that is a link to nothing.

@pytest.mark.parametrize("target", ["moved", "loop"])
def test_a_backup_link_to_nothing_is_refused_and_the_log_kept(unfinished, target):
    """Finding 8: the run started over, overwrote the epoch log, then blamed a full disk."""
    backup = unfinished / BACKUP_FOLDER
    shutil.rmtree(backup)
    backup.symlink_to(unfinished / "unmounted_disk" / "backup" if target == "moved" else backup)
    log = (unfinished / EPOCH_LOG_FILE).read_bytes()
    with pytest.raises(BackupError) as refused:
        _run(unfinished)
    message = str(refused.value)
    assert f"{BACKUP_FOLDER} is a symbolic link to nothing (a loop" in message, message
    assert "--fresh" in message and "\n" not in message and "space" not in message
    assert (unfinished / EPOCH_LOG_FILE).read_bytes() == log and backup.is_symlink()
    _, history = _run(unfinished, fresh=True)  # removes the link only
    assert len(history.history["loss"]) == 2 and backup.is_dir() and not backup.is_symlink()


# Finding 10a: a kill during the very first backup save.

def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)


@pytest.mark.parametrize("partials", [("weights.h5",), ("weights.h5", "json")])
def test_a_kill_during_the_first_backup_save_is_no_damage(unfinished, partials):
    """Finding 10a: only `training_backup/.partial-PID.*` was left, and the next run called
    the backup damaged (training_metadata.json missing), though no epoch was backed up."""
    backup = unfinished / BACKUP_FOLDER
    weights = (backup / "latest.weights.h5").read_bytes()
    shutil.rmtree(backup)
    backup.mkdir()
    pid = _dead_pid()
    for suffix in partials:
        (backup / f".partial-{pid}.{suffix}").write_bytes(weights[: len(weights) // 2])
    model, history = _run(unfinished)  # trains from the start: nothing was backed up
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 6
    assert not list(backup.glob(".partial-*"))


# Finding 10b: another network's weights, or an empty HDF5 file.

@pytest.mark.parametrize("weights", ["another network", "empty"])
def test_weights_of_another_network_are_damage_in_one_line(unfinished, weights):
    """Finding 10b: the message ran over 15 lines with Keras' list of objects not loaded."""
    import h5py

    path = unfinished / WEIGHTS
    path.unlink()
    if weights == "empty":
        h5py.File(path, "w").close()
    else:
        other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        other.save_weights(path)
    with pytest.raises(BackupError) as refused:
        _run(unfinished)
    message = str(refused.value)
    _one_line_damage(message)
    assert "could not be restored into this model" in message
    assert "List of objects" not in message and "<Conv2D" not in message


# Finding 10c: an epoch log that is a pipe, or holds no table of metrics.

@pytest.mark.parametrize("log", ["history list", "finished, history list", "list", "pipe"])
def test_an_unfinished_backups_log_of_no_run_is_damage(unfinished, log):
    """Finding 10c: `"history": []` beside an unfinished backup was "made by an earlier
    version of the course" (finished, it was no run at all); a pipe is damage too, not a
    hang (that case passed before: it guards the order of the new checks)."""
    path = unfinished / EPOCH_LOG_FILE
    if log == "pipe":
        path.unlink()
        os.mkfifo(path)
    else:
        _edit_log(unfinished, lambda content: content.update(
            history=[], **({"finished": True} if log.startswith("finished") else {})))
        if log == "list":
            path.write_text("[]")
    with pytest.raises(BackupError) as refused:
        backup_module.resumable_training(unfinished).release()
    message = str(refused.value)
    _one_line_damage(message)
    assert "earlier version" not in message
