"""The public API: the tenth hostile pass (part A, items 8, 9, 11, 12, 17 and 18)."""

import os
import re
import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from keras import layers

from cnn_lesson.checkpoints import CheckpointError, check_split
from cnn_lesson.errors import ModelFileError, OutputError, SettingsError
from cnn_lesson.further import create_further_model, train_further
from cnn_lesson.model import create_model
from cnn_lesson.plots import plot_first_layer_filters
from cnn_lesson.saving import (
    load_history, load_model, load_trained_model, save_history, save_model,
)
from cnn_lesson.training import compile_model, one_cycle_schedule, train
from tests.helpers import random_images

IMAGES, LABELS = random_images(64, seed=10)
TRAIN, VALIDATION = (IMAGES[:48], LABELS[:48]), (IMAGES[48:], LABELS[48:])
LOOP_ADVICE = "symbolic link to nothing (a disk not mounted?) or a loop"


def small_network(*last) -> keras.Sequential:
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, name="base"),
                             layers.GlobalAveragePooling2D(), *last])


def softmax_network() -> keras.Sequential:
    return small_network(layers.Dense(10, activation="softmax"))


# Item 8: a rate callback on a scheduled rate inside a LossScaleOptimizer (mixed_float16).

def mixed_float16_network() -> keras.Sequential:
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        return small_network(layers.Dense(10), layers.Activation("softmax", dtype="float32"))
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("callback", [
    lambda: keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.9),
    lambda: keras.callbacks.ReduceLROnPlateau(patience=0, min_delta=10)],
    ids=["LearningRateScheduler", "ReduceLROnPlateau"])
