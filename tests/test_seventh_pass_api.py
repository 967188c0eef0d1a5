"""The seventh hostile pass over the public API (findings 5, 6, 7, 10 and 23 of its report).

Each case failed before with a raw AttributeError or ValueError, hung, or named an argument
the learner never passed. The arguments of `train_further` are checked before any slow
work: the tests replace the whitening and the model building with failures to show it.
"""

from __future__ import annotations

import os
import re
import threading

import keras
import numpy as np
import pytest
from keras import layers

import cnn_lesson.further as further
from cnn_lesson.config import MAX_SEED
from cnn_lesson.errors import SettingsError
from cnn_lesson.feature_maps import layer_explorer
from cnn_lesson.precision import fast_precision
from tests.helpers import random_images

TEXT_STRATEGY = "strategy='gpu': pass a tf.distribute strategy, such as"


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, name="c")
        self.flat = layers.Flatten()
        self.dense = layers.Dense(10)

    def call(self, x):
        return self.dense(self.flat(self.conv(x)))


@pytest.fixture
def no_slow_work(monkeypatch):
    """train_further's whitening and model building fail the test if they are reached."""
    def slow(*args, **kwargs):
        raise AssertionError("slow work started before the arguments were checked")

    monkeypatch.setattr(further, "whitening_filters", slow)
    monkeypatch.setattr(further, "create_further_model", slow)


@pytest.fixture(scope="module")
def data():
    return random_images(8), random_images(4, seed=1)


# Finding 5
@pytest.mark.parametrize("kind", ["sequential without keras.Input", "subclassed",
                                  "subclassed, called once"])
def test_layer_explorer_refuses_a_model_without_an_input_shape(kind):
    image = random_images(1)[0][0]
    if kind.startswith("sequential"):
        model = keras.Sequential([layers.Conv2D(4, 3, name="c"), layers.Flatten(),
                                  layers.Dense(10)])
    else:
        model = _Subclassed()
        if kind.endswith("once"):  # built, but still without inputs to make sub-models from
            model(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(SettingsError, match=re.escape("keras.Input(shape=(32, 32, 3))")):
        layer_explorer(model, image)


# Finding 6
def test_build_further_model_and_train_further_refuse_a_strategy_given_as_text(
        data, no_slow_work):
    train_data, validation_data = data
    with pytest.raises(SettingsError, match=re.escape(TEXT_STRATEGY)):
        further.build_further_model(10, strategy="gpu")
    with pytest.raises(SettingsError, match=re.escape(TEXT_STRATEGY)):
        further.train_further(train_data, validation_data, epochs=1, strategy="gpu")


# Finding 7
@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**70, True, 1.5, "3", np.int64(-1)],
                         ids=["-1", "2**32", "2**70", "True", "1.5", "text", "np.int64(-1)"])
def test_train_further_refuses_seeds_that_are_no_seeds_before_any_slow_work(
        data, no_slow_work, seed):
    train_data, validation_data = data
    with pytest.raises(SettingsError, match=re.escape(
            f"seed={seed!r}: use a whole number from 0 to {MAX_SEED:,}")):
        further.train_further(train_data, validation_data, epochs=1, seed=seed)


def test_train_further_takes_numpy_integer_seeds(data, monkeypatch):
    seen = {}

    def fake_train(model, train_data, validation_data, **kwargs):  # no real training
        seen.update(kwargs)
        return "history"

    monkeypatch.setattr(further, "train", fake_train)
    train_data, validation_data = data
    model, history = further.train_further(
        train_data, validation_data, epochs=1, batch_size=4, seed=np.int64(MAX_SEED),
        filters=(4, 4, 4, 4), augment=False, precision="float32")
    assert history == "history" and seen["seed"] == MAX_SEED and type(seen["seed"]) is int
    # The whitening is in place and frozen, as before.
    first = model.get_layer("stage1_conv")
    assert not first.trainable
    np.testing.assert_allclose(first.get_weights()[0],
                               further.whitening_filters(train_data[0], 4), rtol=1e-6)


# Finding 10
def _returns_within(call, seconds: float, unblock=None):
    """call()'s result, or an AssertionError if it has not returned after `seconds`."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        thread.join(seconds)
        raise AssertionError(f"still running after {seconds} s")
    return result.get("value")


def test_fast_precision_does_not_wait_on_a_named_pipe_nor_read_dev_zero(tmp_path, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    pipe = tmp_path / "cpuinfo"
    os.mkfifo(pipe)

    def unblock():  # a writer that closes at once: the blocked reader gets end of file
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

    assert _returns_within(lambda: fast_precision(pipe), 5, unblock) == "float32"
    if os.path.exists("/dev/zero"):  # endless: it filled the memory
        assert _returns_within(lambda: fast_precision("/dev/zero"), 5) == "float32"
    # A regular file is still read.
    flags = tmp_path / "flags"
    flags.write_text("flags\t\t: fpu avx512_bf16\n")
    assert fast_precision(flags) == "mixed_bfloat16"


# Finding 23
@pytest.mark.parametrize("arguments, text", [
    ({"epochs": 0}, "epochs=0: use a whole number of at least 1"),
    ({"epochs": "3"}, "epochs='3': use a whole number"),
    ({"epochs": 2.5}, "epochs=2.5: use a whole number"),
    ({"train_data": "extra"}, "train_data must be (images, labels), as split_validation "
                              "returns them, not tuple of length 3"),
], ids=["epochs=0", "epochs as text", "epochs=2.5", "train_data of three"])
def test_train_further_names_the_argument_the_learner_passed(data, no_slow_work, arguments,
                                                             text):
    train_data, validation_data = data
    if arguments.get("train_data") == "extra":
        arguments = {"train_data": (*train_data, train_data[1])}
    call = {"train_data": train_data, "validation_data": validation_data, "epochs": 1,
            **arguments}
    with pytest.raises(SettingsError, match=re.escape(text)) as raised:
        further.train_further(**call)
    assert "total_steps" not in str(raised.value)
