"""The seventh hostile pass (issue 17) on the command line: a large picture named like one
of its plots, a run stopped between its model and its metrics, an output folder inside the
data, Ctrl-C before the command starts, and doctor's output folder beside a bad setting."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from cnn_lesson.cli import main

QUICK = ["train", "--quick", "--data", "synthetic", "--epochs", "1"]


def test_a_picture_too_large_to_open_named_like_a_plot_is_kept_not_a_traceback(tmp_path,
                                                                                capsys):
    """PIL's DecompressionBombError went through `_written_by_the_course` raw."""
    Image.new("1", (20_000, 20_000)).save(tmp_path / "training_history.png")
    assert main(QUICK + ["--output", str(tmp_path)]) == 1
    said = capsys.readouterr().err
    assert said.startswith("error: ") and "training_history.png" in said
    assert "the course did not write" in said and "Traceback" not in said
    assert sorted(path.name for path in tmp_path.iterdir()) == ["training_history.png"]


@pytest.mark.slow  # trains three runs: half a minute
def test_a_run_stopped_after_saving_its_model_is_not_taken_for_another_run(tmp_path, capsys):
    """Killed after model.keras, before metrics.json: the same command said the folder held
    "a trained model of another run", although it held this run's own result."""
    args = QUICK + ["--output", str(tmp_path)]
    assert main(args) == 0
    for name in ("metrics.json", "model.h5", "history.json"):
        (tmp_path / name).unlink()  # as a kill right after model.keras leaves it
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 1
    # with other settings it is another run's model, and refused as before
    (tmp_path / "metrics.json").unlink()
    assert main(QUICK[:-1] + ["2", "--output", str(tmp_path)]) == 1
    assert "already holds a trained model (model.keras" in capsys.readouterr().err


def test_an_output_folder_inside_the_image_folders_is_refused(tmp_path, capsys):
    data = tmp_path / "images"
    (data / "train" / "cat").mkdir(parents=True)
    for output in (data / "train" / "cat", data / "train", data / "test" / "new"):
        assert main(["train", "--data", str(data), "--output", str(output)]) == 1
        said = capsys.readouterr().err
        assert "is inside the data folder" in said and "--output" in said, said
    assert not (data / "test").exists() and list((data / "train" / "cat").iterdir()) == []
    # beside train/ and test/ (the eighth pass: refused at first), the folder is not in the way
    main(["train", "--data", str(data), "--output", str(data / "out")])
    assert "inside the data folder" not in capsys.readouterr().err


def test_ctrl_c_before_the_command_starts_is_one_line(tmp_path, monkeypatch, capsys):
    """A SIGINT in the first moments, while Python imported the command, was a traceback."""
    import cnn_lesson.cli as cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["--help"]) == 130
    assert capsys.readouterr().err.strip() == ("Interrupted before the command started: "
                                               "nothing was done.")
    # and in the import itself, which `python -m cnn_lesson` runs before main
    (tmp_path / "sitecustomize.py").write_text(
        "import sys, types\n"
        "class Interrupting(types.ModuleType):\n"
        "    def __getattr__(self, name):\n"
        "        raise KeyboardInterrupt\n"
        "sys.modules['cnn_lesson.cli'] = Interrupting('cnn_lesson.cli')\n")
    environment = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}"
                   + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "cnn_lesson", "--help"], env=environment,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert "Interrupted before the command started" in done.stderr


def test_doctor_checks_the_output_folder_that_is_set_beside_a_bad_setting(tmp_path,
                                                                         monkeypatch):
    """With CNN_LESSON_SEED=abc, doctor checked the default output folder, not the one
    CNN_LESSON_OUTPUT named."""
    from cnn_lesson import doctor

    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    monkeypatch.setenv("CNN_LESSON_SEED", "abc")
    monkeypatch.setenv("CNN_LESSON_OUTPUT", str(a_file))
    monkeypatch.setattr(doctor, "check_packages", lambda: [])
    checks = {check.name: check for check in doctor.run_checks() if check.name in
              ("settings", "output")}
    assert "CNN_LESSON_SEED" in checks["settings"].message
    assert checks["output"].status == doctor.PROBLEM and str(a_file) in checks["output"].message
    monkeypatch.setenv("CNN_LESSON_OUTPUT", "~nosuchuser_xyz/out")  # itself the bad one
    names = [check.name for check in doctor.run_checks()]
    assert "output" not in names and names.count("settings") >= 1


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.delenv("CNN_LESSON_DATA", raising=False)


