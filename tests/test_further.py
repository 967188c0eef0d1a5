"""Lesson 5's going-further recipe and the training-speed benchmark, on tiny random data."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from cnn_lesson import save_history
from cnn_lesson.backup import BACKUP_FOLDER, BEST_MODEL_FILE
from cnn_lesson.further import (
    whitening_filters,
    FURTHER_FOLDER,
    SmoothedSparseCrossentropy,
    augmentation,
    build_further_model,
    create_further_model,
    measure_training_speed,
    runs_to_compare,
    train_further,
)
from tests.helpers import InterruptAfter, random_images

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "train_speed.py"


def test_further_model_shapes_and_parameters():
    model = create_further_model()
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 10)
    assert model.count_params() == 540_394
    assert model.get_layer("augmentation") is not None
    assert create_further_model(augment=False).count_params() == 540_394
    assert create_further_model(residual_convs=2).count_params() == 688_362
    shifts = create_further_model(shift=0.125).get_layer("augmentation").get_layer("random_shift")
    assert shifts.height_factor == shifts.width_factor == 0.125


def test_mixed_precision_model_keeps_float32_weights_and_output_and_the_global_policy():
    before = keras.config.dtype_policy().name
    model = create_further_model(precision="mixed_bfloat16")
    assert keras.config.dtype_policy().name == before
    assert model.get_layer("stage1_conv").dtype_policy.name == "mixed_bfloat16"
    assert model.get_layer("stage1_conv").kernel.dtype == "float32"
    output = model(random_images(2)[0].astype("float32") / 255.0)
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output).sum(axis=1), 1.0, rtol=1e-5)
    assert create_further_model(precision="float32").get_layer("stage1_conv").compute_dtype == "float32"


def test_augmentation_changes_images_only_while_training():
    images = random_images(4)[0].astype("float32") / 255.0
    layers = augmentation(seed=1)
    np.testing.assert_array_equal(layers(images, training=False), images)
    augmented = keras.ops.convert_to_numpy(layers(images, training=True))
    assert augmented.shape == images.shape
    assert not np.allclose(augmented, images)
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0


def test_smoothed_loss_matches_categorical_crossentropy_with_one_hot_labels():
    labels = np.array([[3], [0]])
    probabilities = np.full((2, 10), 0.05, dtype="float32")
    probabilities[0, 3] = probabilities[1, 0] = 0.55
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        keras.ops.one_hot(labels.reshape(-1), 10), probabilities
    )
    got = SmoothedSparseCrossentropy(0.1)(labels, probabilities)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(labels, probabilities)
    assert float(SmoothedSparseCrossentropy(0.0)(labels, probabilities)) == pytest.approx(
        float(plain), rel=1e-5
    )


def test_build_further_model_compiles_with_smoothing_and_schedule():
    model = build_further_model(total_steps=10, label_smoothing=0.2, augment=False)
    assert isinstance(model.loss, SmoothedSparseCrossentropy)
    assert model.loss.label_smoothing == 0.2
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0004)  # peak / 10 at step 0


def test_train_further_runs_one_tiny_epoch(tmp_path):
    train_data, validation_data = random_images(64), random_images(32, seed=1)
    model, history = train_further(train_data, validation_data, epochs=1, batch_size=32,
                                   verbose=0)
    assert len(history.history["val_accuracy"]) == len(history.history["seconds"]) == 1
    assert np.isfinite(history.history["loss"]).all()
    assert history.seconds == history.history["seconds"][-1] > 0
    assert list(tmp_path.iterdir()) == []  # without an output folder it keeps nothing
    path = tmp_path / "further.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert reloaded.loss.label_smoothing == pytest.approx(0.1)
    # The whitening convolution was not trained, and is saved with its weights.
    first = reloaded.get_layer("stage1_conv")
    assert not first.trainable
    np.testing.assert_allclose(first.get_weights()[0], whitening_filters(train_data[0]))
    without = train_further(train_data, validation_data, epochs=1, batch_size=32, verbose=0,
                            whiten=False)[0]
    assert without.get_layer("stage1_conv").trainable


def test_whitening_filters_give_outputs_of_equal_variance_and_no_correlation():
    """On the patches they were computed from, the filters' outputs are uncorrelated and of
    variance v / (v + epsilon): about 1 where the patches vary much more than epsilon."""
    from cnn_lesson.data.synthetic import generate

    (images, _), _ = generate(0, 60, 1)
    kernel = whitening_filters(images, filters=8, epsilon=1e-6)
    assert kernel.shape == (3, 3, 3, 8) and kernel.dtype == np.float32
    pixels = images.astype(np.float64) / 255.0
    windows = np.lib.stride_tricks.sliding_window_view(pixels, (3, 3), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 27)
    outputs = (patches - patches.mean(axis=0)) @ kernel.reshape(27, 8)[:, :4].astype(np.float64)
    np.testing.assert_allclose(np.cov(outputs, rowvar=False, bias=True), np.eye(4), atol=1e-3)
    np.testing.assert_array_equal(kernel[..., 4:], -kernel[..., :4])  # each with its negative


def test_train_further_resumes_in_its_own_folder_after_an_interruption(tmp_path, capsys):
    """Lesson 5's training survives an interruption, as lesson 3's does, in its own folder."""
    further_dir = tmp_path / FURTHER_FOLDER
    train_data, validation_data = random_images(64), random_images(32, seed=1)
    with pytest.raises(KeyboardInterrupt):
        train_further(train_data, validation_data, epochs=3, batch_size=32,
                      output_dir=further_dir, callbacks=[InterruptAfter(1)], verbose=0,
                      augment=False)
    assert (further_dir / BACKUP_FOLDER).is_dir() and (further_dir / BEST_MODEL_FILE).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == [FURTHER_FOLDER]

    model, history = train_further(train_data, validation_data, epochs=3, batch_size=32,
                                   output_dir=further_dir, verbose=2, augment=False)
    out = capsys.readouterr().out
    assert "Resuming" in out and "1 epoch(s) already done" in out
    assert out.count("Epoch ") == 2 and "Epoch 1/3" not in out  # epoch 1 did not run again
    assert len(history.history["loss"]) == len(history.history["seconds"]) == 3
    assert history.history["seconds"] == sorted(history.history["seconds"])
    assert json.loads((further_dir / BACKUP_FOLDER / "training_metadata.json").read_text())[
        "epoch"] == 3  # the finished run's weights, kept for a rerun to restore
    assert keras.models.load_model(further_dir / BEST_MODEL_FILE).count_params() == 540_394


def test_measure_training_speed_counts_images_per_second():
    speed = measure_training_speed("float32", batch_size=8, steps=2)
    assert np.isfinite(speed) and speed > 0


def _lesson5_history(epochs=2):
    return {"loss": [1.0] * epochs, "accuracy": [0.5] * epochs,
            "val_accuracy": [0.4 + 0.1 * i for i in range(epochs)],
            "seconds": [30.0 * (i + 1) for i in range(epochs)]}


def test_runs_to_compare_holds_lesson_3_and_lesson_5_when_lesson_3_saved_its_times(
        tmp_path, capsys):
    save_history({"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.5, 0.6],
                  "val_accuracy": [0.2, 0.55, 0.65], "seconds": [20.0, 40.5, 61.0]}, tmp_path)
    runs = runs_to_compare(tmp_path, _lesson5_history())
    assert runs == [("lesson 3 (3 epochs)", [20.0, 40.5, 61.0], [0.2, 0.55, 0.65]),
                    ("lesson 5, going further (2 epochs)", [30.0, 60.0], [0.4, 0.5])]
    out = capsys.readouterr().out
    assert "lesson 3 (3 epochs): 61 s, validation accuracy 65.0%" in out
    assert str(tmp_path) not in out


@pytest.mark.parametrize("lesson3", [None, {"loss": [2.0], "accuracy": [0.3],
                                            "val_accuracy": [0.2]}])
def test_runs_to_compare_shows_lesson_5_alone_and_says_how_to_compare(tmp_path, capsys,
                                                                       lesson3):
    if lesson3 is not None:  # an older lesson 3 saved no times
        save_history(lesson3, tmp_path)
    runs = runs_to_compare(tmp_path, _lesson5_history(1))
    assert [label for label, _, _ in runs] == ["lesson 5, going further (1 epoch)"]
    out = capsys.readouterr().out
    assert "03_training.ipynb" in out and "alone" in out
    assert ("no training times" in out) == (lesson3 is not None)
    assert str(tmp_path) not in out


def test_benchmark_help_and_bad_arguments():
    done = subprocess.run([sys.executable, str(BENCHMARK), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--epochs", "--data", "--recipes", "--max-images", "--threads", "--precision"):
        assert option in done.stdout
    bad = subprocess.run([sys.executable, str(BENCHMARK), "--recipes", "fastest"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "unknown recipe" in bad.stderr


@pytest.mark.slow  # the benchmark is no learner's path: 15 s of the default run
def test_benchmark_smoke_run_on_synthetic_data(tmp_path):
    json_path = tmp_path / "speed.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--epochs", "1", "--data", "synthetic",
         "--max-images", "64", "--json", str(json_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("throughput_ratio=") and " memory_ratio=" in last
    figures = json.loads(json_path.read_text())
    assert [r["recipe"] for r in figures["recipes"]] == ["reference", "package"]
    from cnn_lesson import fast_precision

    assert [r["precision"] for r in figures["recipes"]] == ["float32", fast_precision()]
    for result in figures["recipes"]:
        assert result["images_per_second"] > 0 and result["peak_memory_mb"] > 0
        assert 0.0 <= result["test_accuracy"] <= 1.0
        assert len(result["epoch_seconds"]) == len(result["epoch_val_accuracy"]) == 1


def test_every_trick_variant_of_the_benchmark_builds_and_compiles():
    """benchmarks/further_tricks.py trains for minutes per variant; here each variant's
    network is only built, and checked to have its change."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import further_tricks

    train_data = random_images(64)
    models = {variant: further_tricks._build(variant, train_data, total_steps=10)
              for variant in further_tricks.VARIANTS}
    assert models["lesson5"].get_layer("stage1_conv").trainable is False
    assert models["no-whitening"].get_layer("stage1_conv").trainable is True
    assert models["ema"].optimizer.use_ema and not models["lesson5"].optimizer.use_ema
    assert models["smoothing-0.2"].loss.label_smoothing == pytest.approx(0.2)
    assert isinstance(models["sgd"].optimizer, keras.optimizers.SGD)
    assert models["bn-no-scale"].count_params() < models["lesson5"].count_params()
    schedules = {variant: models[variant].optimizer.get_config()["learning_rate"]
                 for variant in ("lesson5", "batch-128", "batch-512")}
    peaks = {variant: schedule["config"]["warmup_target"]
             for variant, schedule in schedules.items()}
    assert peaks == pytest.approx({"lesson5": 4e-3, "batch-128": 2e-3, "batch-512": 8e-3})
    assert further_tricks.BATCHES["batch-512"][0] == 512
    kernel = models["dirac"].get_layer("residual1_conv").get_weights()[0]
    assert kernel[1, 1, 5, 5] == 1.0 and kernel[0, 0, 5, 5] == 0.0
    with pytest.raises(SystemExit):
        further_tricks.main(["--variants", "lesson5,bogus"])