@pytest.mark.parametrize("how", ["mixed_float16", "wrapped by hand"])
def test_item_8_a_rate_callback_on_a_scheduled_rate_in_a_loss_scale_optimizer(callback, how):
    """Keras' raw TypeError came after the epoch that changed the rate: has_scheduled_rate
    read the LossScaleOptimizer's own rate (a plain variable), not its inner optimizer's."""
    if how == "mixed_float16":
        model = compile_model(mixed_float16_network(), one_cycle_schedule(10))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    else:
        model = softmax_network()
        model.compile(keras.optimizers.LossScaleOptimizer(
            keras.optimizers.Adam(one_cycle_schedule(10))),
            "sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(SettingsError, match=r"sets the learning rate.*compile_model\(model, "
                                            r"1e-3\)"):
        train(model, TRAIN, VALIDATION, epochs=2, batch_size=16, verbose=0,
              callbacks=[callback()])
    assert not model.optimizer.built  # refused before any training


def test_item_8_a_constant_rate_in_mixed_float16_still_takes_a_rate_callback():
    """A guard (it passed before the fix too): the rate Keras can change is not refused."""
    model = compile_model(mixed_float16_network(), 1e-3)
    history = train(model, TRAIN, VALIDATION, epochs=2, batch_size=16, verbose=0,
                    callbacks=[keras.callbacks.ReduceLROnPlateau(patience=0, min_delta=10)])
    assert len(history.history["loss"]) == 2


# Item 9: a model whose optimizer was built for other variables than its own.

def test_item_9_a_h5_loaded_by_keras_own_loader_is_refused_before_training(tmp_path):
    """Keras' raw "Unknown variable" ValueError came from inside fit."""
    model = compile_model(softmax_network())
    train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    save_model(model, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = keras.models.load_model(tmp_path / "model.h5")  # compiled, Keras' default
    with pytest.raises(SettingsError, match=r"load_model.*compile_model\(model\)") as raised:
        train(loaded, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    assert "\n" not in str(raised.value)
    # The two ways out the message gives both train.
    assert len(train(load_model(tmp_path / "model.h5"), TRAIN, VALIDATION, epochs=1,
                     batch_size=16, verbose=0).history["loss"]) == 1
    assert len(train(compile_model(loaded), TRAIN, VALIDATION, epochs=1, batch_size=16,
                     verbose=0).history["loss"]) == 1


def test_item_9_a_layer_unfrozen_after_loading_a_keras_file_is_refused(tmp_path):
    """The same raw ValueError: the loaded optimizer knows only the variables trainable when
    it was saved."""
    model = softmax_network()
    model.get_layer("base").trainable = False
    train(compile_model(model), TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    save_model(model, tmp_path)
    loaded = load_model(tmp_path / "model.keras")
    loaded.get_layer("base").trainable = True
    with pytest.raises(SettingsError, match=r"compile_model\(model\)"):
        train(loaded, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)


@pytest.mark.parametrize("change", ["unfreeze", "freeze"])
def test_item_9_freezing_or_unfreezing_between_two_train_calls_stays_accepted(change):
    """A guard (it passed before the fix too): the lessons' flow of training a head first,
    then fine-tuning, trains in Keras today and must not be refused."""
    model = softmax_network()
    model.get_layer("base").trainable = change == "freeze"
    train(compile_model(model), TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    model.get_layer("base").trainable = change == "unfreeze"
    history = train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 1


def test_item_9_a_keras_file_loaded_by_keras_trains_on():
    """A guard (it passed before the fix too): a `.keras` model loaded by Keras trains."""
    import tempfile

    model = compile_model(softmax_network())
    train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        save_model(model, folder)
        loaded = keras.models.load_model(os.path.join(folder, "model.keras"))
    assert loaded.optimizer.built
    history = train(loaded, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 1


# Item 11: a whitening of text, NaN or infinite values.

@pytest.mark.parametrize("whitening", [
    np.full((3, 3, 3, 4), "a"), np.full((3, 3, 3, 4), np.nan, np.float32),
    np.full((3, 3, 3, 4), np.inf), np.full((3, 3, 3, 4), 1e300),
    np.full((3, 3, 3, 4), None), np.full((3, 3, 3, 4), True)],
    ids=["text", "NaN", "inf", "too large for float32", "None", "bool"])
def test_item_11_a_whitening_that_is_no_finite_numbers_is_refused(whitening):
    """Text was numpy's raw ValueError; NaN and inf trained to a NaN loss without a word."""
    with pytest.raises(SettingsError, match="whitening holds .*finite numbers"):
        train_further(TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0,
                      filters=(4, 4, 4, 4), whitening=whitening)
    with pytest.raises(SettingsError, match="whitening holds"):
        create_further_model((4, 4, 4, 4), whitening=whitening)


def test_item_11_a_ragged_whitening_is_refused():
    with pytest.raises(SettingsError, match="whitening"):
        create_further_model((4, 4, 4, 4), whitening=[[1.0], [1.0, 2.0]])


# Item 12: a first convolution with thousands of filters.

def test_item_12_only_the_first_64_filters_are_drawn_and_the_title_says_so():
    """4,096 filters drew 4,096 axes: minutes and gigabytes."""
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(1000, 3, name="wide")])
    kernel = model.get_layer("wide").get_weights()[0]
    figure = plot_first_layer_filters(model)
    learned = [axis for axis in figure.get_axes() if axis.images
               and axis.get_title().isdigit()]
    assert [axis.get_title() for axis in learned] == [str(index) for index in range(64)]
    titles = " ".join(subfigure.get_suptitle() for subfigure in figure.subfigs)
    assert "The first 64 of its 1,000 filters" in titles
    pictures = np.stack([np.asarray(axis.images[0].get_array()) for axis in learned], axis=-1)
    scale = np.abs(kernel[..., :64]).max()  # the scale of the filters drawn
    np.testing.assert_allclose(pictures, 0.5 + 0.5 * kernel[..., :64] / scale, atol=1e-6)
    assert figure.get_size_inches()[1] < 15
    plt.close("all")


def test_item_12_the_course_models_32_filters_are_all_drawn_as_before():
    """A guard (it passed before the fix too): lesson 4's stored figure does not change."""
    figure = plot_first_layer_filters(create_model())
    learned = [axis for axis in figure.get_axes() if axis.images
               and axis.get_title().isdigit()]
    assert len(learned) == 32
    titles = [subfigure.get_suptitle() for subfigure in figure.subfigs]
    assert titles[0].startswith("Its 32 filters (3 x 3 pixels x 3 colours), on one scale")
    plt.close("all")


# Item 17: check_split with an impossible total.

@pytest.mark.parametrize("total", [0, 1, -5])
def test_item_17_check_split_refuses_a_total_too_small_for_a_split(total):
    """total=0 said "expected -1 and 1"."""
    with pytest.raises(CheckpointError, match=f"total={total}.*len\\(train_images\\)") as raised:
        check_split(TRAIN, VALIDATION, total, None)
    assert "expected -" not in str(raised.value)


# Item 18: output folders behind a symbolic link to nothing, or a loop.

def test_item_18_a_the_stand_in_is_not_trained_for_a_folder_behind_a_dangling_link(
        tmp_path, capsys):
    """The stand-in trained first, then its folder was refused."""
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "unmounted disk")
    with pytest.raises(OutputError, match=re.escape(LOOP_ADVICE)):
        load_trained_model(link, TRAIN)
    assert "STAND-IN" not in capsys.readouterr().out


@pytest.fixture
def loop(tmp_path):
    link = tmp_path / "loop"
    link.symlink_to(link)
    return link


def test_item_18_b_saving_into_a_link_loop_gives_the_loop_advice(loop):
    """It said "Free some disk space"."""
    model = compile_model(softmax_network())
    history = train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    for call in (lambda: save_model(model, loop), lambda: save_history(history, loop)):
        with pytest.raises(OutputError, match=re.escape(LOOP_ADVICE)) as raised:
            call()
        assert "disk space" not in str(raised.value) and str(loop) in str(raised.value)


def test_item_18_b_saving_under_a_dangling_link_gives_the_link_advice(tmp_path):
    """It said "Its folder does not exist: create it first (prepare_output_dir(folder)
    does)", which refuses the same folder."""
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "unmounted disk")
    with pytest.raises(OutputError, match=re.escape(LOOP_ADVICE)):
        save_history({"loss": [1.0], "accuracy": [0.5]}, link)


def test_item_18_c_a_history_behind_a_link_loop_is_not_called_damaged(loop):
    with pytest.raises(ModelFileError, match="cannot be read") as raised:
        load_history(loop)
    assert "damaged" not in str(raised.value) and LOOP_ADVICE in str(raised.value)


def test_item_18_b_any_file_written_into_a_link_loop_gets_the_loop_advice(loop):
    """atomic_path's advice for "Too many levels of symbolic links" was "Free some disk
    space" (a plot, the metrics, an epoch log). Written after the fix: seen failing with
    the old `files.advice` put back."""
    from cnn_lesson.files import write_json

    with pytest.raises(OutputError, match=re.escape(LOOP_ADVICE)) as raised:
        write_json(loop / "metrics.json", {})
    assert "disk space" not in str(raised.value)
