"""Saving, histories and checkpoints: the ninth hostile pass (part A, items 2, 6, 12, 13, 16,
19, 20 and 21)."""

import io
import warnings
import zipfile

import h5py
import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.backup import resumable_training
from cnn_lesson.backup.saved import weights_fingerprint
from cnn_lesson.checkpoints import CheckpointError, check_split
from cnn_lesson.errors import ModelFileError, SettingsError
from cnn_lesson.further import train_further
from cnn_lesson.model import create_model
from cnn_lesson.plots import plot_history
from cnn_lesson.precision import computes_in_float32
from cnn_lesson.saving import (
    load_model,
    load_trained_model,
    save_history,
    save_model,
)
from cnn_lesson.training import compile_model, normalize_images, train
from tests.helpers import random_images

IMAGES, LABELS = random_images(64, seed=9)
TRAIN, VALIDATION = (IMAGES[:48], LABELS[:48]), (IMAGES[48:], LABELS[48:])


def small_network(*last, dtype=None) -> keras.Sequential:
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 3, dtype=dtype),
                             layers.GlobalAveragePooling2D(dtype=dtype), *last])


def saved_optimizer_state(path) -> list[np.ndarray]:
    """The optimizer variables a `.keras` file holds, in their order."""
    with zipfile.ZipFile(path) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as file:
            variables = file["optimizer/vars"]
            return [variables[str(index)][()] for index in range(len(variables))]


def assert_saved_faithfully(model, paths) -> None:
    """The `.keras` file loads, computes in float32, has the model's weights and holds the
    state of the model's optimizer (Keras' own may skip it on loading, as for any model whose
    layers were frozen or unfrozen after its optimizer was built)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras' "Skipping variable loading"
        loaded = load_model(paths["keras"])
    assert computes_in_float32(loaded)
    for ours, theirs in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    state = saved_optimizer_state(paths["keras"])
    assert len(state) == len(model.optimizer.variables)
    for saved, variable in zip(state, model.optimizer.variables):
        np.testing.assert_array_equal(saved, variable.numpy())


def test_item_2_a_mixed_precision_model_frozen_after_training_is_saved_with_its_state(tmp_path):
    """float32_copy built the copy's optimizer over the layers trainable now, and raised a
    raw RuntimeError: lesson 3's model in mixed_bfloat16 with a layer frozen afterwards."""
    model = compile_model(create_model(precision="mixed_bfloat16"))
    train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    model.get_layer("conv1").trainable = False
    assert_saved_faithfully(model, save_model(model, tmp_path))


def test_item_2_lesson_5s_whitened_layer_unfrozen_after_training_is_saved(tmp_path):
    """The whitened first convolution a learner lets "learn too" after lesson 5's run."""
    model, _ = train_further(TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0,
                             filters=(4, 4, 4, 4), precision="mixed_bfloat16")
    model.get_layer("stage1_conv").trainable = True
    assert_saved_faithfully(model, save_model(model, tmp_path))


def test_item_6_a_number_too_large_for_a_float_in_a_history_is_refused_clearly():
    with pytest.raises(SettingsError, match="'accuracy' holds a number too large to draw"):
        plot_history({"accuracy": [10**400, 0.5], "loss": [2.0, 1.0]})


def test_item_12_a_history_saved_after_the_model_trained_on_is_not_its_history(tmp_path):
    """The fingerprint is taken when fit ends, not when the history is saved: the training
    cell run again (the model going on training), then the saving cell with the first `h`."""
    model = compile_model(small_network(layers.Dense(10, activation="softmax")))
    first = train(model, TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0)
    fingerprint = weights_fingerprint(model)
    train(model, TRAIN, VALIDATION, epochs=2, batch_size=16, verbose=0)
    save_model(model, tmp_path)
    save_history(first, tmp_path)
    with pytest.raises(ModelFileError, match="do not belong together.*trained on after"):
        load_trained_model(tmp_path, TRAIN)
    assert first.weights_fingerprint == fingerprint  # stamped by `ResumableTraining.finish`


def test_item_12_lesson_3s_own_fit_is_stamped_by_finish(tmp_path):
    """Lesson 3 calls model.fit with resumable_training's callbacks, then `finish`."""
    model = compile_model(small_network(layers.Dense(10, activation="softmax")))
    progress = resumable_training(tmp_path / "run")
    history = model.fit(normalize_images(TRAIN[0]), TRAIN[1], epochs=1, verbose=0,
                        validation_data=(normalize_images(VALIDATION[0]), VALIDATION[1]),
                        callbacks=progress.callbacks)
    history = progress.finish(history)
    fingerprint = weights_fingerprint(model)
    save_model(model, tmp_path)
    save_history(history, tmp_path)
    assert not load_trained_model(tmp_path, TRAIN).stand_in  # saved together: loads
    model.fit(normalize_images(TRAIN[0]), TRAIN[1], epochs=1, verbose=0)
    save_model(model, tmp_path)
    save_history(history, tmp_path)  # the history of the first fit
    with pytest.raises(ModelFileError, match="do not belong together"):
        load_trained_model(tmp_path, TRAIN)
    assert history.weights_fingerprint == fingerprint


