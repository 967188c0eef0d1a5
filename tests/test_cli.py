"""The command line end to end, on the synthetic set in quick mode (real processes)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

from cnn_lesson.cli import ARTIFACTS

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, env=None, timeout=300):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    environment.pop("CNN_LESSON_QUICK", None)
    return subprocess.run([sys.executable, "-m", "cnn_lesson", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_quick_training_run_writes_every_artifact(tmp_path):
    result = run_cli("train", "--data", "synthetic", "--quick", "--output", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ARTIFACTS:
        assert (tmp_path / name).is_file(), name
    out = result.stdout
    assert "Total params: 161,610" in out
    assert out.count("val_accuracy:") == 1  # one progress line per epoch
    assert "Test accuracy:" in out and "SYNTHETIC" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["quick"] is True
    assert set(metrics["history"]) >= {"accuracy", "val_accuracy", "loss", "val_loss"}
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["seconds"] > 0
    assert "SYNTHETIC" in metrics["data_source"]
    assert f"{metrics['test_accuracy']:.4f}" in out
    from cnn_lesson import fast_precision

    assert metrics["precision"] == fast_precision() and f"Precision: {fast_precision()}" in out
    # The finished run's weights stay (a rerun before they were saved restores them).
    assert json.loads((tmp_path / "training_backup" / "training_metadata.json").read_text())[
        "epoch"] == 1
    from cnn_lesson.cli import check_foreign_files

    check_foreign_files(tmp_path, fresh=False)  # every file it wrote is recognised as ours


@pytest.mark.parametrize("args", [
    ["train", "--epochs", "0"],
    ["train", "--epochs", "ten"],
    ["train", "--epochs", "99999999999999999999"],  # reached TensorFlow before, after the data
    ["train", "--seed", "x"],
    ["train", "--bogus"],
    ["train", "--precision", "float16"],
    ["fly"],
    [],
    ["notebooks", "polish"],
    # An unset shell variable: --output "" meant the current folder, --data " " the download.
    ["train", "--output", ""],
    ["train", "--data", "   "],
])
def test_bad_arguments_exit_2_with_usage(args, capsys):
    # In this process: argparse exits the same way, without importing TensorFlow anew for
    # each case (7 s each as subprocesses). The command itself is run once below.
    from cnn_lesson.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "usage:" in error
    if args and not args[-1].strip():
        assert f"argument {args[1]}: is empty: give a path" in error


def test_a_notebook_name_too_long_is_one_error_line(capsys):
    from cnn_lesson.cli import main

    for action in ("check", "refresh"):
        assert main(["notebooks", action, "a" * 5000]) == 1  # a raw OSError before
        assert "error: No notebook aaaa" in capsys.readouterr().err


def test_the_command_exits_2_with_usage_for_bad_arguments():
    result = run_cli("fly")
    assert result.returncode == 2 and "usage:" in result.stderr


def test_the_lazy_names_the_type_checking_imports_and_all_agree():
    """cnn_lesson lists its public names three times (see its docstring): they must agree."""
    import ast

    import cnn_lesson

    tree = ast.parse((ROOT / "cnn_lesson" / "__init__.py").read_text())
    typing_block = next(node for node in tree.body if isinstance(node, ast.If))
    imported = {alias.name: node.module for node in typing_block.body
                for alias in node.names}
    assert imported == cnn_lesson._HOME
    assert sorted(cnn_lesson.__all__) == sorted(cnn_lesson._HOME)
    for name in cnn_lesson.__all__:
        assert getattr(cnn_lesson, name) is not None


def test_help_and_the_package_import_without_tensorflow():
    """`import cnn_lesson` and the commands that train nothing do not wait seconds for
    TensorFlow; a name that needs it imports it when first used."""
    code = ("import sys, cnn_lesson; from cnn_lesson.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "print('before', 'tensorflow' in sys.modules)\n"
            "cnn_lesson.create_model; print('after', 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert "before False" in result.stdout and "after True" in result.stdout, result.stderr


def test_a_file_where_the_output_folder_should_be_fails_before_training(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("keep me")
    started = time.monotonic()
    result = run_cli("train", "--data", "synthetic", "--output", str(blocker))
    assert result.returncode == 1
    assert "is a file" in result.stderr and "Epoch" not in result.stdout
    assert blocker.read_text() == "keep me"
    assert time.monotonic() - started < 60


def test_a_missing_data_path_is_a_clear_error(tmp_path):
    result = run_cli("train", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path))
    assert result.returncode == 1
    assert "error:" in result.stderr and "nowhere" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_killed_run_resumes_at_the_next_epoch(tmp_path):
    """SIGKILL after the first epoch is recorded; the same command finishes the run."""
    args = ["train", "--data", "synthetic", "--quick", "--epochs", "3", "--output", str(tmp_path)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen([sys.executable, "-m", "cnn_lesson", *args], cwd=ROOT,
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    metadata = tmp_path / "training_backup" / "training_metadata.json"
    try:
        _wait_for_epochs(process, tmp_path / "training_backup_history.json", 1)
        while not metadata.exists() and process.poll() is None:  # the backup follows the log
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not (tmp_path / "metrics.json").exists()
    assert (tmp_path / "best_model.keras").is_file()  # an interrupted run leaves a usable model

    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resuming from the backup" in result.stdout
    assert "Epoch 1/3" not in result.stdout and "Epoch 3/3" in result.stdout
    assert result.stdout.count("val_accuracy:") < 3  # the finished epochs did not run again
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and len(metrics["history"]["val_accuracy"]) == 3
    assert (tmp_path / "training_backup").is_dir()  # the finished run's weights, kept


def test_a_run_stopped_between_training_and_saving_is_restored_not_trained_again(
        tmp_path, capsys, monkeypatch):
    """Left by the third hostile pass: the trained weights were lost, and the Ctrl-C message
    ("continue from the last finished epoch") was wrong, when the command stopped after its
    training but before it saved the model."""
    import cnn_lesson
    from cnn_lesson.backup.saved import weights_fingerprint
    from cnn_lesson.cli import main

    args = ["train", "--quick", "--data", "synthetic", "--epochs", "2", "--output", str(tmp_path)]

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cnn_lesson, "evaluate", stopped)  # Ctrl-C while it measures the test set
        assert main(args) == 130
    said = capsys.readouterr().err  # the ninth pass: what the next run does, at this stage
    assert "Run the same command again: it restores the trained weights" in said, said
    assert not (tmp_path / "model.keras").exists()
    trained = json.loads((tmp_path / "training_backup_history.json").read_text())["weights"]

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "had already finished its 2 epoch(s), but its model was not saved" in out, out
    assert "Epoch 1/2" not in out
    saved = keras.saving.load_model(tmp_path / "model.keras")
    assert weights_fingerprint(saved) == trained  # the model it trained, saved now
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["history"]["loss"]) == 2

    assert main(args) == 0  # once saved, the same command trains again, as it always did
    assert "Epoch 1/2" in capsys.readouterr().out


def test_scripts_train_is_the_same_command():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train.py"), "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--epochs" in result.stdout and "--quick" in result.stdout


def _wait_for_epochs(process, log: Path, epochs: int, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        logged = json.loads(log.read_text()) if log.exists() else {}
        if len(logged.get("history", logged).get("loss", [])) >= epochs:  # (the log before 17)
            return
        time.sleep(0.05)
    raise AssertionError("the run ended, or took too long, before it could be killed")


def _wait_for_backup_epoch(process, metadata: Path, epoch: int, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads(metadata.read_text()).get("epoch", 0) >= epoch:
                return
        except (OSError, ValueError, AttributeError):  # not there yet, or being written
            pass
        time.sleep(0.02)
    raise AssertionError("the run ended, or took too long, before its backup reached "
                         f"epoch {epoch}")


def test_a_folder_in_use_or_holding_another_runs_backup_is_refused(tmp_path):
    """Issue 17, item 1, as reported: a run killed after epoch 2, then one on other data.

    While the first run trains, a second command on the folder refuses at once; after the
    kill, a command with other data refuses to continue the backup, and leaves it alone.
    """
    from tests import cifar_writer as writer

    images = tmp_path / "images"
    writer.write_image_folders(images, writer.make_data(per_class_per_batch=2))
    output = tmp_path / "o"
    args = ["train", "--quick", "--epochs", "30", "--output", str(output)]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("CNN_LESSON_QUICK", None)
    first = subprocess.Popen([sys.executable, "-m", "cnn_lesson", *args, "--data", "synthetic"],
                             cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        _wait_for_epochs(first, output / "training_backup_history.json", 1)
        second = run_cli(*args, "--data", "synthetic")
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"error: Another training run (process {first.pid}) is using" in second.stderr
        assert "Epoch" not in second.stdout and "Data:" not in second.stdout
        _wait_for_epochs(first, output / "training_backup_history.json", 2)
        # Keras writes its backup after our epoch log, weights first, metadata last: kill only
        # once the metadata says epoch 2, so the backup is whole (not "damaged") when killed.
        _wait_for_backup_epoch(first, output / "training_backup" / "training_metadata.json", 2)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    backup = {path: path.read_bytes() for path in (output / "training_backup").iterdir()}

    other = run_cli(*args, "--data", str(images), env={"CNN_LESSON_CACHE": str(tmp_path / "c")})
    assert other.returncode == 1 and "Traceback" not in other.stderr
    error = other.stderr.strip().splitlines()[-1]
    assert error.startswith("error: The output folder o/ holds the backup of another run")
    assert "data: SYNTHETIC" in error and "CIFAR-10 (image folders) (this run)" in error
    assert "--fresh" in error and "--output DIR" in error and str(tmp_path) not in error
    assert "Resuming" not in other.stdout and "Epoch" not in other.stdout
    assert not (output / "metrics.json").exists()
    assert {path: path.read_bytes() for path in (output / "training_backup").iterdir()} == backup


def test_a_trained_model_of_another_run_is_never_replaced_without_fresh(tmp_path):
    """A quick or synthetic run replaced the folder's model silently before: lesson 4 then
    showed a one-epoch synthetic model as lesson 3's."""
    import json

    from cnn_lesson.cli import MODEL_DIGESTS, check_replacing, model_digests
    from cnn_lesson.data.synthetic import SYNTHETIC_LABEL
    from cnn_lesson.errors import OutputError

    real = {"data_source": "CIFAR-10 (image folders)", "data": "a1b2", "quick": False,
            "seed": 42, "precision": "mixed_bfloat16", "epochs": 10}
    smoke = dict(real, data_source=SYNTHETIC_LABEL, data="c3d4", quick=True, epochs=1)
    model = tmp_path / "model.keras"
    check_replacing(tmp_path, smoke, fresh=False)  # no model: nothing to lose
    from cnn_lesson.model import create_model

    create_model().save(model)  # lesson 3's: the course's network
    with pytest.raises(OutputError, match="such as lesson 3's") as refused:
        check_replacing(tmp_path, smoke, fresh=False)
    assert "--fresh" in str(refused.value) and "--output" in str(refused.value)
    check_replacing(tmp_path, real, fresh=False)  # the same recipe in full replaces it
    model.write_bytes(b"this command's model")
    (tmp_path / "metrics.json").write_text(json.dumps(
        {**real, MODEL_DIGESTS: model_digests(tmp_path), "test_accuracy": 0.7}))
    check_replacing(tmp_path, real, fresh=False)  # the same run again
    for other, shown in ((smoke, "quick True"), (dict(real, epochs=3), "epochs 3"),
                         (dict(real, seed=1), "seed 1"),
                         # another image folder, with the same label (the hostile pass)
                         (dict(real, data="e5f6"), "this run: the same settings, other images")):
        with pytest.raises(OutputError, match="another run") as refused:
            check_replacing(tmp_path, other, fresh=False)
        assert shown in str(refused.value)
        check_replacing(tmp_path, other, fresh=True)
    # Lesson 3 saved its model over this command's since: its metrics.json no longer
    # describes model.keras, and a smoke run that matches the old metrics.json is refused.
    (tmp_path / "metrics.json").write_text(json.dumps(
        {**smoke, MODEL_DIGESTS: model_digests(tmp_path)}))
    check_replacing(tmp_path, smoke, fresh=False)
    model.write_bytes(b"lesson 3's newer model")
    with pytest.raises(OutputError, match="such as lesson 3's"):
        check_replacing(tmp_path, smoke, fresh=False)
    assert model.read_bytes() == b"lesson 3's newer model"
    # The third hostile pass: the reference script's model.h5, or the best model of a
    # finished lesson 3 run, alone in the folder, was replaced by a smoke run.
    model.unlink()
    for name in ("model.h5", "best_model.keras"):
        (tmp_path / name).write_bytes(b"a trained model")
        with pytest.raises(OutputError, match=rf"already holds a trained model \({name}\) of "
                           "another run"):
            check_replacing(tmp_path, smoke, fresh=False)
        (tmp_path / name).unlink()
    # A metrics.json of the earlier version recorded model.keras' digest alone: still its run.
    model.write_bytes(b"this command's model, earlier version")
    (tmp_path / "metrics.json").write_text(json.dumps(
        {**smoke, "model.keras digest": model_digests(tmp_path)["model.keras"]}))
    check_replacing(tmp_path, smoke, fresh=False)
    model.unlink()
    # An unfinished run's best model is left to its backup, which only the same run resumes.
    (tmp_path / "best_model.keras").write_bytes(b"an interrupted run's best model")
    (tmp_path / "training_backup_history.json").write_text(
        '{"history": {"loss": [2.0]}, "run": {}}')
    check_replacing(tmp_path, smoke, fresh=False)


