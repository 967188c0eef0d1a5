import numpy as np
import pytest

from cnn_lesson.errors import ModelFileError, OutputError
from cnn_lesson.model import create_model
from cnn_lesson.saving import load_model, save_model
from cnn_lesson.training import compile_model, normalize_images, train
from tests.helpers import random_images


@pytest.fixture(scope="module")
def trained():
    images, labels = random_images(64, seed=2)
    model = compile_model(create_model())
    train(model, (images[:48], labels[:48]), (images[48:], labels[48:]), epochs=1,
          batch_size=16, verbose=0)
    return model, normalize_images(images[:8])


def test_both_formats_load_back_with_the_same_predictions(trained, tmp_path):
    model, sample = trained
    paths = save_model(model, tmp_path)
    assert set(paths) == {"keras", "h5"} and all(p.is_file() for p in paths.values())
    expected = model.predict(sample, verbose=0)
    for path in paths.values():
        loaded = load_model(path)
        np.testing.assert_allclose(loaded.predict(sample, verbose=0), expected, atol=1e-5)


def test_a_loaded_model_can_train_further(trained, tmp_path):
    model, _ = trained
    paths = save_model(model, tmp_path)
    images, labels = random_images(32, seed=4)
    for path in paths.values():
        history = load_model(path).fit(normalize_images(images), labels, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_keras_file_keeps_its_optimizer_also_when_saved_twice(trained, tmp_path):
    model, _ = trained
    (tmp_path / "first").mkdir()
    save_model(model, tmp_path / "first")
    save_model(model, tmp_path)  # a learner runs the saving cell again
    loaded = load_model(tmp_path / "model.keras")
    assert type(loaded.optimizer).__name__ == "Adam"
    assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() > 0


def test_missing_truncated_and_non_model_files_get_a_clear_error(trained, tmp_path):
    model, _ = trained
    with pytest.raises(ModelFileError, match="03_training.ipynb"):
        load_model(tmp_path / "model.keras")
    paths = save_model(model, tmp_path)
    for path in paths.values():
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(ModelFileError, match="python -m cnn_lesson train"):
            load_model(path)
    notes = tmp_path / "notes.keras"
    notes.write_text("not a model")
    with pytest.raises(ModelFileError, match="not a complete"):
        load_model(notes)
    text_file = tmp_path / "model.txt"
    text_file.write_text("x")
    with pytest.raises(ModelFileError, match="not a .keras or .h5"):
        load_model(text_file)


def test_a_failed_save_leaves_the_previous_model_intact(trained, tmp_path, monkeypatch):
    model, sample = trained
    save_model(model, tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in ("model.keras", "model.h5")}

    def fail_midway(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(model), "save", fail_midway)
    with pytest.raises(OutputError, match="No space left"):
        save_model(model, tmp_path)
    after = {name: (tmp_path / name).read_bytes() for name in ("model.keras", "model.h5")}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5", "model.keras"]


def test_history_round_trip_and_errors(tmp_path):
    from cnn_lesson.saving import load_history, save_history

    with pytest.raises(ModelFileError, match="03_training"):
        load_history(tmp_path)
    save_history({"accuracy": [np.float32(0.5)], "loss": [1.0]}, tmp_path)
    assert load_history(tmp_path) == {"accuracy": [0.5], "loss": [1.0]}
    (tmp_path / "history.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="damaged"):
        load_history(tmp_path)


@pytest.mark.parametrize("history, shown", [
    ({"accuracy": []}, "it has no 'loss'"),
    ({"accuracy": [0.5]}, "it has no 'loss'"),
    ({"accuracy": [], "loss": []}, "'loss' holds no epochs"),
    ({"accuracy": [1, 2], "loss": [1]}, "'accuracy' has 2 value(s) and 'loss' 1"),
    ({"accuracy": [0.5], "loss": [1.0], "val_loss": [1.0, 2.0]}, "'val_loss' has 2 value(s)"),
    ({"accuracy": [0.5], "loss": [float("nan")]}, "'loss' holds NaN or an infinite value"),
], ids=["empty", "no loss", "no epochs", "unequal", "unequal val_loss", "nan"])
def test_a_history_that_lessons_4_and_5_cannot_draw_is_damaged(tmp_path, history, shown):
    """Hostile test, item F: lesson 4 would fail later with a KeyError or in matplotlib."""
    import json

    from cnn_lesson.saving import load_history

    (tmp_path / "history.json").write_text(json.dumps(history))
    with pytest.raises(ModelFileError) as refused:
        load_history(tmp_path)
    message = str(refused.value)
    assert "history.json is damaged: " + shown in message and "03_training" in message


def test_lesson_4_needs_the_validation_history(trained, tmp_path):
    from cnn_lesson.saving import load_trained_model, save_history

    save_model(trained[0], tmp_path)
    save_history({"accuracy": [0.5], "loss": [1.0], "val_loss": [1.1]}, tmp_path)
    with pytest.raises(ModelFileError, match="damaged: it has no 'val_accuracy', which lesson 4 "
                                             "shows.*03_training"):
        load_trained_model(tmp_path, random_images(20))


def test_a_model_path_too_long_for_the_file_system(tmp_path):
    with pytest.raises(ModelFileError, match="File name too long.*03_training"):
        load_model(tmp_path / ("c" * 300 + ".keras"))


def _same_predictions(first, second, images):
    np.testing.assert_allclose(first.predict(normalize_images(images), verbose=0),
                               second.predict(normalize_images(images), verbose=0), atol=1e-5)


def test_the_stand_in_is_kept_apart_and_trained_again_every_time(tmp_path, capsys):
    from cnn_lesson.saving import load_trained_model

    images, labels = random_images(120, seed=6)
    first = load_trained_model(tmp_path, (images, labels), quick_images=60)
    said = capsys.readouterr().out
    assert first.stand_in and first.kind == "the quick stand-in"
    assert "STAND-IN (1 epoch on 60 images)" in said and "lesson 3" in said
    assert said.strip() == first.description and str(tmp_path) not in said
    assert len(first.history["loss"]) == 1
    assert first.folder == tmp_path / "stand_in"
    assert not (tmp_path / "model.keras").exists() and not (tmp_path / "model.h5").exists()
    assert not (tmp_path / "history.json").exists()
    for name in ("model.keras", "model.h5"):  # lesson 4's load-back cell works for it too
        _same_predictions(load_model(first.folder / name), first.model, images[:4])

    second = load_trained_model(tmp_path, (images, labels), quick_images=60)
    assert second.stand_in and "STAND-IN" in capsys.readouterr().out
    assert not (tmp_path / "model.keras").exists()
    _same_predictions(second.model, first.model, images[:4])  # same seed, same stand-in


def test_lesson_3s_model_is_loaded_as_such(trained, tmp_path, capsys):
    from cnn_lesson.saving import load_trained_model, save_history

    model, sample = trained
    save_model(model, tmp_path)
    save_history({"accuracy": [0.3, 0.5], "loss": [2.0, 1.5], "val_accuracy": [0.3, 0.4],
                  "val_loss": [2.1, 1.7]}, tmp_path)
    (tmp_path / "stand_in").mkdir()  # an earlier stand-in does not matter any more
    result = load_trained_model(tmp_path, random_images(20))
    said = capsys.readouterr().out
    assert not result.stand_in and result.kind == "lesson 3's model"
    assert result.folder == tmp_path and result.history["loss"] == [2.0, 1.5]
    assert said.strip() == ("Loaded model.keras from the output folder: lesson 3's model, "
                            "2 epochs of training.") == result.description
    np.testing.assert_allclose(result.model.predict(sample, verbose=0),
                               model.predict(sample, verbose=0), atol=1e-5)


def test_a_damaged_model_raises_and_is_never_replaced(trained, tmp_path):
    from cnn_lesson.saving import load_trained_model, save_history

    images, labels = random_images(120, seed=6)
    damaged = tmp_path / "model.keras"
    damaged.write_bytes(b"broken")
    with pytest.raises(ModelFileError):
        load_trained_model(tmp_path, (images, labels), quick_images=60)
    assert damaged.read_bytes() == b"broken"  # never replaced behind the learner's back
    assert not (tmp_path / "stand_in").exists()  # and no stand-in passes for it

    other = tmp_path / "history_only"
    other.mkdir()
    save_history({"accuracy": [0.5], "loss": [1.0]}, other)  # lesson 3 stopped mid-save
    with pytest.raises(ModelFileError, match="03_training"):
        load_trained_model(other, (images, labels), quick_images=60)
    assert not (other / "model.keras").exists()


def test_lesson_4s_checkpoint_passes_a_stand_in_and_catches_a_bad_lesson_3_model(tmp_path,
                                                                                capsys):
    """Lesson 4's cell: check_accuracy(..., full_run=trained.full_run)."""
    from cnn_lesson.checkpoints import CheckpointError, check_accuracy
    from cnn_lesson.config import Settings
    from cnn_lesson.saving import TrainedModel

    full_mode = Settings(data_source=None, quick=False, output_dir=tmp_path, seed=0)
    quick_mode = Settings(data_source=None, quick=True, output_dir=tmp_path, seed=0)
    ten_epochs, one_epoch = {"loss": [1.0] * 10}, {"loss": [1.0]}
    for stand_in, history, lesson, passes in (
            (True, one_epoch, full_mode, True), (True, one_epoch, quick_mode, True),
            (False, one_epoch, quick_mode, True), (False, one_epoch, full_mode, True),
            (False, ten_epochs, quick_mode, True), (False, ten_epochs, full_mode, False)):
        trained = TrainedModel(None, history, tmp_path, stand_in, "")
        full_run = trained.full_run
        if passes:
            check_accuracy(0.25, "test accuracy", lesson, typical=(0.65, 0.75),
                           full_run=full_run, context=trained.kind)
            assert "not a measurement" in capsys.readouterr().out
        else:
            with pytest.raises(CheckpointError, match="far below"):
                check_accuracy(0.25, "test accuracy", lesson, typical=(0.65, 0.75),
                               full_run=full_run, context=trained.kind)
    check_accuracy(0.70, "test accuracy", full_mode, typical=(0.65, 0.75), full_run=True)


def test_lesson_5s_model_loads_in_a_fresh_process(tmp_path):
    """Lesson 5's model is compiled with the package's own loss; Keras finds it only once
    `cnn_lesson.further` is imported, which `load_model` does itself (a fresh process has
    imported nothing: here, before, the file was reported as damaged)."""
    import subprocess
    import sys

    from cnn_lesson.further import build_further_model

    model = build_further_model(10, filters=(4, 4, 4, 4), augment=False, precision="float32")
    model.save(tmp_path / "model.keras")
    script = ("import sys; from cnn_lesson import load_model; "
              "print(load_model(sys.argv[1]).loss.__class__.__name__)")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "model.keras")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "SmoothedSparseCrossentropy"


def test_a_model_for_other_data_is_not_shown_as_lesson_3s(tmp_path):
    import keras

    from cnn_lesson.saving import load_trained_model, save_history

    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    other.compile(optimizer="adam", loss="mse")
    other.save(tmp_path / "model.keras")
    save_history({"accuracy": [0.5], "loss": [1.0], "val_accuracy": [0.5], "val_loss": [1.0]},
                 tmp_path)
    with pytest.raises(ModelFileError, match="a model for other data"):
        load_trained_model(tmp_path, random_images(20))


@pytest.mark.parametrize("call", [lambda: save_model(None, "output"),
                                  lambda: save_model("m", "output"),
                                  lambda: load_model(5), lambda: load_model(None)],
                         ids=["save None", "save a name", "load 5", "load None"])
def test_wrong_arguments_of_saving_name_what_to_pass(call):
    from cnn_lesson.errors import SettingsError

    with pytest.raises(SettingsError, match="needs"):
        call()


def test_load_history_of_a_number_names_what_to_pass():
    from cnn_lesson.errors import SettingsError
    from cnn_lesson.saving import load_history

    with pytest.raises(SettingsError, match="folder's path"):
        load_history(5)


def test_a_model_saved_again_after_more_training_does_not_pass_for_its_history(tmp_path):
    """history.json records the weights it was saved with; lesson 4 refuses to show the
    curves of one model beside the results of another."""
    import json

    from cnn_lesson.saving import load_trained_model, save_history

    images, labels = random_images(64, seed=3)
    model = compile_model(create_model())
    history = model.fit(normalize_images(images), labels, epochs=1, batch_size=32, verbose=0,
                        validation_data=(normalize_images(images[:16]), labels[:16]))
    save_model(model, tmp_path)
    save_history(history, tmp_path)
    loaded = load_trained_model(tmp_path, (images, labels))  # saved together: loads
    assert not loaded.stand_in and "weights" not in " ".join(loaded.history)

    model.fit(normalize_images(images), labels, epochs=1, batch_size=32, verbose=0)
    save_model(model, tmp_path)  # the model saved again, its history not
    with pytest.raises(ModelFileError, match="do not belong together.*saving cell"):
        load_trained_model(tmp_path, (images, labels))
    save_history(history, tmp_path)  # the saving cell run again: both match once more
    assert not load_trained_model(tmp_path, (images, labels)).stand_in

    # a history saved from a plain dict (or by an older version) has no fingerprint: loads
    values = json.loads((tmp_path / "history.json").read_text())
    values.pop("weights of the model when saved")
    (tmp_path / "history.json").write_text(json.dumps(values))
    assert not load_trained_model(tmp_path, (images, labels)).stand_in
