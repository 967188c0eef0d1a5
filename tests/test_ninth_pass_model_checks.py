"""The ninth hostile pass (issue 17, /tmp/pass9/A.md) on the model checks: models that
train or save without a word and fail later (or never learn), and legitimate models that
were refused. Each case failed before its fix."""

import keras
import numpy as np
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.saving import save_model
from cnn_lesson.training import compile_model, evaluate, one_cycle_schedule, train
from tests.helpers import random_images


@pytest.fixture(scope="module")
def data():
    images, labels = random_images(64, seed=9)
    return (images[:48], labels[:48]), (images[48:], labels[48:])


def _net(*last, first=()):
    return keras.Sequential([keras.Input((32, 32, 3)), *first, layers.Conv2D(4, 3),
                             layers.GlobalAveragePooling2D(), *last])


def _softmax_net(**kwargs):
    return _net(layers.Dense(10, activation="softmax"), **kwargs)


class Scale(layers.Layer):
    """A layer of one's own, as in Keras' guide, never registered."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Shift(layers.Layer):
    """A layer of one's own with an argument Keras cannot describe (an array)."""

    def __init__(self, mean, **kwargs):
        super().__init__(**kwargs)
        self.mean = mean

    def call(self, x):
        return x - self.mean


@keras.saving.register_keras_serializable(package="ninth_pass")
class RegisteredScale(Scale):
    pass


# Items 1 and 3: a model saved that can never be loaded, or a raw NotImplementedError.

@pytest.mark.parametrize("layer, name", [(lambda: Scale(0.5), "Scale"),
                                         (lambda: Shift(np.full(3, 0.5, "float32")), "Shift")],
                         ids=["unregistered", "unserialisable argument"])
def test_a_layer_keras_cannot_load_back_is_refused_before_training_and_saving(
        data, tmp_path, layer, name):
    model = compile_model(_softmax_net(first=[layer()]))
    for call in (lambda: train(model, *data, epochs=1, verbose=0, output_dir=tmp_path),
                 lambda: save_model(model, tmp_path)):
        with pytest.raises(SettingsError, match=rf"class of your own \({name}\).*"
                                                r"register_keras_serializable"):
            call()
    assert list(tmp_path.iterdir()) == [] and not model.optimizer.built


def test_a_registered_layer_of_ones_own_is_saved_and_loads(data, tmp_path):
    from cnn_lesson.saving import load_model

    model = compile_model(_softmax_net(first=[RegisteredScale(0.5)]))
    train(model, *data, epochs=1, verbose=0, output_dir=tmp_path)
    save_model(model, tmp_path)
    loaded = load_model(tmp_path / "model.keras")
    assert loaded.layers[0].factor == 0.5


# Item 4: a callback that sets the learning rate on a scheduled optimizer.

@pytest.mark.parametrize("callback", [
    lambda: keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.9),
    lambda: keras.callbacks.ReduceLROnPlateau(patience=0, min_delta=1)],
    ids=["LearningRateScheduler", "ReduceLROnPlateau"])
def test_a_rate_callback_on_a_scheduled_rate_is_refused_before_training(data, tmp_path,
                                                                        callback):
    model = compile_model(_softmax_net(), one_cycle_schedule(10))
    with pytest.raises(SettingsError, match=r"sets the learning rate.*compile_model\(model, "
                                            r"1e-3\)"):
        train(model, *data, epochs=2, verbose=0, callbacks=[callback()], output_dir=tmp_path)
    assert not model.optimizer.built
    constant = compile_model(_softmax_net(), 1e-3)  # a constant rate the callback can change
    history = train(constant, *data, epochs=2, verbose=0, callbacks=[callback()])
    assert len(history.history["loss"]) == 2


# Item 5 and 14: losses given in a list, a dict, or as a class without ().

@pytest.mark.parametrize("loss", [["categorical_crossentropy"],
                                  {"out": "categorical_crossentropy"},
                                  keras.losses.CategoricalCrossentropy],
                         ids=["list", "dict", "class"])
