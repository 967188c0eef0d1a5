"""The training backup continues only its own run, reports damage, and keeps one run per folder.

Issue 17, items 1 and 2, and lesson 3's training cell run again after a finished run.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import nbformat
import pytest

from cnn_lesson.backup import (
    BACKUP_FOLDER, BEST_MODEL_FILE, EPOCH_LOG_FILE, RUN_FILES, resumable_training,
)
from cnn_lesson.backup.lock import LOCK_FILE
from cnn_lesson.backup.saved import weights_fingerprint
from cnn_lesson.errors import BackupError, OutputError, SettingsError
from cnn_lesson.live_plot import live_training_plot
from cnn_lesson.model import create_model
from cnn_lesson.saving import save_model
from cnn_lesson.training import compile_model, make_dataset, train
from tests.helpers import InterruptAfter, interrupted_folder, random_images

ROOT = Path(__file__).resolve().parent.parent


def _run(output_dir, epochs=3, seed=5, images=64, data_seed=1, precision="float32",
         dropout=True, train_seed=None, learning_rate=1e-3, verbose=0, **kwargs):
    """A small `train` run; each keyword changes one thing that makes a run itself
    (`train_seed` other training images, the validation images kept)."""
    all_images, labels = random_images(96, seed=data_seed)
    if train_seed is not None:
        all_images[:64] = random_images(64, seed=train_seed)[0]
    keras.utils.set_random_seed(seed)
    model = compile_model(create_model(dropout=dropout, precision=precision), learning_rate)
    history = train(model, (all_images[:images], labels[:images]),
                    (all_images[64:], labels[64:]), epochs=epochs, batch_size=32, seed=seed,
                    output_dir=output_dir, verbose=verbose, **kwargs)
    return model, history


def epochs_run() -> tuple[keras.callbacks.Callback, list]:
    """A callback for `fit`, and the list of the epochs it saw end."""
    ended = []
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ended.append(e)), ended


def _files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """An output folder with the backup of a run stopped after 2 of its 3 epochs."""
    return interrupted_folder(tmp_path_factory.mktemp("interrupted"), _run, 2)


@pytest.fixture
def backup(interrupted, tmp_path):
    """A copy of `interrupted` this test may change."""
    return shutil.copytree(interrupted, tmp_path / "output")


# Item 1: a backup continues only its own run.

@pytest.mark.parametrize("change, shown", [
    ({"seed": 6}, "seed: 5 (backup), 6 (this run)"),
    ({"images": 32}, "training images: 64 (backup), 32 (this run)"),  # e.g. quick mode
    ({"data_seed": 2}, "data: other images than the backup's"),
    ({"train_seed": 3}, "data: other images than the backup's"),  # training images only
    ({"epochs": 4}, "epochs: 3 (backup), 4 (this run)"),
    ({"precision": "mixed_bfloat16"}, "precision: float32 (backup), mixed_bfloat16 (this run)"),
    ({"dropout": False}, "model: 161,610 parameters, layers"),
    # the hostile pass: another learning rate (or label smoothing) resumed silently
    ({"learning_rate": 3e-3}, "optimizer and loss: other settings than the backup's"),
], ids=["seed", "quick", "data", "training data", "epochs", "precision", "model", "compiled"])
def test_a_backup_of_another_run_is_refused_and_left_as_it_is(backup, change, shown):
    before = _files(backup)
    with pytest.raises(BackupError) as refused:
        _run(backup, **change)
    message = str(refused.value)
    assert "holds the backup of another run (2 epoch(s) done)" in message
    assert shown in message and message.count("(backup)") <= 1  # only what differs
    assert "--fresh" in message and "another output folder" in message
    assert _files(backup) == before  # not continued, not deleted


def test_the_same_run_resumes_and_once_finished_and_saved_blocks_no_other_run(backup):
    model, history = _run(backup)
    assert len(history.history["loss"]) == 3 and model.optimizer.iterations.numpy() == 6
    save_model(model, backup)  # as lesson 3's saving cell and the command line do
    model, history = _run(backup, seed=6, images=32)  # e.g. a full run after a quick one
    assert len(history.history["loss"]) == 3 and model.optimizer.iterations.numpy() == 3


def test_model_fit_in_view_refuses_a_backup_of_other_batches(tmp_path):
    """Lesson 3's own `fit`: the batches per epoch tell another training set or batch size."""
    images, labels = random_images(96, seed=1)

    def fit(batch_size, callbacks=()):
        model = compile_model(create_model())
        progress = resumable_training(tmp_path, verbose=0)
        model.fit(make_dataset(images[:64], labels[:64], batch_size),
                  validation_data=make_dataset(images[64:], labels[64:]), epochs=3,
                  callbacks=[*progress.callbacks, *callbacks], verbose=0)
        return progress.finish()

    with pytest.raises(KeyboardInterrupt):
        fit(32, [InterruptAfter(1)])
    with pytest.raises(BackupError, match=r"batches per epoch: 2 \(backup\), 4 \(this run\)"):
        fit(16)
    assert len(fit(32).history["loss"]) == 3  # the same run continues


