import json
import re

import keras
import numpy as np
import pytest

from cnn_lesson.errors import LessonOrderError
from cnn_lesson.model import create_model
from cnn_lesson.backup import BACKUP_FOLDER, BEST_MODEL_FILE, EPOCH_LOG_FILE
from cnn_lesson.training import (
    build_model,
    compile_model,
    evaluate,
    make_dataset,
    normalize_images,
    one_cycle_schedule,
    split_validation,
    steps_per_epoch,
    take_subset,
    train,
)
from tests.helpers import InterruptAfter, random_images


def test_normalize_images_scales_to_float32_between_0_and_1():
    images = np.array([[[[0, 128, 255]]]], dtype=np.uint8)
    result = normalize_images(images)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result.ravel(), [0.0, 128 / 255, 1.0], rtol=1e-6)


def test_split_validation_holds_out_a_disjoint_tenth_reproducibly():
    images, labels = random_images(100)
    ids = np.arange(100)
    images[:, 0, 0, 0] = ids  # tag each image with its index
    (train_images, train_labels), (val_images, val_labels) = split_validation(images, labels, seed=3)
    assert len(train_images) == 90 and len(val_images) == 10
    train_ids, val_ids = set(train_images[:, 0, 0, 0]), set(val_images[:, 0, 0, 0])
    assert not train_ids & val_ids and len(train_ids | val_ids) == 100
    np.testing.assert_array_equal(train_labels.ravel(), labels[list(train_images[:, 0, 0, 0])].ravel())
    again = split_validation(images, labels, seed=3)[1][0]
    np.testing.assert_array_equal(again, val_images)
    (small_images, _), (same_val, _) = split_validation(images, labels, seed=3, max_train_images=20)
    assert len(small_images) == 20 and set(small_images[:, 0, 0, 0]) <= train_ids
    np.testing.assert_array_equal(same_val, val_images)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_validation_refuses_impossible_fractions(fraction):
    images, labels = random_images(10)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_validation(images, labels, fraction)


def test_take_subset():
    images, labels = random_images(50)
    small_images, small_labels = take_subset(images, labels, 20, seed=1)
    assert small_images.shape == (20, 32, 32, 3) and small_labels.shape == (20, 1)
    assert take_subset(images, labels, 500)[0] is images
    with pytest.raises(ValueError):
        take_subset(images, labels, 0)