def test_files_of_another_program_with_the_artifacts_names_are_not_replaced(tmp_path):
    """The CLI guarded only model.keras: another program's metrics.json, history.json or a
    photo named sample_images.png in --output was overwritten."""
    from PIL import Image

    from cnn_lesson.cli import check_foreign_files, main
    from cnn_lesson.errors import OutputError

    (tmp_path / "metrics.json").write_text('{"sales": [1, 2]}')
    (tmp_path / "history.json").write_text("[1, 2]")
    Image.new("RGB", (4, 4)).save(tmp_path / "sample_images.png")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert main(["train", "--quick", "--data", "synthetic", "--output", str(tmp_path)]) == 1
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    with pytest.raises(OutputError, match="holds sample_images.png, metrics.json, history.json, "
                       "which this command would replace but which the course did not write"):
        check_foreign_files(tmp_path, fresh=False)
    check_foreign_files(tmp_path, fresh=True)
    # What the course writes passes: a matplotlib PNG, a history, an HDF5 and a zip file.
    import matplotlib.pyplot as plt

    from cnn_lesson.files import write_json

    for path in tmp_path.iterdir():
        path.unlink()
    figure = plt.figure()
    figure.savefig(tmp_path / "sample_images.png")
    plt.close(figure)
    write_json(tmp_path / "history.json", {"loss": [1.0]})
    write_json(tmp_path / "metrics.json", {"history": {"loss": [1.0]}})
    (tmp_path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(8))
    import zipfile

    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    check_foreign_files(tmp_path, fresh=False)