def test_model_fit_in_view_with_data_and_seed_refuses_another_datas_or_seeds_backup(tmp_path):
    """Lesson 3's cell passes its data and seed: synthetic and real CIFAR-10 both have 50,000
    images (the same batches per epoch), so without them the hostile pass resumed one run
    with the other's backup."""

    def fit(data_seed=1, seed=5, callbacks=()):
        images, labels = random_images(96, seed=data_seed)
        train_data, validation_data = (images[:64], labels[:64]), (images[64:], labels[64:])
        model = compile_model(create_model())
        progress = resumable_training(tmp_path, verbose=0, data=(train_data, validation_data),
                                      seed=seed)
        model.fit(make_dataset(*train_data, 32), validation_data=make_dataset(*validation_data),
                  epochs=3, callbacks=[*progress.callbacks, *callbacks], verbose=0)
        return progress.finish()

    with pytest.raises(KeyboardInterrupt):
        fit(callbacks=[InterruptAfter(1)])
    with pytest.raises(BackupError, match="data: other images than the backup's"):
        fit(data_seed=2)
    with pytest.raises(BackupError, match=r"seed: 5 \(backup\), 6 \(this run\)"):
        fit(seed=6)
    with pytest.raises(SettingsError, match="data must be"):
        resumable_training(tmp_path, data="images")
    assert len(fit().history["loss"]) == 3  # the same run continues


# Item 2: a damaged backup is reported, never half-used.

def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _drop_last_epoch(path: Path) -> None:
    log = json.loads(path.read_text())
    log["history"] = {key: values[:-1] for key, values in log["history"].items()}
    path.write_text(json.dumps(log))


@pytest.mark.parametrize("damage, shown", [
    (lambda folder: _truncate(folder / BACKUP_FOLDER / "latest.weights.h5"),
     "latest.weights.h5 is missing or truncated"),
    (lambda folder: (folder / BACKUP_FOLDER / "training_metadata.json").write_text('{"epo'),
     "training_metadata.json is missing or broken"),
    (lambda folder: _truncate(folder / EPOCH_LOG_FILE), f"{EPOCH_LOG_FILE} cannot be read"),
    (lambda folder: _drop_last_epoch(folder / EPOCH_LOG_FILE),
     f"{EPOCH_LOG_FILE} holds 1 epoch(s), the backup 2"),
    (lambda folder: (folder / EPOCH_LOG_FILE).unlink(), f"{EPOCH_LOG_FILE} is missing"),
    # A kill between Keras' two writes: epoch 2's weights, the epoch number still 1.
    (lambda folder: (folder / BACKUP_FOLDER / "training_metadata.json").write_text(
        json.dumps({**json.loads((folder / BACKUP_FOLDER / "training_metadata.json")
                                 .read_text()), "epoch": 1})),
     "latest.weights.h5 does not hold the weights of epoch 1"),
], ids=["truncated weights", "broken metadata", "broken log", "short log", "no log",
        "weights ahead of the epoch number"])
