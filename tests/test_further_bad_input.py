"""Lesson 5's functions (`cnn_lesson.further`) refuse bad input with the package's errors.

Each case failed before with a raw KeyError, TypeError, IndexError or Keras/numpy/TensorFlow
ValueError, or was silently accepted (NaN filters, an Add of a tensor with itself, 0.0 images
per second). The valid edge values next to them still work.
"""

import keras
import numpy as np

from cnn_lesson import save_history
from cnn_lesson.config import MAX_SEED
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.further import (
    MAX_FILTERS,
    MAX_RESIDUAL_CONVS,
    MAX_SPEED_BATCH_SIZE,
    augmentation,
    build_further_model,
    create_further_model,
    measure_training_speed,
    runs_to_compare,
    whitening_filters,
)
from tests.helpers import each_refused, random_images

HOW = "pass the History that train_further"
LISTS = "history's 'seconds' and 'val_accuracy' must be lists of numbers"


def test_runs_to_compare_refuses_histories_without_times_and_a_file_for_the_folder(tmp_path):
    save_history({"loss": [2.0], "accuracy": [0.3], "val_accuracy": [0.2], "seconds": [20.0]},
                 tmp_path)  # lesson 3's history exists: lesson 5's is read to the end
    fit_history = keras.callbacks.History()  # what a plain model.fit returns
    fit_history.history = {"loss": [1.0], "accuracy": [0.5], "val_accuracy": [0.4]}
    lesson5 = {"loss": [1.0], "val_accuracy": [0.4], "seconds": [30.0]}
    each_refused([
        (lambda: runs_to_compare(tmp_path, fit_history), DataError, "history has no 'seconds'"),
        (lambda: runs_to_compare(tmp_path, {"seconds": [1.0]}), DataError,
         "history has no 'val_accuracy'"),
        (lambda: runs_to_compare(tmp_path, None), DataError, f"history=None: {HOW}"),
        (lambda: runs_to_compare(tmp_path, [0.4]), DataError, f"history=[0.4]: {HOW}"),
        (lambda: runs_to_compare(tmp_path, {"val_accuracy": [], "seconds": []}), DataError,
         LISTS),
        (lambda: runs_to_compare(tmp_path, {"val_accuracy": [0.4, 0.5], "seconds": [1.0]}),
         DataError, LISTS),
        (lambda: runs_to_compare(tmp_path, {"val_accuracy": ["a"], "seconds": [1.0]}),
         DataError, LISTS),
        (lambda: runs_to_compare(tmp_path, {"val_accuracy": [0.4], "seconds": [float("nan")]}),
         DataError, LISTS),
        (lambda: runs_to_compare(tmp_path / "history.json", lesson5), SettingsError,
         "history.json' is a file, not a folder: pass the output folder"),
    ])
    assert len(runs_to_compare(tmp_path, lesson5)) == 2  # and the valid call still works


def test_augmentation_refuses_a_shift_beyond_the_image_and_a_seed_out_of_range():
    each_refused([
        (lambda: augmentation(shift=2.0), SettingsError,
         "shift=2.0: use a share from 0 up to (not including) 1, such as 0.0625"),
        (lambda: augmentation(shift=-0.1), SettingsError, "shift=-0.1: use a share"),
        (lambda: augmentation(seed=2**70), SettingsError,
         f"seed={2**70}: use a whole number from 0 to {MAX_SEED:,}"),
        (lambda: augmentation(seed=-1), SettingsError, "seed=-1: use a whole number from 0"),
    ])
    assert augmentation(shift=0, seed=np.uint32(MAX_SEED)).get_layer("random_shift") \
        .height_factor == 0