def test_a_run_refused_for_a_damaged_backup_leaves_the_sample_grid(tmp_path, capsys):
    """The third hostile pass: the grid was written before `train` found the damage."""
    import matplotlib.pyplot as plt

    from cnn_lesson.cli import main

    figure = plt.figure()
    figure.savefig(tmp_path / "sample_images.png")  # an earlier run's grid
    plt.close(figure)
    before = (tmp_path / "sample_images.png").read_bytes()
    (tmp_path / "training_backup").mkdir()  # no epoch log, no weights: damaged
    assert main(["train", "--quick", "--data", "synthetic", "--output", str(tmp_path)]) == 1
    assert "damaged" in capsys.readouterr().err
    assert (tmp_path / "sample_images.png").read_bytes() == before


def test_a_refused_run_writes_nothing(tmp_path):
    from cnn_lesson.cli import main

    (tmp_path / "model.keras").write_bytes(b"lesson 3's model")
    assert main(["train", "--quick", "--data", "synthetic", "--output", str(tmp_path)]) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.keras"]


def test_a_model_of_the_users_own_is_not_replaced_by_a_full_run(tmp_path, capsys):
    """The fifth hostile pass: any HDF5 or zip file named model.h5 or best_model.keras counted
    as the course's, and a full run replaced it."""
    from cnn_lesson.cli import check_replacing, is_course_model
    from cnn_lesson.errors import OutputError

    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="my_model")
    own.save(tmp_path / "model.h5")
    own.save(tmp_path / "best_model.keras")
    full = {"data_source": "CIFAR-10", "data": "x", "quick": False, "seed": 0,
            "precision": "float32", "epochs": 10}
    with pytest.raises(OutputError, match="hold another network than the course's"):
        check_replacing(tmp_path, full, fresh=False)
    check_replacing(tmp_path, full, fresh=True)
    import cnn_lesson

    cnn_lesson.save_model(cnn_lesson.create_model(), tmp_path)  # the course's: replaced
    (tmp_path / "best_model.keras").unlink()
    assert is_course_model(tmp_path / "model.h5") and is_course_model(tmp_path / "model.keras")
    check_replacing(tmp_path, full, fresh=False)