def test_a_damaged_backup_is_reported_kept_and_fresh_starts_over(backup, damage, shown):
    damage(backup)
    before = _files(backup)
    with pytest.raises(BackupError) as refused:
        _run(backup)
    message = str(refused.value)
    assert "is damaged" in message and shown in message and "--fresh" in message
    assert _files(backup) == before  # the learner's files are not deleted behind their back
    history = _run(backup, fresh=True)[1]
    assert len(history.history["loss"]) == len(history.history["seconds"]) == 3


def test_an_epoch_logged_but_not_backed_up_is_trained_again(backup):
    """A kill between the log and the backup: the log is one epoch ahead; the backup wins."""
    log = json.loads((backup / EPOCH_LOG_FILE).read_text())
    log["history"] = {key: [*values, 99.0] for key, values in log["history"].items()}
    (backup / EPOCH_LOG_FILE).write_text(json.dumps(log))
    model, history = _run(backup)
    assert model.optimizer.iterations.numpy() == 6  # 2 epochs restored, 1 trained again
    assert len(history.history["loss"]) == 3 and 99.0 not in history.history["loss"]


def _change_log(path: Path, **changes) -> None:
    log = json.loads(path.read_text())
    history = {**log["history"], **changes.pop("history", {})}
    path.write_text(json.dumps({**log, **changes, "history": history}))


@pytest.mark.parametrize("damage, shown", [
    (lambda log: _change_log(log, finished=True, history={"loss": 5}),
     "'loss' in training_backup_history.json is not a list of numbers"),
    (lambda log: _change_log(log, run="abc"), "the run in training_backup_history.json is not"),
    (lambda log: _change_log(log, run=[1, 2]), "the run in training_backup_history.json is not"),
    (lambda log: _change_log(log, run=None), "the run in training_backup_history.json is not"),
    (lambda log: _change_log(log, finished=True, run="abc"), "the run in"),
    (lambda log: _change_log(log, history={"seconds": ["x", "y"]}), "'seconds' in"),
    (lambda log: _change_log(log, history={"val_accuracy": ["x", "y"]}), "'val_accuracy' in"),
    (lambda log: (log.parent / BACKUP_FOLDER / "training_metadata.json").write_text(
        '{"epoch": -1}'), "training_metadata.json is missing or broken"),
    (lambda log: (log.parent / BACKUP_FOLDER / "training_metadata.json").write_text(
        '{"epoch": 0.5}'), "training_metadata.json is missing or broken"),
    (lambda log: (log.parent / BACKUP_FOLDER / "training_metadata.json").write_text(
        '{"epoch": true}'), "training_metadata.json is missing or broken"),
], ids=["finished loss=5", "run str", "run list", "run null", "finished run str",
        "seconds str", "val_accuracy str", "epoch -1", "epoch 0.5", "epoch true"])
def test_a_backup_of_the_wrong_shape_is_damaged_and_kept(backup, damage, shown):
    """Hostile test, item E: valid JSON of the wrong shape is a damaged backup too."""
    damage(backup / EPOCH_LOG_FILE)
    before = _files(backup)
    with pytest.raises(BackupError) as refused:
        _run(backup)
    message = str(refused.value)
    assert "is damaged" in message and shown in message and "--fresh" in message
    assert _files(backup) == before


def test_fresh_starts_over_from_a_log_of_the_wrong_shape(backup):
    _change_log(backup / EPOCH_LOG_FILE, finished=True, history={"loss": 5})
    history = _run(backup, fresh=True)[1]
    assert len(history.history["loss"]) == len(history.history["seconds"]) == 3


# Two runs at once on one folder.