def test_make_dataset_batches_normalised_images():
    images, labels = random_images(10)
    batches = list(make_dataset(images, labels, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_allclose(batches[0][0].numpy(), normalize_images(images[:4]), rtol=1e-6)


def test_one_cycle_schedule_warms_up_then_decays():
    schedule = one_cycle_schedule(100, peak_learning_rate=1e-2)
    rates = [float(schedule(step)) for step in (0, 30, 99)]
    assert rates[0] < rates[1] and rates[2] < rates[1]
    assert rates[1] == pytest.approx(1e-2, rel=1e-3)
    assert steps_per_epoch(45_000, 128) == 352


def _small_run(tmp_path=None, epochs=2, seed=5, **kwargs):
    images, labels = random_images(96, seed=1)
    keras.utils.set_random_seed(seed)
    model = compile_model(create_model())
    history = train(model, (images[:64], labels[:64]), (images[64:], labels[64:]),
                    epochs=epochs, batch_size=32, seed=seed, output_dir=tmp_path, verbose=0,
                    **kwargs)
    return model, history


def test_same_seed_gives_the_same_history():
    first = _small_run()[1].history
    second = _small_run()[1].history
    timings = first.pop("seconds"), second.pop("seconds")  # wall-clock: differs run to run
    assert first == second
    assert set(first) >= {"accuracy", "loss", "val_accuracy", "val_loss"}
    assert len(first["loss"]) == 2
    for seconds in timings:
        assert len(seconds) == 2 and 0 < seconds[0] < seconds[1]


def test_train_refuses_an_uncompiled_model_or_missing_data():
    images, labels = random_images(20)
    with pytest.raises(LessonOrderError, match="compile_model"):
        train(create_model(), (images, labels), (images, labels))
    with pytest.raises(LessonOrderError, match="load and split the data"):
        train(compile_model(create_model()), None, (images, labels))
    with pytest.raises(ValueError):
        train(compile_model(create_model()), (images, labels), (images, labels), epochs=0)


def test_interrupted_training_resumes_from_the_last_finished_epoch(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        _small_run(tmp_path, epochs=3, callbacks=[InterruptAfter(2)])
    assert (tmp_path / BACKUP_FOLDER).is_dir()
    assert (tmp_path / BEST_MODEL_FILE).is_file()  # a usable model survives the interruption
    logged = json.loads((tmp_path / EPOCH_LOG_FILE).read_text())["history"]
    assert len(logged["loss"]) == 2

    images, labels = random_images(96, seed=1)
    model = compile_model(create_model())
    history = train(model, (images[:64], labels[:64]), (images[64:], labels[64:]),
                    epochs=3, batch_size=32, seed=5, output_dir=tmp_path, verbose=2)
    out = capsys.readouterr().out
    assert "Resuming" in out and "2 epoch(s) already done" in out
    assert out.count("Epoch ") == 1 and "Epoch 3/3" in out  # only the last epoch ran again
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][:2] == logged["loss"]
    # training time counts on from the interrupted run's, epoch by epoch
    assert history.history["seconds"][:2] == logged["seconds"]
    assert history.history["seconds"][2] > logged["seconds"][1]
    assert history.seconds == history.history["seconds"][-1]
    # A finished run keeps its backup, at its last epoch, until its model is saved.
    assert json.loads((tmp_path / BACKUP_FOLDER / "training_metadata.json").read_text())[
        "epoch"] == 3
    assert json.loads((tmp_path / EPOCH_LOG_FILE).read_text())["finished"] is True


def test_model_fit_in_view_resumes_with_resumable_training(tmp_path, capsys):
    """Lesson 3's own `model.fit` call, with `resumable_training`'s callbacks, resumes too."""
    from cnn_lesson import make_dataset, resumable_training

    images, labels = random_images(96, seed=1)
    training_set = make_dataset(images[:64], labels[:64], batch_size=32, shuffle=True, seed=3)
    validation_set = make_dataset(images[64:], labels[64:], batch_size=32)

    def fit(epochs, callbacks=()):
        model = compile_model(create_model())
        progress = resumable_training(tmp_path)
        history = model.fit(training_set, validation_data=validation_set, epochs=epochs,
                            callbacks=[*progress.callbacks, *callbacks], verbose=0)
        return progress, progress.finish(history)

    with pytest.raises(KeyboardInterrupt):
        fit(3, [InterruptAfter(2)])
    progress, history = fit(3)
    assert progress.resumed_epochs == 2
    assert "2 epoch(s) already done" in capsys.readouterr().out
    assert len(history.history["val_accuracy"]) == len(history.history["seconds"]) == 3
    assert str(tmp_path) not in history.history  # no path leaks into the history


def test_fresh_discards_the_backup(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        _small_run(tmp_path, epochs=2, callbacks=[InterruptAfter(1)])
    history = _small_run(tmp_path, epochs=2, fresh=True)[1]
    assert len(history.history["loss"]) == 2
    assert "Resuming" not in capsys.readouterr().out


def test_evaluate_returns_loss_and_accuracy():
    model, _ = _small_run(epochs=1)
    images, labels = random_images(30, seed=9)
    loss, accuracy = evaluate(model, images, labels)
    assert loss > 0 and 0.0 <= accuracy <= 1.0
    with pytest.raises(LessonOrderError):
        evaluate(model, None, labels)


def test_build_model_under_a_distribution_strategy():
    import tensorflow as tf

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    model = build_model(learning_rate=1e-3, strategy=strategy)
    assert model.count_params() == 161_610 and model.compiled
    assert model.distribute_strategy is strategy
    images, labels = random_images(64)
    history = train(model, (images[:48], labels[:48]), (images[48:], labels[48:]), epochs=1,
                    batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 1
    assert build_model().distribute_strategy is tf.distribute.get_strategy()


@pytest.mark.slow
def test_the_synthetic_set_is_learnable_by_the_lesson_model_in_one_epoch():
    """One epoch on the full synthetic set gets the reference model well above chance (10%).

    (Quick mode's 16 steps are too few for BatchNormalization's moving statistics, so this
    uses the whole set; measured here: about 70%.)
    """
    from cnn_lesson.data import SyntheticDataWarning, synthetic_cifar10

    with pytest.warns(SyntheticDataWarning):  # it says so to learners; here it is on purpose
        (train_images, train_labels), (test_images, test_labels) = synthetic_cifar10(seed=0)
    train_data, validation_data = split_validation(train_images, train_labels, seed=0)
    keras.utils.set_random_seed(0)
    model = compile_model(create_model(),
                          one_cycle_schedule(steps_per_epoch(len(train_data[0]))))
    train(model, train_data, validation_data, epochs=1, verbose=0)
    assert evaluate(model, test_images, test_labels)[1] > 0.4


def test_each_pass_over_a_shuffled_dataset_shows_every_image_once_in_a_new_order():
    images, labels = random_images(40)
    images[:, 0, 0, 0] = np.arange(40)  # tag each image with its index
    dataset = make_dataset(images, labels, batch_size=16, shuffle=True, seed=1)
    orders = []
    for _ in range(2):
        batches = [batch[0].numpy() for batch in dataset]
        assert [len(b) for b in batches] == [16, 16, 8]
        orders.append(np.rint(np.concatenate(batches)[:, 0, 0, 0] * 255).astype(int))
        assert sorted(orders[-1]) == list(range(40))
    assert not np.array_equal(orders[0], orders[1])


def test_datasets_do_not_autotune():
    # tf.data's autotuning thread stalled every epoch's end on 2 CPU cores (see make_dataset).
    images, labels = random_images(8)
    assert make_dataset(images, labels).options().autotune.enabled is False


def test_normalised_float_images_are_not_scaled_twice():
    """Lesson 1 teaches normalize_images; its 0..1 floats were divided by 255 again before,
    so `train` and `evaluate` saw black pictures (predict took them right)."""
    from cnn_lesson.training import normalize_images

    images, labels = random_images(20)
    as_loaded = next(iter(make_dataset(images, labels, 20)))[0].numpy()
    normalised = next(iter(make_dataset(normalize_images(images), labels, 20)))[0].numpy()
    np.testing.assert_allclose(normalised, as_loaded, atol=1e-6)


@pytest.mark.parametrize("case", ["fewer labels", "floats above 1", "labels 10-19", "one-hot",
                                  "no images", "fractional labels", "one image", "batch 0"])
def test_bad_images_labels_or_batch_size_say_what_is_wrong_before_tensorflow(case):
    from cnn_lesson.errors import DataError, SettingsError

    images, labels = random_images(20)
    bad = {"fewer labels": (images, labels[:3]),
           "floats above 1": (images.astype("float32"), labels),
           "labels 10-19": (images, labels + 10),
           "one-hot": (images, np.eye(10, dtype=np.uint8)[labels.ravel()]),
           "no images": (images[:0], labels[:0]),
           "fractional labels": (images, labels + 0.5),
           "one image": (images[0], labels[:1])}
    if case == "batch 0":
        with pytest.raises(SettingsError, match="batch_size=0"):
            make_dataset(images, labels, batch_size=0)
        return
    said = {"fewer labels": "20 images but 3 labels", "floats above 1": "not in 0..1",
            "labels 10-19": "from 10 to 19", "one-hot": "shape (20, 10)",
            "no images": "N of at least 1", "fractional labels": "from 0 to 9",
            "one image": "shape (32, 32, 3)"}[case]
    with pytest.raises(DataError, match=re.escape(said)):
        make_dataset(*bad[case])
    assert next(iter(make_dataset(images, labels.astype("float32"), 20)))  # 0.0..9.0: fine


def test_evaluating_an_uncompiled_model_says_which_cell_to_run():
    from cnn_lesson.training import evaluate

    with pytest.raises(LessonOrderError, match="compile_model"):
        evaluate(create_model(), *random_images(10))


@pytest.mark.parametrize("call, said", [
    (lambda: split_validation(*random_images(1)), "need at least 2"),
    (lambda: split_validation(*random_images(20), seed=-1), "seed=-1"),
    (lambda: split_validation(list(range(5)), [0] * 4), "5 images but 4 labels"),
    (lambda: take_subset(*random_images(20)[:1], random_images(3)[1], 10), "20 images but 3"),
    (lambda: take_subset(*random_images(20), 2.5), "count=2.5"),
    (lambda: steps_per_epoch(100, 0), "batch_size=0"),
    (lambda: steps_per_epoch(0), "image_count=0"),
    (lambda: one_cycle_schedule("10"), "total_steps='10'"),
    (lambda: one_cycle_schedule(10, warmup_fraction=2), "warmup_fraction=2"),
    (lambda: create_model(filters=32), "filters=32"),
    (lambda: create_model(filters=(32.5, 64, 128)), "filters=(32.5, 64, 128)"),
    (lambda: create_model(name="a b/c"), "name='a b/c'"),
    (lambda: create_model(batchnorm_momentum=5), "batchnorm_momentum=5"),
], ids=["1 image", "seed -1", "lists of other lengths", "subset of mismatched arrays",
        "2.5 images", "batch 0", "0 images", "steps as text", "warm-up twice the run",
        "filters a number", "filters fractional", "name with /", "momentum 5"])
def test_wrong_arguments_get_the_packages_error_naming_the_argument(call, said):
    from cnn_lesson.errors import CnnLessonError

    with pytest.raises(CnnLessonError, match=re.escape(said)):
        call()


def test_predicting_no_images_or_with_a_trained_model_tuple_says_what_to_pass():
    from cnn_lesson.errors import DataError, SettingsError
    from cnn_lesson.evaluation import predict

    images, _ = random_images(4)
    with pytest.raises(DataError, match="images\\[:1\\]"):
        predict(create_model(), images[:0])
    with pytest.raises(SettingsError, match=".model"):
        predict(("a", "tuple"), images)


def test_images_of_another_size_and_an_unwritable_run_are_refused_before_training(tmp_path):
    from cnn_lesson.errors import DataError, SettingsError

    model = compile_model(create_model(precision="float32"))
    images, labels = random_images(20)
    small = images[:, :28, :28]
    with pytest.raises(DataError, match="shape"):
        train(model, (small, labels), (small, labels), epochs=1, verbose=0)
    # a model without a fixed input size, or built by fit, takes them
    any_size = compile_model(keras.Sequential([keras.Input((None, None, 3)),
                                               keras.layers.GlobalAveragePooling2D(),
                                               keras.layers.Dense(10, activation="softmax")]))
    train(any_size, (small, labels), (small, labels), epochs=1, verbose=0)
    unbuilt = compile_model(keras.Sequential([keras.layers.Flatten(),
                                              keras.layers.Dense(10, activation="softmax")]))
    train(unbuilt, (images, labels), (images, labels), epochs=1, verbose=0)
    with pytest.raises(SettingsError, match="run must map"):
        train(model, (images, labels), (images, labels), epochs=1, verbose=0,
              output_dir=tmp_path, run={"x": object()})


def test_plots_and_explorers_name_what_they_need():
    from cnn_lesson.errors import DataError, SettingsError
    from cnn_lesson.feature_maps import layer_explorer
    from cnn_lesson.model import explain_parameters
    from cnn_lesson.plots import plot_history, plot_sample_images

    images, labels = random_images(30)
    with pytest.raises(SettingsError):
        plot_history(None)
    with pytest.raises(DataError, match="class number"):
        plot_sample_images(images, labels + 40)
    with pytest.raises(SettingsError):
        explain_parameters("m")
    with pytest.raises(SettingsError):
        layer_explorer("m", images[0])