def test_a_one_hot_loss_in_any_form_is_refused(data, loss):
    inputs = keras.Input((32, 32, 3))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="out")(pooled))
    model.compile("adam", loss, metrics=["accuracy"])
    for call in (lambda: train(model, *data, epochs=1, verbose=0),
                 lambda: evaluate(model, *data[1])):
        with pytest.raises(SettingsError, match="'categorical_crossentropy', where the labels"):
            call()


@pytest.mark.parametrize("loss", [keras.losses.SparseCategoricalCrossentropy,
                                  ["sparse_categorical_crossentropy"]], ids=["class", "list"])
def test_the_right_loss_in_another_form_is_accepted(data, loss):
    model = _softmax_net()
    model.compile("adam", loss, metrics=["accuracy"])
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1
    assert 0 <= evaluate(model, *data[1])[1] <= 1


def test_a_model_compiled_without_a_loss_is_told_so(data):
    """Item 18: it said "compiled with the loss 'missing'"."""
    model = _softmax_net()
    model.compile("adam", metrics=["accuracy"])
    with pytest.raises(SettingsError, match=r"^The model was compiled without a loss: "):
        train(model, *data, epochs=1, verbose=0)


# Item 7: a logits model without keras.Input trained on the wrong loss.

@pytest.mark.parametrize("output_dir", [False, True])
def test_an_unbuilt_logits_model_is_refused_before_it_trains(data, tmp_path, output_dir):
    model = keras.Sequential([layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(),
                              layers.Dense(10)])
    compile_model(model)  # not built yet: its output is not known here
    with pytest.raises(SettingsError, match="has no softmax"):
        train(model, *data, epochs=1, verbose=0, output_dir=tmp_path if output_dir else None)
    assert not model.optimizer.built and list(tmp_path.iterdir()) == []


def test_an_unbuilt_softmax_model_still_trains(data):
    model = compile_model(keras.Sequential([layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(),
                                            layers.Dense(10, activation="softmax")]))
    assert len(train(model, *data, epochs=1, verbose=0).history["loss"]) == 1


# Item 8: Rescaling(1./255) on images the lessons scale already.

@pytest.mark.parametrize("rescaling", [layers.Rescaling(1 / 255),
                                       layers.Rescaling(1 / 127.5, offset=-1)],
                         ids=["1/255", "1/127.5"])
def test_a_second_division_by_255_is_refused(data, rescaling):
    with pytest.raises(SettingsError, match="divides the pixels by about 255.*Remove the "
                                            "Rescaling layer"):
        compile_model(_softmax_net(first=[rescaling]))


def test_other_rescalings_are_accepted():
    compile_model(_softmax_net(first=[layers.Rescaling(2.0, offset=-1.0)]))


# Items 9 and 10: log_softmax, and logits behind a layer that only passes them on.

@pytest.mark.parametrize("model", [
    lambda: _net(layers.Dense(10, activation="log_softmax")),
    lambda: _net(layers.Dense(10), layers.Flatten()),
    lambda: _net(layers.Dense(10), layers.Dropout(0.1)),
    lambda: keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(10, 1),
                              layers.GlobalAveragePooling2D()]),
], ids=["log_softmax", "Flatten", "Dropout", "global pooling"])
def test_a_model_that_answers_no_probabilities_is_refused(model):
    with pytest.raises(SettingsError, match="has no softmax|'log_softmax'"):
        compile_model(model())


def test_softmax_followed_by_dropout_or_pooling_is_accepted():
    compile_model(_net(layers.Dense(10, activation="softmax"), layers.Dropout(0.1)))
    compile_model(keras.Sequential([keras.Input((32, 32, 3)),
                                    layers.Conv2D(10, 1, activation="softmax"),
                                    layers.GlobalAveragePooling2D()]))


def test_a_logits_model_with_a_logits_loss_is_told_to_drop_from_logits(data):
    """Item 10's message: it said the model "ends in a softmax", which it does not."""
    model = _net(layers.Dense(10), layers.Flatten())
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    with pytest.raises(SettingsError, match="has no softmax.*drop from_logits=True"):
        train(model, *data, epochs=1, verbose=0)