def test_a_folder_in_use_by_another_process_is_refused_until_that_process_ends(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from cnn_lesson.backup.lock import lock_folder; "
         "lock_folder(Path(sys.argv[1]), object()); print('locked', flush=True); "
         "sys.stdin.read()", str(tmp_path)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BackupError, match=rf"Another training run \(process {holder.pid}\) "
                                              "is using the output folder"):
            resumable_training(tmp_path)
        holder.send_signal(signal.SIGKILL)  # a killed run leaves no stale lock behind
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    progress = resumable_training(tmp_path)
    progress.finish()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_fit_interrupted_in_this_process_does_not_lock_out_the_next_one(tmp_path):
    """A notebook cell interrupted inside `fit` never reaches `finish`; run again, it goes on."""
    first = resumable_training(tmp_path)  # its `fit` was interrupted: never finished
    second = resumable_training(tmp_path)
    second.finish()
    assert not (tmp_path / LOCK_FILE).exists()
    first.finish()  # harmless


# Lesson 3's training cell, run again after its run finished.

def _training_cell() -> str:
    cells = nbformat.read(ROOT / "notebooks" / "03_training.ipynb", as_version=4).cells
    return next(cell.source for cell in cells if "resumable_training(" in cell.source
                and "model.fit(" in cell.source)


def test_lesson_3s_training_cell_run_again_after_a_finished_run_trains_nothing(tmp_path, capsys):
    cell = _training_cell()
    images, labels = random_images(96, seed=1)
    keras.utils.set_random_seed(0)
    namespace = {
        "resumable_training": resumable_training, "live_training_plot": live_training_plot,
        "output_dir": tmp_path, "lesson": SimpleNamespace(epochs=2, seed=0),
        "train_data": (images[:64], labels[:64]), "validation_data": (images[64:], labels[64:]),
        "model": compile_model(create_model()),
        "training_set": make_dataset(images[:64], labels[:64], 32, shuffle=True, seed=0),
        "validation_set": make_dataset(images[64:], labels[64:], 32),
    }
    exec(cell, namespace)
    model, first = namespace["model"], namespace["history"].history
    best, trained = (tmp_path / BEST_MODEL_FILE).read_bytes(), weights_fingerprint(model)
    assert model.optimizer.iterations.numpy() == 4
    capsys.readouterr()

    exec(cell, namespace)  # the same cell again, the trained model in memory
    out = capsys.readouterr().out
    assert "already finished its 2 epoch(s)" in out and "nothing was trained" in out
    assert "fresh=True" in out and "Epoch " not in out
    assert model.optimizer.iterations.numpy() == 4  # not trained further
    assert (tmp_path / BEST_MODEL_FILE).read_bytes() == best
    assert namespace["history"].history == first and namespace["history"].seconds > 0

    model.fit(namespace["training_set"], epochs=1, verbose=0)  # a later fit is not cut short
    assert model.optimizer.iterations.numpy() == 6

    # The model's cell run again (or the kernel restarted) before the saving cell: the
    # trained weights come back from the backup, not a second training.
    namespace["model"] = compile_model(create_model())
    exec(cell, namespace)
    out = capsys.readouterr().out
    assert "had already finished its 2 epoch(s), but its model was not saved" in out, out
    assert "Epoch " not in out and weights_fingerprint(namespace["model"]) == trained
    assert namespace["model"].optimizer.iterations.numpy() == 4  # the optimizer's state too
    assert namespace["history"].history == first

    # Once lesson 3's saving cell has saved it, the model's cell and this one train again.
    save_model(namespace["model"], tmp_path)
    namespace["model"] = compile_model(create_model())
    exec(cell, namespace)
    assert "already finished" not in capsys.readouterr().out
    assert namespace["model"].optimizer.iterations.numpy() == 4
    assert weights_fingerprint(namespace["model"]) != trained
    assert len(namespace["history"].history["loss"]) == 2


# Hostile test, item D: a bad state of the output folder is reported before any training.