def test_a_variant_of_the_courses_network_is_not_taken_for_it(tmp_path):
    """The sixth hostile pass: the course's network was recognised by its name alone, so a
    full run replaced a learner's `create_model(filters=(8, 8, 8))`, which has that name."""
    import cnn_lesson
    from cnn_lesson.cli import check_replacing, is_course_model
    from cnn_lesson.errors import OutputError

    full = {"data_source": "CIFAR-10", "data": "x", "quick": False, "seed": 0,
            "precision": "float32", "epochs": 10}
    variant = tmp_path / "variant"
    variant.mkdir()
    cnn_lesson.save_model(cnn_lesson.create_model(filters=(8, 8, 8)), variant)
    assert not is_course_model(variant / "model.keras")
    assert not is_course_model(variant / "model.h5")
    with pytest.raises(OutputError, match="hold another network than the course's"):
        check_replacing(variant, full, fresh=False)
    course = tmp_path / "course"
    course.mkdir()
    cnn_lesson.save_model(cnn_lesson.create_model(), course)
    assert is_course_model(course / "model.keras") and is_course_model(course / "model.h5")
    check_replacing(course, full, fresh=False)


@pytest.mark.parametrize("log", ["{}", "[]", '{"history": [1.0]}', "not JSON"])
def test_a_best_model_beside_a_log_of_no_run_is_guarded(tmp_path, log):
    """The sixth hostile pass: best_model.keras went unguarded as soon as any epoch log
    was there, even `{}`; only a run's is its backup's to guard."""
    from cnn_lesson.backup.saved import BEST_MODEL_FILE, EPOCH_LOG_FILE
    from cnn_lesson.cli import check_replacing
    from cnn_lesson.errors import OutputError

    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="my_model")
    own.save(tmp_path / BEST_MODEL_FILE)
    (tmp_path / EPOCH_LOG_FILE).write_text(log)
    full = {"data_source": "CIFAR-10", "data": "x", "quick": False, "seed": 0,
            "precision": "float32", "epochs": 10}
    with pytest.raises(OutputError, match=BEST_MODEL_FILE):
        check_replacing(tmp_path, full, fresh=False)
    (tmp_path / EPOCH_LOG_FILE).write_text('{"history": {"loss": [1.0]}, "run": {}}')
    check_replacing(tmp_path, full, fresh=False)  # a run's: its backup's to guard


@pytest.mark.parametrize("name", ["model.keras", "best_model.keras", "metrics.json"])
def test_a_folder_named_like_a_file_of_the_run_is_named_as_a_folder(tmp_path, capsys, name):
    """The sixth hostile pass: a folder called model.keras was "another network"."""
    from cnn_lesson.cli import main

    (tmp_path / name).mkdir()
    args = ["train", "--quick", "--data", "synthetic", "--epochs", "1", "--output", str(tmp_path)]
    for fresh in ([], ["--fresh"]):
        assert main(args + fresh) == 1
        said = capsys.readouterr().err
        assert f"{name} is a folder, where training saves its file {name}" in said, said
        assert "another network" not in said
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]
