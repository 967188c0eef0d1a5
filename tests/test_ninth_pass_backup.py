"""The ninth hostile pass (issue 17, /tmp/pass9/B.md 7, 10b, 10d; A.md 4 for lesson 5) on
the training backup: a backup that cannot be read for its permissions called damaged (with
--fresh as the advice), fingerprints shown as hashes, facts of the course's own overridden
by `run=`, and a rate callback beside lesson 5's schedule."""

import shutil

import keras
import pytest

from cnn_lesson.backup import BACKUP_FOLDER, EPOCH_LOG_FILE, resumable_training
from cnn_lesson.backup.saved import differences
from cnn_lesson.errors import SettingsError
from tests.test_backup_bad_input import _run
from tests.helpers import (
    READ_SAVED_RUN, interrupted_folder, last_line, needs_file_modes, random_images, run_closed,
)



@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    return interrupted_folder(tmp_path_factory.mktemp("interrupted"), _run, 1)


@needs_file_modes
@pytest.mark.parametrize("unreadable", [  # a process each: two of them with the slow tests
    EPOCH_LOG_FILE, pytest.param(BACKUP_FOLDER, marks=pytest.mark.slow),
    pytest.param(f"{BACKUP_FOLDER}/training_metadata.json", marks=pytest.mark.slow)])
def test_a_backup_that_cannot_be_read_is_not_called_damaged(interrupted, tmp_path, unreadable):
    """Finding 7: "damaged ... start over with --fresh", which would discard intact epochs."""
    folder = shutil.copytree(interrupted, tmp_path / "run")
    error = last_line(run_closed(folder / unreadable, 0, "-c", READ_SAVED_RUN, str(folder)))
    assert error.startswith("cnn_lesson.errors.BackupError: The training backup in run/ cannot "
                            f"be read: {unreadable} is not readable (permission denied)"), error
    assert "damaged" not in error and "--fresh" not in error and "chmod" in error
    model, history = _run(folder)  # readable again: it resumes, nothing was lost
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 6


def test_fingerprints_of_the_images_are_said_in_words():
    """Finding 10b: "command's data: 44225f3d... (backup), 0eacad95... (this run)"."""
    said = differences({"command's data": "44225f3dfd1e", "data source": "synthetic"},
                       {"command's data": "0eacad9525d8", "data source": "image folders"})
    assert said == ["data: synthetic (backup), image folders (this run)"]
    said = differences({"command's data": "44225f3dfd1e"}, {"command's data": "0eacad9525d8"})
    assert said == ["data: other images than the backup's"]


@pytest.mark.parametrize("name", ["format", "epochs", "precision", "model"])
def test_a_run_may_not_name_a_fact_the_course_reads_itself(tmp_path, name):
    """Finding 10d: `run={"format": 1}` was accepted, then read back as a backup of an
    earlier version; `{"epochs": 5}` replaced the epochs compared."""
    with pytest.raises(SettingsError, match=f"run names '{name}', which the course reads"):
        resumable_training(tmp_path, run={name: 1 if name in ("format", "epochs") else "x"})
    assert list(tmp_path.iterdir()) == []


def test_lesson_5s_training_refuses_a_rate_callback(tmp_path):
    """A.md item 4 for `train_further`: its rate follows a one-cycle schedule too."""
    from cnn_lesson.further import train_further

    images, labels = random_images(64, seed=2)
    callback = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate)
    with pytest.raises(SettingsError, match="sets the learning rate"):
        train_further((images[:48], labels[:48]), (images[48:], labels[48:]), epochs=1,
                      verbose=0, callbacks=[callback], output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_courses_own_facts_win_over_a_run_naming_them(tmp_path):
    """The tenth pass (A.md 2): `run={"data": ..., "seed": ...}` replaced the facts the
    course records of the data and the seed, so a backup made on other images, with another
    seed or batch size, was continued without a word."""
    import json

    from cnn_lesson.model import create_model
    from cnn_lesson.training import compile_model, train

    images, labels = random_images(64, seed=1)
    data = ((images[:48], labels[:48]), (images[48:], labels[48:]))
    progress = resumable_training(tmp_path / "a", data=data, seed=3,
                                  run={"seed": 4, "data": "x", "training images": 5})
    try:
        facts = next(callback.facts for callback in progress.callbacks
                     if hasattr(callback, "facts"))
    finally:
        progress.release()
    assert facts["seed"] == 3 and facts["training images"] == 48 and facts["data"] != "x"
    model = compile_model(create_model(filters=(4, 4, 4), dense_units=8))
    train(model, *data, epochs=1, batch_size=16, verbose=0, output_dir=tmp_path / "b",
          run={"batch size": 999})
    run = json.loads((tmp_path / "b" / EPOCH_LOG_FILE).read_text())["run"]
    assert run["batch size"] == 16