def test_a_file_named_like_the_backup_is_damaged_and_fresh_removes_it(tmp_path):
    (tmp_path / BACKUP_FOLDER).write_text("not a backup")
    with pytest.raises(BackupError, match=f"damaged \\({BACKUP_FOLDER} is a file"):
        _run(tmp_path, epochs=1)
    assert (tmp_path / BACKUP_FOLDER).read_text() == "not a backup"  # kept without --fresh
    model, history = _run(tmp_path, epochs=1, fresh=True)
    assert len(history.history["loss"]) == 1 and model.optimizer.iterations.numpy() == 2
    assert (tmp_path / BACKUP_FOLDER).is_dir()  # the file removed; Keras' folder, kept


def test_a_folder_named_like_the_lock_file_is_named_in_the_error(tmp_path):
    (tmp_path / LOCK_FILE).mkdir()
    (tmp_path / LOCK_FILE / "something").write_text("kept")
    with pytest.raises(BackupError, match=rf"{LOCK_FILE} is a folder, in the way of the lock "
                                          "file.*remove it"):
        resumable_training(tmp_path)
    assert (tmp_path / LOCK_FILE / "something").read_text() == "kept"


def test_a_lock_file_that_links_elsewhere_leaves_its_target_untouched(tmp_path):
    """The third hostile pass: the lock was opened through the link, and its target
    truncated to hold the process id."""
    target = tmp_path / "notes.txt"
    target.write_text("a learner's notes")
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / LOCK_FILE).symlink_to(target)
    with pytest.raises(BackupError, match=rf"{LOCK_FILE} is a link, in the way of the lock "
                                          "file.*remove it .the file it points to stays"):
        resumable_training(tmp_path / "output")
    assert target.read_text() == "a learner's notes"
    (tmp_path / "output" / LOCK_FILE).unlink()
    os.link(target, tmp_path / "output" / LOCK_FILE)  # a hard link: the same file
    with pytest.raises(BackupError, match=rf"{LOCK_FILE} is not a file of its own .a hard link"):
        resumable_training(tmp_path / "output")
    assert target.read_text() == "a learner's notes"


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_folder_named_like_a_file_the_run_writes_stops_it_before_training(tmp_path, name):
    (tmp_path / name).mkdir()
    started = []

    class Started(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            started.append(True)

    with pytest.raises(OutputError, match=rf"{name} is a folder, where training saves its file "
                                          rf"{name}\. Nothing was trained: move that folder"):
        _run(tmp_path, epochs=1, callbacks=[Started()])
    assert not started and sorted(path.name for path in tmp_path.iterdir()) == [name]


def test_a_loss_given_as_a_function_hashes_the_same_in_every_process():
    """Its repr holds a memory address; the run's description must not (the review)."""
    from cnn_lesson.backup.saved import _compiled, _named

    assert "0x" not in _named(keras.losses.sparse_categorical_crossentropy)
    model = create_model()
    model.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy)
    other = create_model()
    other.compile(optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy)
    assert _compiled(model) == _compiled(other)
    other.compile(optimizer="adam", loss=keras.losses.categorical_crossentropy)
    assert _compiled(model) != _compiled(other)


# Left by the third hostile pass: a finished run whose model was never saved.

def test_a_finished_run_never_saved_is_restored_until_saved_or_fresh(tmp_path):
    """`train` run again on a new model (the kernel restarted before the saving cell, the
    command stopped before it saved) gets the trained weights back instead of a new run."""
    model, history = _run(tmp_path, epochs=2)
    trained, best = weights_fingerprint(model), (tmp_path / BEST_MODEL_FILE).read_bytes()
    counter, ended = epochs_run()
    again, restored = _run(tmp_path, epochs=2, callbacks=[counter])
    assert ended == [] and weights_fingerprint(again) == trained
    assert again.optimizer.iterations.numpy() == 4  # the optimizer's state came back too
    assert restored.history == history.history
    assert (tmp_path / BEST_MODEL_FILE).read_bytes() == best  # not replaced by a new run

    counter, ended = epochs_run()
    _, fresh = _run(tmp_path, epochs=2, fresh=True, callbacks=[counter])
    assert ended == [0, 1] and len(fresh.history["loss"]) == 2  # trained again

    save_model(again, tmp_path)  # the finished run's model, saved: a new model trains again
    counter, ended = epochs_run()
    _run(tmp_path, epochs=2, callbacks=[counter])
    assert ended == [0, 1]


