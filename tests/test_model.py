import io

import keras
import numpy as np
from keras import layers

from cnn_lesson.model import create_model, explain_parameters

EXPECTED_LAYERS = [
    (layers.Conv2D, (None, 30, 30, 32)),
    (layers.BatchNormalization, (None, 30, 30, 32)),
    (layers.MaxPooling2D, (None, 15, 15, 32)),
    (layers.Dropout, (None, 15, 15, 32)),
    (layers.Conv2D, (None, 13, 13, 64)),
    (layers.BatchNormalization, (None, 13, 13, 64)),
    (layers.MaxPooling2D, (None, 6, 6, 64)),
    (layers.Dropout, (None, 6, 6, 64)),
    (layers.Conv2D, (None, 4, 4, 128)),
    (layers.BatchNormalization, (None, 4, 4, 128)),
    (layers.MaxPooling2D, (None, 2, 2, 128)),
    (layers.Dropout, (None, 2, 2, 128)),
    (layers.Flatten, (None, 512)),
    (layers.Dense, (None, 128)),
    (layers.BatchNormalization, (None, 128)),
    (layers.Dropout, (None, 128)),
    (layers.Dense, (None, 10)),
]


def test_layers_in_the_reference_order_with_their_output_shapes():
    model = create_model()
    assert [(type(layer), tuple(layer.output.shape)) for layer in model.layers] == EXPECTED_LAYERS


def test_layer_settings_match_the_reference():
    model = create_model()
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    assert [conv.filters for conv in convs] == [32, 64, 128]
    assert all(conv.kernel_size == (3, 3) and conv.activation.__name__ == "relu" for conv in convs)
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, layers.Dropout)]
    assert dropouts == [0.25, 0.25, 0.25, 0.5]
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.layers[-4].activation.__name__ == "relu"


def test_parameter_counts():
    model = create_model()
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert model.count_params() == 161_610
    assert non_trainable == 704


def test_output_is_a_probability_distribution():
    model = create_model()
    probabilities = model.predict(np.random.default_rng(0).random((4, 32, 32, 3)), verbose=0)
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def _summary(model: keras.Model) -> str:
    buffer = io.StringIO()
    model.summary(print_fn=lambda line, **_: buffer.write(line + "\n"))
    return buffer.getvalue()


def test_summary_is_the_same_text_every_time():
    first, second = _summary(create_model()), _summary(create_model())
    assert first == second
    assert "cifar10_cnn" in first and "conv1" in first and "161,610" in first


def test_explain_parameters_formulas_add_up():
    model = create_model()
    rows = explain_parameters(model)
    assert [name for name, _, _ in rows] == [layer.name for layer in model.layers]
    assert sum(count for _, _, count in rows) == 161_610
    by_name = {name: (formula, count) for name, formula, count in rows}
    assert by_name["conv1"] == ("(3x3x3 weights + 1 bias) x 32 filters", 896)
    assert by_name["dense"] == ("(512 inputs + 1 bias) x 128 units", 65_664)
    assert by_name["batchnorm4"][1] == 4 * 128
    assert by_name["pool1"] == ("no parameters: a fixed operation", 0)