def test_item_12_a_plain_model_fit_history_still_takes_the_weights_when_saved(tmp_path):
    model = compile_model(small_network(layers.Dense(10, activation="softmax")))
    history = model.fit(normalize_images(TRAIN[0]), TRAIN[1], epochs=1, verbose=0,
                        validation_data=(normalize_images(VALIDATION[0]), VALIDATION[1]))
    save_model(model, tmp_path)
    save_history(history, tmp_path)
    assert not load_trained_model(tmp_path, TRAIN).stand_in


def test_item_13_float32_weights_keep_the_fingerprint_of_files_saved_before():
    import hashlib

    model = small_network(layers.Dense(10, activation="softmax"))
    hasher = hashlib.blake2b(digest_size=6)
    for weight in model.weights:
        hasher.update(np.asarray(weight.numpy()).tobytes())
    assert weights_fingerprint(model) == hasher.hexdigest()


@pytest.mark.parametrize("policy", ["float16", "float64"])
def test_item_13_a_float16_or_float64_model_and_its_history_belong_together(policy, tmp_path,
                                                                              capsys):
    """save_model writes the float32 copy; the history's fingerprint is of the same weights."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = small_network(layers.Dense(10), layers.Activation("softmax", dtype="float32"))
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.weights[0].dtype == policy
    history = train(compile_model(model), TRAIN, VALIDATION, epochs=1, batch_size=16,
                    verbose=0)
    save_model(model, tmp_path)
    saved_as = capsys.readouterr().out
    assert ("float64 weights were saved as float32" in saved_as) == (policy == "float64")
    save_history(history, tmp_path)
    loaded = load_trained_model(tmp_path, TRAIN)
    assert not loaded.stand_in and computes_in_float32(loaded.model)


def test_item_16_the_h5_of_a_logits_model_is_not_called_damaged(tmp_path):
    """The TensorFlow tutorial's model: compile_model's refusal came out as "damaged"."""
    model = small_network(layers.Dense(10))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(normalize_images(IMAGES), LABELS, epochs=1, verbose=0)
    paths = save_model(model, tmp_path)
    load_model(paths["keras"])
    with pytest.raises(SettingsError, match="has no softmax") as caught:
        load_model(paths["h5"])
    assert not isinstance(caught.value, ModelFileError)
    assert "damaged" not in str(caught.value)


def test_item_19_a_history_of_metrics_acc_says_to_compile_with_accuracy(tmp_path):
    model = small_network(layers.Dense(10, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(normalize_images(IMAGES), LABELS, epochs=1, verbose=0,
                        validation_split=0.25)
    assert {"acc", "val_acc"} <= set(history.history)
    for call in (lambda: plot_history(history), lambda: save_history(history, tmp_path)):
        with pytest.raises(SettingsError, match='names the accuracy "acc".*'
                                                'metrics=\\["accuracy"\\]') as caught:
            call()
        assert "pass model.fit's History" not in str(caught.value).replace("Pass", "pass")
    assert not (tmp_path / "history.json").exists()


def test_item_20_check_split_expects_the_rest_of_the_images_to_train_on():
    with pytest.raises(CheckpointError, match="48 training and 16 validation images out of 64; "
                                              "expected 58 and 6"):
        check_split(TRAIN, VALIDATION, 64, None)
    with pytest.raises(CheckpointError, match="expected 20 and 6"):
        check_split(TRAIN, VALIDATION, 64, 20)


def test_item_21_an_explicit_whitening_wins_over_the_computed_one():
    whitening = np.full((3, 3, 3, 4), 0.25, np.float32)
    model, _ = train_further(TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0,
                             filters=(4, 4, 4, 4), whitening=whitening)
    first = model.get_layer("stage1_conv")
    np.testing.assert_array_equal(first.get_weights()[0], whitening)
    assert not first.trainable
    with pytest.raises(SettingsError, match="whitening has shape"):  # no longer replaced
        train_further(TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0,
                      filters=(4, 4, 4, 4), whitening=np.zeros((3, 3, 3, 8), np.float32))