def test_another_run_is_refused_over_a_finished_run_never_saved(tmp_path):
    """The fifth hostile pass: another run (a quick one after a full one killed while it
    saved, say) deleted the trained weights of a finished run that were saved nowhere else.
    The command line, which saves every run it finishes, keeps them (`keep_unsaved`)."""
    _run(tmp_path, epochs=2, keep_unsaved=True)
    before = _files(tmp_path)
    with pytest.raises(BackupError) as refused:
        _run(tmp_path, epochs=1, keep_unsaved=True)
    message = str(refused.value)
    assert "holds a finished run (2 epoch(s)) whose model was never saved" in message
    assert "epochs: 2 (backup), 1 (this run)" in message and "--fresh" in message
    assert _files(tmp_path) == before  # nothing deleted
    model, _ = _run(tmp_path, epochs=2, keep_unsaved=True)  # the same run restores it
    save_model(model, tmp_path)  # and, saved, it blocks nothing
    _, history = _run(tmp_path, epochs=1, keep_unsaved=True)
    assert len(history.history["loss"]) == 1
    # finished and never saved, in its turn: fresh discards it
    assert len(_run(tmp_path, epochs=2, fresh=True, keep_unsaved=True)[1].history["loss"]) == 2


def test_in_a_notebooks_folder_another_run_replaces_a_finished_run_and_says_so(tmp_path, capsys):
    """Lesson 5's folder and the exercises' never hold a saved model.keras: refusing there
    would block every other run for good, so another run replaces the kept weights, with a
    line that says so."""
    _run(tmp_path, epochs=2)
    capsys.readouterr()
    _, history = _run(tmp_path, epochs=1, verbose=2)
    assert "held a finished run of 2 epoch(s) whose model was not saved there" in (
        capsys.readouterr().out)
    assert len(history.history["loss"]) == 1


def test_a_finished_runs_damaged_weights_are_reported_not_restored(tmp_path):
    model, _ = _run(tmp_path, epochs=2)
    weights = tmp_path / BACKUP_FOLDER / "latest.weights.h5"
    whole = weights.read_bytes()
    weights.write_bytes(whole[:1000])  # cut short: found before Keras reads it
    with pytest.raises(BackupError, match="damaged or from another epoch"):
        _run(tmp_path, epochs=2)
    weights.write_bytes(whole)
    _run(tmp_path / "other", epochs=2, dropout=False)  # another network's weights, whole
    shutil.copy(tmp_path / "other" / BACKUP_FOLDER / "latest.weights.h5", weights)
    with pytest.raises(BackupError, match="could not be restored|not those it ended with"):
        _run(tmp_path, epochs=2)
    metadata = tmp_path / BACKUP_FOLDER / "training_metadata.json"
    metadata.write_text(json.dumps({"epoch": 1}))  # another epoch's
    with pytest.raises(BackupError, match="damaged or from another epoch"):
        _run(tmp_path, epochs=2)
    _, history = _run(tmp_path, epochs=2, fresh=True)
    assert len(history.history["loss"]) == 2


def test_forget_finished_runs_leaves_unfinished_backups(interrupted, tmp_path):
    """`notebooks refresh` stores new runs: it forgets finished runs' weights, only those."""
    from cnn_lesson.backup import forget_finished_runs

    finished = tmp_path / "going_further"
    _run(finished, epochs=1)
    unfinished = shutil.copytree(interrupted, tmp_path / "exercises" / "interrupted")
    assert forget_finished_runs(tmp_path) == [finished / BACKUP_FOLDER]
    assert not (finished / BACKUP_FOLDER).exists() and (finished / EPOCH_LOG_FILE).exists()
    assert (unfinished / BACKUP_FOLDER).is_dir()
    counter, ended = epochs_run()
    _run(finished, epochs=1, callbacks=[counter])
    assert ended == [0]  # trained again: nothing to restore