# Item 11: another kind of accuracy named "accuracy"; item 15: metrics per output.

@pytest.mark.parametrize("metric", [keras.metrics.CategoricalAccuracy,
                                    keras.metrics.BinaryAccuracy,
                                    keras.metrics.SparseTopKCategoricalAccuracy])
def test_another_accuracy_named_accuracy_is_refused(data, metric):
    model = _softmax_net()
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[metric(name="accuracy")])
    with pytest.raises(SettingsError, match=f"{metric.__name__} named \"accuracy\""):
        evaluate(model, *data[1])


@pytest.mark.parametrize("metrics", [
    [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    {"out": ["accuracy"]}, {"out": "accuracy"}], ids=["object", "dict of lists", "dict"])
def test_the_lessons_accuracy_in_another_form_is_accepted(data, metrics):
    inputs = keras.Input((32, 32, 3))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="out")(pooled))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=metrics)
    assert 0 <= evaluate(model, *data[1])[1] <= 1


# The tenth pass (A.md 1 and 3).

def test_a_mixed_precision_model_with_an_operation_in_its_graph_is_saved(data, tmp_path):
    """`x + inputs` is a Keras operation, not a layer: the float32 copy gave it a dtype,
    and saving (also the best model after the first epoch) failed with a raw TypeError."""
    from cnn_lesson.saving import load_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        inputs = keras.Input((32, 32, 3))
        x = layers.Conv2D(3, 3, padding="same")(inputs) + inputs  # a residual connection
        pooled = layers.GlobalAveragePooling2D()(x)
        outputs = layers.Activation("softmax", dtype="float32")(layers.Dense(10)(pooled))
        model = compile_model(keras.Model(inputs, outputs))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    train(model, *data, epochs=1, verbose=0, output_dir=tmp_path)
    save_model(model, tmp_path)
    loaded = load_model(tmp_path / "model.keras")
    assert loaded.layers[1].dtype_policy.name == "float32"
    np.testing.assert_allclose(loaded.predict(data[1][0][:4] / 255, verbose=0),
                               model.predict(data[1][0][:4] / 255, verbose=0), atol=0.02)


def test_a_division_by_255_after_the_augmentation_is_refused_too():
    """The TensorFlow tutorial's model: augmentation first, then Rescaling(1./255)."""
    augmentation = keras.Sequential([layers.RandomFlip("horizontal"),
                                     layers.RandomRotation(0.1)])
    for first in ([augmentation, layers.Rescaling(1 / 255)],
                  [layers.Resizing(40, 40), layers.Rescaling(1 / 255)]):
        with pytest.raises(SettingsError, match="divides the pixels by about 255"):
            compile_model(_softmax_net(first=first))
    compile_model(_softmax_net(first=[augmentation]))  # augmentation alone is fine


@pytest.mark.parametrize("wrap", [lambda loss: [loss], lambda loss: {"out": loss}],
                         ids=["list", "dict"])
def test_from_logits_on_a_softmax_model_is_refused_in_a_list_or_dict_too(data, wrap):
    """The tenth pass (A.md 7): only a single loss object was judged for from_logits."""
    inputs = keras.Input((32, 32, 3))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="out")(pooled))
    model.compile("adam", wrap(keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
                  metrics=["accuracy"])
    with pytest.raises(SettingsError, match="from_logits=True"):
        train(model, *data, epochs=1, verbose=0)


def test_a_number_too_large_in_runs_to_plot_is_refused():
    """The tenth pass (A.md 10): a raw OverflowError in plot_accuracy_against_time."""
    import matplotlib.pyplot as plt

    from cnn_lesson.plots import plot_accuracy_against_time

    with pytest.raises(SettingsError, match="Each run must be"):
        plot_accuracy_against_time([("a", [1.0, 10**400], [0.1, 0.2])])
    plt.close("all")
