"""The ninth hostile pass (issue 17, /tmp/pass9/B.md) on the command line: a full run that
replaced the model of a run killed before its metrics.json, a pipe named model.keras that
hung, data paths that raised, the same images from another kind of source refused, wrong
Ctrl-C advice, an output folder inside a linked train/, and a full standard output."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnn_lesson
from cnn_lesson.cli import check_replacing, main
from cnn_lesson.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["train", "--quick", "--data", "synthetic", "--epochs", "1"]


@pytest.fixture(scope="module")
def killed_before_metrics(tmp_path_factory):
    """A folder left by a command killed after it saved model.keras, before metrics.json."""
    folder = tmp_path_factory.mktemp("killed")
    assert main([*QUICK, "--output", str(folder)]) == 0
    for name in ("model.h5", "history.json", "metrics.json", "training_history.png"):
        (folder / name).unlink()
    return folder


@pytest.fixture
def killed(killed_before_metrics, tmp_path):
    return shutil.copytree(killed_before_metrics, tmp_path / "run")


def _logged_run(folder: Path) -> dict:
    """The run facts of the folder's epoch log, named as check_replacing names them."""
    run = json.loads((folder / "training_backup_history.json").read_text())["run"]
    return {"data_source": run["data source"], "data": run["command's data"],
            "quick": run["quick"], "seed": run["seed"], "precision": run["precision"],
            "epochs": run["epochs"]}


def test_a_full_run_does_not_replace_the_model_of_a_run_killed_before_its_metrics(killed):
    """Finding 1: a full run with other settings replaced it without --fresh (no metrics.json
    described the model); findings 10c: the refusal called it "lesson 3's"."""
    other = {**_logged_run(killed), "data_source": "CIFAR-10 (image folders)", "quick": False,
             "epochs": 3}
    with pytest.raises(OutputError, match=r"another run \(its epoch log says .*quick True, "
                                          r"epochs 1; this run: .*quick False, epochs 3"):
        check_replacing(killed, other, fresh=False)
    check_replacing(killed, other, fresh=True)
    check_replacing(killed, _logged_run(killed), fresh=False)  # the same run: its own


def test_the_same_images_from_another_kind_of_source_are_the_same_run(killed):
    """Finding 5: the kind of source (an archive, a batches folder, image folders) was
    compared, where the images' fingerprint already tells the runs apart."""
    check_replacing(killed, {**_logged_run(killed), "data_source": "CIFAR-10 (batches folder)"},
                    fresh=False)
    (killed / "metrics.json").write_text(json.dumps({**_logged_run(killed), "model digests": {
        name: cnn_lesson.cli.file_digest(killed / name)
        for name in cnn_lesson.cli.GUARDED_MODELS}}))
    check_replacing(killed, {**_logged_run(killed), "data_source": "CIFAR-10 (batches folder)"},
                    fresh=False)
    with pytest.raises(OutputError, match="other images"):
        check_replacing(killed, {**_logged_run(killed), "data": "another fingerprint"},
                        fresh=False)