def _failing_backups(patch, failure: str, backup_dir: Path) -> None:
    """Make saving the backup in `backup_dir` fail as `failure` says."""
    import cnn_lesson.backup as backup_module

    if failure == "disk nearly full":  # when the backup is saved, not when the run begins
        real = shutil.disk_usage
        saving = []  # set once the first epoch ends (the run's own checks come before)

        def disk_usage(path):
            return SimpleNamespace(total=1, used=1, free=1024) if saving else real(path)
        patch.setattr(backup_module.shutil, "disk_usage", disk_usage)
        original = backup_module._Backup._save_model

        def save_model(self):
            saving.append(True)
            return original(self)
        patch.setattr(backup_module._Backup, "_save_model", save_model)
    else:
        def half_written(self, path, *args, **kwargs):  # a full disk in the middle of it
            Path(path).write_bytes(b"half a weights file")
            raise OSError(28, "No space left on device")
        patch.setattr(keras.Model, "save_weights", half_written)


@pytest.mark.parametrize("failure", ["disk nearly full", "write fails"])
def test_a_backup_that_cannot_be_saved_stops_training_and_keeps_the_last_one(
        backup, monkeypatch, failure):
    """The fifth hostile pass: Keras wrote its backup in place, so a full disk left it damaged
    (every finished epoch lost) after a raw OSError, and h5py's error ended in a crash."""
    before = _files(backup)
    with monkeypatch.context() as patch:
        _failing_backups(patch, failure, backup / BACKUP_FOLDER)
        with pytest.raises(OutputError, match="backup|disk") as stopped:
            _run(backup)
    assert "The backup of the last epoch saved" in str(stopped.value)
    assert "is intact" in str(stopped.value)
    kept = {name: data for name, data in _files(backup).items() if "training_backup/" in name}
    assert kept == {name: data for name, data in before.items() if "training_backup/" in name}
    assert not list((backup / BACKUP_FOLDER).glob(".partial-*"))  # no half-written file left
    model, history = _run(backup)  # room again: it continues from the backup
    assert len(history.history["loss"]) == 3 and model.optimizer.iterations.numpy() == 6


def _backup_error_in_a_process(call: str) -> subprocess.CompletedProcess:
    """Run `call` (this module's names in scope) in a process of its own, which a hang cannot
    stall: it prints a BackupError's message and exits with status 3."""
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from tests.test_backup import _run, resumable_training\n"
            "from cnn_lesson.errors import BackupError\n"
            f"try: {call}\n"
            "except BackupError as error: print(error); sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, cwd=ROOT)  # a hang fails here


@pytest.mark.parametrize("name", [EPOCH_LOG_FILE, f"{BACKUP_FOLDER}/training_metadata.json",
                                  f"{BACKUP_FOLDER}/latest.weights.h5"])
@pytest.mark.parametrize("kind", ["pipe", "link to /dev/zero"])
def test_a_pipe_or_device_in_a_backup_files_place_is_damage_not_a_hang(backup, name, kind):
    """The fifth hostile pass: a pipe there waited forever, /dev/zero filled the memory."""
    (backup / name).unlink()
    if kind == "pipe":
        os.mkfifo(backup / name)
    else:
        (backup / name).symlink_to("/dev/zero")
    result = _backup_error_in_a_process(f"resumable_training({str(backup)!r})")
    assert result.returncode == 3 and "is damaged" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize("failure", ["disk nearly full", "write fails"])
def test_a_first_backup_that_cannot_be_saved_leaves_nothing_that_reads_as_damage(
        tmp_path, monkeypatch, failure):
    """Found by the review: the first epoch's failed save left an empty backup folder beside
    an epoch log, and the next run called the backup damaged."""
    with monkeypatch.context() as patch:
        _failing_backups(patch, failure, tmp_path / BACKUP_FOLDER)
        with pytest.raises(OutputError, match="No epoch had been backed up yet"):
            _run(tmp_path)
    assert not (tmp_path / BACKUP_FOLDER).exists()
    model, history = _run(tmp_path)  # room again: it trains, from the start
    assert len(history.history["loss"]) == 3 and model.optimizer.iterations.numpy() == 6