def test_whitening_refuses_what_it_cannot_use_and_takes_normalised_images():
    from cnn_lesson.errors import DataError, SettingsError

    images = random_images(20)[0]
    with pytest.raises(DataError, match="needs RGB images"):
        whitening_filters(images[..., 0])
    for filters in (7, 64, 0):
        with pytest.raises(SettingsError, match=f"filters={filters}: whitening gives an even"):
            whitening_filters(images, filters=filters)
    # Floats already in 0..1 (normalize_images) give the same filters, not ones 255 times off.
    np.testing.assert_allclose(whitening_filters(images / 255.0), whitening_filters(images),
                               rtol=1e-3, atol=1e-4)
    with pytest.raises(SettingsError, match=r"whitening has shape \(3, 3, 3, 8\); the first"):
        create_further_model(whitening=whitening_filters(images, filters=8))
    with pytest.raises(DataError, match="The images have shape"):
        train_further((images[..., 0], np.zeros((20, 1), np.uint8)), random_images(8), epochs=1)


def test_a_whitened_runs_backup_is_not_continued_without_whitening(tmp_path):
    """Frozen or trained, the first convolution has as many parameters: the backup of one
    must not be continued by the other (its optimizer state does not fit)."""
    from cnn_lesson.errors import BackupError

    train_data, validation_data = random_images(64), random_images(32, seed=1)
    with pytest.raises(KeyboardInterrupt):
        train_further(train_data, validation_data, epochs=2, batch_size=32, verbose=0,
                      output_dir=tmp_path, callbacks=[InterruptAfter(1)])
    with pytest.raises(BackupError, match="model: 540,394 parameters, layers"):
        train_further(train_data, validation_data, epochs=2, batch_size=32, verbose=0,
                      output_dir=tmp_path, whiten=False)