def test_a_pipe_named_model_keras_is_refused_not_waited_on(killed):
    """Finding 2: reading the pipe as a model waited forever."""
    (killed / "model.keras").unlink()
    os.mkfifo(killed / "model.keras")
    process = subprocess.run([sys.executable, "-m", "cnn_lesson", *QUICK, "--output",
                              str(killed)], cwd=ROOT, capture_output=True, text=True,
                             timeout=240, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert process.returncode == 1, process.stderr[-2000:]
    assert process.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in process.stderr


def test_a_data_path_that_cannot_be_looked_at_is_left_to_the_loaders_message(tmp_path, capsys):
    """Finding 3: a name too long (or a folder that cannot be entered) raised OSError from
    the check that the output folder is not among the images."""
    from cnn_lesson.cli import refuse_output_in_data

    too_long = tmp_path / ("a" * 300) / "data"
    refuse_output_in_data(tmp_path / "out", too_long)  # no OSError: the loader says it
    assert main([*QUICK[:2], "--data", str(too_long), "--output", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and "Traceback" not in error


def test_an_output_folder_inside_a_linked_train_folder_is_refused(tmp_path):
    """Finding 10a: the splits were compared unresolved, the output folder resolved."""
    from cnn_lesson.cli import refuse_output_in_data

    (tmp_path / "store" / "train_images").mkdir(parents=True)
    (tmp_path / "data" / "test").mkdir(parents=True)
    (tmp_path / "data" / "train").symlink_to(tmp_path / "store" / "train_images")
    with pytest.raises(OutputError, match="inside the data folder"):
        refuse_output_in_data(tmp_path / "store" / "train_images" / "out", tmp_path / "data")
    refuse_output_in_data(tmp_path / "store" / "out", tmp_path / "data")  # beside: fine


@pytest.mark.slow  # two quick runs of the command: 22 s
def test_ctrl_c_advice_fits_fresh_and_the_stage_reached(tmp_path, capsys, monkeypatch):
    """Finding 6: with --fresh, "run the same command again to continue" started over;
    finding 9: after model.keras was saved, the rerun trains again, which it did not say."""
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(cnn_lesson, "train", stopped)
        assert main([*QUICK, "--output", str(tmp_path), "--fresh"]) == 130
    said = capsys.readouterr().err
    assert "Run it again without --fresh to continue from the last finished epoch" in said
    assert "add --fresh" not in said
    with monkeypatch.context() as patch:
        patch.setattr(cnn_lesson.saving, "save_history", stopped)
        assert main([*QUICK, "--output", str(tmp_path)]) == 130
    assert "model.keras was written, metrics.json not" in capsys.readouterr().err
    assert main([*QUICK, "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out  # it trains again, as it said (Keras' line of the epoch)
    assert " - val_accuracy: " in out and "already finished" not in out


def test_a_full_standard_output_is_one_error_line():
    """Finding 10i: `doctor > /dev/full` ended in a raw OSError."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        process = subprocess.run([sys.executable, "-m", "cnn_lesson", "doctor"], cwd=ROOT,
                                 stdout=full, stderr=subprocess.PIPE, text=True, timeout=240,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().splitlines()[-1].startswith(
        "error: Could not print the command's output (No space left on device)")


def test_ctrl_c_while_model_h5_is_written_says_the_run_trains_again(tmp_path, capsys,
                                                                    monkeypatch):
    """The tenth pass (B.md 6): model.keras was written, yet the message said the rerun
    restores the weights "without training again"."""
    import keras

    real_save = keras.Model.save

    def save(self, path, *args, **kwargs):
        if str(path).endswith(".h5"):
            raise KeyboardInterrupt
        return real_save(self, path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(keras.Model, "save", save)
        assert main([*QUICK, "--output", str(tmp_path)]) == 130
    said = capsys.readouterr().err
    assert "model.keras was written, metrics.json not" in said and "without training" not in said


@pytest.mark.slow  # three quick runs of the command: 30 s
def test_a_fresh_run_stopped_after_training_resumes_without_fresh(tmp_path, capsys,
                                                                  monkeypatch):
    """The tenth pass (B.md 4): a --fresh run over another run's saved models, stopped after
    its training, was refused when run again without --fresh (as the message advised), since
    metrics.json still described the older run: --fresh trained everything again."""
    assert main([*QUICK, "--output", str(tmp_path)]) == 0

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    other = [*QUICK[:-1], "2", "--output", str(tmp_path)]  # two epochs: another run
    with monkeypatch.context() as patch:
        patch.setattr(cnn_lesson, "evaluate", stopped)
        assert main([*other, "--fresh"]) == 130
    assert "Run it again without --fresh" in capsys.readouterr().err
    assert main(other) == 0
    out = capsys.readouterr().out
    assert "had already finished its 2 epoch(s)" in out, out
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 2