def test_keras_still_saves_its_backup_through_the_method_the_course_replaces():
    """`_Backup._save_model` overrides a private method of Keras' BackupAndRestore: were it
    renamed in a later Keras, the backup would be written in place again, silently."""
    import inspect

    from cnn_lesson.backup import _Backup

    keras_backup = keras.callbacks.BackupAndRestore
    assert "_save_model" in vars(keras_backup)
    assert "self._save_model()" in inspect.getsource(keras_backup.on_epoch_end)
    assert _Backup._save_model is not keras_backup._save_model
    for name in ("_weights_path", "_training_metadata_path", "_current_epoch",
                 "_last_batch_seen"):
        assert name in inspect.getsource(keras_backup)


def test_half_written_files_of_killed_runs_are_swept_those_of_running_ones_kept(tmp_path):
    """The fifth hostile pass: a kill while saving left `.model.partial-PID.keras` (a model's
    size) that no later run removed."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".model.partial-{dead}.keras"
    live = tmp_path / f".model.partial-{os.getpid()}.keras"
    others = [tmp_path / ".notes.txt", tmp_path / f".thesis.partial-{dead}.docx",
              tmp_path / f".my.notes.partial-{dead}"]  # the sixth pass: a user's, deleted
    for path in (stale, live, *others):
        path.write_bytes(b"half a model")
    resumable_training(tmp_path).release()
    assert not stale.exists() and live.exists() and all(path.exists() for path in others)


def test_a_model_trained_on_since_is_not_overwritten_by_the_restore(tmp_path, capsys):
    """The sixth hostile pass: the restore replaced the weights of a model trained further
    (model.fit after the run) with the finished run's, and those epochs were lost."""
    model, _ = _run(tmp_path, epochs=2)
    images, labels = random_images(32, seed=9)
    model.fit(images / 255.0, labels, epochs=1, verbose=0)  # trained on, in memory
    trained_on = weights_fingerprint(model)
    capsys.readouterr()
    counter, ended = epochs_run()
    same, same_labels = random_images(96, seed=1)  # the same run as _run's
    train(model, (same[:64], same_labels[:64]), (same[64:], same_labels[64:]), epochs=2,
          batch_size=32, seed=5, output_dir=tmp_path, verbose=2, callbacks=[counter])
    assert ended == [0, 1] and weights_fingerprint(model) != trained_on  # it trained on
    assert "trains on as a new run" in capsys.readouterr().out


def test_a_pipe_for_a_finished_runs_weights_is_damage_not_a_hang(tmp_path):
    _run(tmp_path, epochs=1)
    weights = tmp_path / BACKUP_FOLDER / "latest.weights.h5"
    weights.unlink()
    os.mkfifo(weights)
    result = _backup_error_in_a_process(f"_run({str(tmp_path)!r}, epochs=1)")
    assert result.returncode == 3 and "damaged or from another epoch" in result.stdout, (
        result.stderr[-2000:])


def test_forget_finished_runs_looks_only_where_the_lessons_run(tmp_path):
    """The seventh hostile pass: with CNN_LESSON_OUTPUT=~, `notebooks refresh` removed the
    kept weights of every finished run anywhere under the home folder, also through links."""
    from cnn_lesson.backup import forget_finished_runs

    finished = tmp_path / "output" / "going_further" / "exercises" / "run"  # the deepest
    _run(finished, epochs=1)
    deeper = tmp_path / "output" / "projects" / "mine" / "2026" / "run"
    shutil.copytree(finished, deeper)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(finished, elsewhere)
    (tmp_path / "output" / "link").symlink_to(elsewhere)
    assert forget_finished_runs(tmp_path / "output") == [finished / BACKUP_FOLDER]
    assert (deeper / BACKUP_FOLDER).is_dir() and (elsewhere / BACKUP_FOLDER).is_dir()