def test_the_ablation_table_reads_what_the_benchmark_saves(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import further_tricks

    from cnn_lesson.further_ablation import WITHOUT, ablation
    from cnn_lesson.errors import DataError

    results = [{"variant": variant, "validation": 0.8, "test": 0.8 - index / 100,
                "test_mirror": 0.81, "seconds": 300.4 + index, "epoch_val_accuracy": [0.8]}
               for index, variant in enumerate(["lesson5", "float32", "ema", "no-whitening"])]
    path = tmp_path / "figures.json"
    further_tricks.save_figures(path, [r["variant"] for r in results], results)
    table = ablation(path)
    assert [row["recipe"] for row in table] == [  # lesson 5's order; "ema" is not an ablation
        WITHOUT["lesson5"], WITHOUT["no-whitening"], WITHOUT["float32"]]
    assert [row["test vs whole"] for row in table] == ["—", "-3.00 points", "-1.00 points"]
    assert [row["validation vs whole"] for row in table] == ["—", "+0.00 points", "+0.00 points"]
    assert [row["images/s"] for row in table] == ["—"] * 3  # not timed yet
    assert "test + mirror" in repr(table) and "81.0%" in repr(table)
    # --speed times each variant's training step and adds it to the file.
    further_tricks.save_figures(path, ["lesson5", "float32"], [results[0], results[1]])
    further_tricks.add_speeds(path, steps=1, rounds=1)
    speeds = [row["images/s"] for row in ablation(path)]
    assert len(speeds) == 2 and all(isinstance(value, int) and value > 0 for value in speeds)
    # The figures shipped with the course hold the whole recipe and each change taken out.
    shipped = ablation()
    assert [row["recipe"] for row in shipped] == list(WITHOUT.values())
    assert all(isinstance(row["images/s"], int) for row in shipped)
    path.write_text("{}")
    with pytest.raises(DataError, match="does not hold the figures of benchmarks/further_tricks"):
        ablation(path)


def test_the_ablation_plot_draws_each_recipe_epoch_by_epoch():
    import matplotlib.pyplot as plt

    from cnn_lesson.further_ablation import FIGURES, WITHOUT, plot_ablation

    figure = plot_ablation()
    axis = figure.axes[0]
    assert [line.get_label() for line in axis.lines] == list(WITHOUT.values())
    import json

    shipped = {r["variant"]: r for r in json.loads(FIGURES.read_text())["variants"]}
    for line, variant in zip(axis.lines, WITHOUT):
        assert list(line.get_xdata()) == list(range(1, 9))
        assert list(line.get_ydata()) == shipped[variant]["epoch_val_accuracy"]
    assert axis.get_xlabel() == "epoch" and "validation accuracy" in axis.get_ylabel()
    plt.close(figure)


def test_lesson5_says_what_its_ablation_table_shows():
    """The figures lesson 5's text reads from the ablation table are the shipped ones."""
    import json

    import nbformat

    from cnn_lesson.further_ablation import FIGURES, ablation

    cells = nbformat.read(Path(__file__).resolve().parent.parent / "notebooks"
                          / "05_going_further.ipynb", as_version=4).cells
    reading = next(cell.source for cell in cells if cell.get("id") == "further-24c")
    text = " ".join(reading.split())
    rows = {row["recipe"].split(" (")[0]: row for row in ablation()}
    whole = rows["the whole recipe"]

    def lost(name, key="validation"):
        return 100 * (whole[key] - rows[name][key])

    for name, said in (("without the one-cycle schedule", "the run ended {:.1f} points lower"),
                       ("without augmentation", "next, {:.1f} points"),
                       ("without the residual block", "bought {:.1f} points on validation"),
                       ("without whitening", "{:.2f} points on validation")):
        assert said.format(lost(name)) in text, (name, said.format(lost(name)))
    assert f"{lost('without the residual block', 'test'):.1f} on test" in text
    assert f"{lost('without whitening', 'test'):.2f} on test" in text
    smoothing = -lost("without label smoothing")
    assert f"without smoothing the validation accuracy came out {smoothing:.1f}" in text
    assert f"in float32 {-lost('without mixed precision'):.1f} higher" in text
    for name in ("the whole recipe", "without the residual block", "without whitening",
                 "without mixed precision", "without augmentation"):
        assert f"{rows[name]['images/s']:,}" in text, name
    ratio = rows["without mixed precision"]["images/s"] / whole["images/s"]
    assert f"{ratio:.2f} times as fast" in text
    same = sorted(rows[name]["images/s"] for name in (
        "the whole recipe", "without label smoothing", "without the one-cycle schedule"))
    assert f"{same[0]:,} to {same[-1]:,} images per second" in text
    gap = 100 * (whole["test + mirror"] - rows["without augmentation"]["test + mirror"])
    assert f"from {lost('without augmentation', 'test'):.1f} points to {gap:.1f}" in text
    # The epoch-by-epoch claims, from the shipped per-epoch figures.
    epochs = {r["variant"]: r["epoch_val_accuracy"]
              for r in json.loads(FIGURES.read_text())["variants"]}
    assert all(c > w for c, w in zip(epochs["constant-rate"][:3], epochs["lesson5"][:3]))
    assert f"to {epochs['constant-rate'][-1]:.1%} after the last" in text
    ahead = [a > w for a, w in zip(epochs["no-augmentation"], epochs["lesson5"])]
    assert ahead == [True] * 5 + [False] * 3
    assert "ahead until epoch 5 and behind from epoch 6" in text