@pytest.mark.parametrize("args, said", [
    (["notebooks", "refresh"], "The notebook being run was left as it was"),
    (["notebooks", "check"], "no notebook was changed"),
    (["doctor"], "Interrupted."),
])
def test_ctrl_c_says_what_each_command_left(monkeypatch, capsys, args, said):
    """Ctrl-C in `notebooks refresh` said to run it again "to continue from the last
    finished epoch"."""
    from cnn_lesson import doctor, notebooks

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(notebooks, "main", interrupted)
    monkeypatch.setattr(doctor, "main", interrupted)
    assert main(args) == 130
    message = capsys.readouterr().err
    assert said in message and "epoch" not in message


def test_a_damaged_log_beside_a_best_model_is_called_damaged_not_another_run(tmp_path, capsys):
    """The command refused it as "a trained model (best_model.keras) of another run", before
    the backup's own check could say what is wrong with it."""
    (tmp_path / "training_backup").mkdir()
    (tmp_path / "training_backup" / "training_metadata.json").write_text('{"epoch": 1}')
    (tmp_path / "training_backup_history.json").write_text('{"history": [], "run": {}}')
    (tmp_path / "best_model.keras").write_bytes(b"an interrupted run's best model")
    assert main(QUICK + ["--output", str(tmp_path)]) == 1
    said = capsys.readouterr().err
    # the backup's own message (here: a log without the run's format), not the model's
    assert "The training backup in" in said and "already holds a trained model" not in said


@pytest.mark.slow  # trains three runs: half a minute
def test_an_interrupted_fresh_run_continues_without_fresh(tmp_path, capsys, monkeypatch):
    """The eighth hostile pass: a --fresh run over an earlier run, interrupted, was refused
    as "another run" without --fresh and started over with it."""
    import cnn_lesson

    assert main(QUICK + ["--output", str(tmp_path)]) == 0
    args = QUICK[:-1] + ["3", "--output", str(tmp_path)]
    real_train = cnn_lesson.train

    def stopped_after_two(*args, **kwargs):  # Ctrl-C after the second epoch
        class Stop(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    raise KeyboardInterrupt
        kwargs["callbacks"] = [*kwargs.get("callbacks", ()), Stop()]
        return real_train(*args, **kwargs)

    import keras

    with monkeypatch.context() as patch:
        patch.setattr(cnn_lesson, "train", stopped_after_two)
        assert main(args + ["--fresh"]) == 130
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "Epoch 1/3" not in out, out


def test_a_quick_run_does_not_take_a_full_runs_unrecorded_model_for_its_own(tmp_path, capsys):
    """The eighth hostile pass: a run killed after saving model.keras, then a quick run with
    the same seed and epochs on other images (or in another mode), replaced its model
    without --fresh."""
    from tests import cifar_writer as writer

    for name, seed in (("a", 0), ("b", 7)):  # two image folders: one label, other images
        writer.write_image_folders(tmp_path / name, writer.make_data(per_class_per_batch=2,
                                                                     seed=seed))
    output = tmp_path / "o"
    run = ["train", "--quick", "--epochs", "1", "--output", str(output), "--data"]
    assert main(run + [str(tmp_path / "a")]) == 0
    (output / "metrics.json").unlink()  # as a kill after model.keras leaves it
    saved = (output / "model.keras").read_bytes()
    assert main(run + [str(tmp_path / "b")]) == 1
    assert "already holds a trained model" in capsys.readouterr().err
    assert (output / "model.keras").read_bytes() == saved


def test_run_facts_the_course_records_are_refused_in_another_type(tmp_path):
    """The eighth hostile pass: `run={"epochs": 1.0}` was accepted, then read back as a
    damaged backup; `{"data source": None}` (the official download's source) too."""
    from cnn_lesson.backup import resumable_training
    from cnn_lesson.errors import SettingsError

    for run in ({"seed": "one"}, {"training images": 1.5}, {"batch size": "32"}):
        with pytest.raises(SettingsError, match="a fact the course records itself"):
            resumable_training(tmp_path / "x", run=run)
    for run in ({"epochs": 1.0}, {"model": True}):  # since the ninth pass: not at all
        with pytest.raises(SettingsError, match="which the course reads from the model and fit"):
            resumable_training(tmp_path / "x", run=run)
    resumable_training(tmp_path / "y", run={"data source": None}).release()