def test_create_further_model_refuses_filters_names_shifts_and_residual_convs_it_cannot_build():
    four = "create_further_model needs four filter counts, whole numbers from 1 to"
    each_refused([
        (lambda: create_further_model(filters=(8, 8, 8)), SettingsError,
         f"filters=(8, 8, 8): {four} {MAX_FILTERS}, e.g. filters=(32, 64, 128, 256)"),
        (lambda: create_further_model(filters=(0, 0, 0, 0)), SettingsError, four),
        (lambda: create_further_model(filters=(8, 8, 8, MAX_FILTERS + 1)), SettingsError, four),
        (lambda: create_further_model(filters=(8, 8, 8, 8.5)), SettingsError, four),
        (lambda: create_further_model(filters=32), SettingsError, four),
        (lambda: create_further_model(shift=5.0), SettingsError, "shift=5.0: use a share"),
        (lambda: create_further_model(name="a/b"), SettingsError,
         "name='a/b': use a text without /"),
        (lambda: create_further_model(name=""), SettingsError, "name='': use a text without /"),
        (lambda: create_further_model(residual_convs=-1), SettingsError,
         f"residual_convs=-1: use a whole number from 0 to {MAX_RESIDUAL_CONVS}"),
        (lambda: create_further_model(residual_convs=MAX_RESIDUAL_CONVS + 1), SettingsError,
         "residual_convs=5: use a whole number"),
    ])
    # The limits themselves are built; numpy's ints are taken.
    model = create_further_model(filters=tuple(np.int64(4) for _ in range(4)), augment=False,
                                 residual_convs=MAX_RESIDUAL_CONVS, precision="float32")
    assert model.get_layer(f"residual{MAX_RESIDUAL_CONVS}_conv").filters == 4


def test_whitening_filters_refuses_epsilons_sizes_and_images_that_gave_nan_or_raw_errors():
    images = random_images(4)[0]
    with_nan = images / 255.0
    with_nan[0, 0, 0, 0] = np.nan
    each_refused([
        (lambda: whitening_filters(images, epsilon=-1), SettingsError,
         "epsilon=-1: use a small positive number such as 0.01"),
        (lambda: whitening_filters(images, epsilon=0), SettingsError, "epsilon=0: use a small"),
        (lambda: whitening_filters(images, epsilon=float("nan")), SettingsError,
         "epsilon=nan: use a small"),
        (lambda: whitening_filters(with_nan), DataError, "hold NaN or infinite values"),
        (lambda: whitening_filters(images * 2.0), DataError, "float images are not in 0..1"),
        (lambda: whitening_filters(images, size=-3), SettingsError,
         "size=-3: use a whole number from 1 to 8"),
        (lambda: whitening_filters(images > 100), DataError, "The images are of type bool"),
        (lambda: whitening_filters(images.astype(complex)), DataError,
         "The images are of type complex128"),
        (lambda: whitening_filters(images.astype(object)), DataError,
         "The images are of type object"),
    ])
    assert whitening_filters(images, filters=6, size=1, epsilon=1e-6).shape == (1, 1, 3, 6)


def test_build_further_model_refuses_label_smoothing_outside_0_to_1():
    for smoothing in (1.5, -1, 1.0):
        each_refused([(lambda: build_further_model(10, label_smoothing=smoothing),
                       SettingsError,
                       f"label_smoothing={smoothing!r}: use a share from 0 up to (not "
                       "including) 1, such as 0.1")])
    model = build_further_model(10, label_smoothing=0, filters=(4, 4, 4, 4), augment=False,
                                precision="float32")
    assert model.loss.label_smoothing == 0.0


def test_measure_training_speed_refuses_batches_steps_and_seeds_it_cannot_time():
    each_refused([
        (lambda: measure_training_speed("float32", batch_size=0), SettingsError,
         f"batch_size=0: use a whole number from 1 to {MAX_SPEED_BATCH_SIZE:,}"),
        # Unbounded, the random images alone took 12 KB each: 10**6 asked for 12 GB.
        (lambda: measure_training_speed("float32", batch_size=MAX_SPEED_BATCH_SIZE + 1,
                                        steps=1), SettingsError, "batch_size=1025: use a whole"),
        (lambda: measure_training_speed("float32", batch_size=2, steps=1, seed=-1),
         SettingsError, f"seed=-1: use a whole number from 0 to {MAX_SEED:,}"),
        (lambda: measure_training_speed("float32", batch_size=2, steps=0), SettingsError,
         "steps=0: use a whole number from 1 to 1,000"),
    ])


def test_train_further_checks_its_filters_before_the_whitening_reads_them():
    from cnn_lesson.further import train_further

    images, labels = np.zeros((8, 32, 32, 3), np.uint8), np.arange(8) % 10
    each_refused([(lambda: train_further((images, labels), (images, labels), epochs=1,
                                         filters=5), SettingsError, "needs four filter counts")])
