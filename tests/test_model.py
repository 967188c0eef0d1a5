import io

import keras
import numpy as np
import pytest
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


def _lesson_2_model():
    """Run lesson 2's own Keras code (the block function and the Sequential cell)."""
    import contextlib
    import io
    from pathlib import Path

    import nbformat

    lesson = Path(__file__).resolve().parent.parent / "notebooks" / "02_the_model.ipynb"
    cells = {cell.id: cell.source for cell in nbformat.read(lesson, as_version=4).cells}
    namespace = {"keras": keras, "layers": keras.layers}
    with contextlib.redirect_stdout(io.StringIO()):  # the cell ends with model.summary()
        for cell_id in ("model-14a", "model-15"):
            exec(cells[cell_id], namespace)
    return namespace["model"]


def test_lesson_2_writes_out_exactly_the_model_create_model_builds():
    """The Keras code learners read in lesson 2 and `create_model()` cannot drift apart."""
    shown, built = _lesson_2_model(), create_model()
    assert shown.name == built.name
    assert [type(layer) for layer in shown.layers] == [type(layer) for layer in built.layers]
    for ours, theirs in zip(shown.layers, built.layers):
        assert ours.get_config() == theirs.get_config(), ours.name
    assert shown.input_shape == built.input_shape == (None, 32, 32, 3)
    assert shown.count_params() == built.count_params() == 161_610


def test_create_model_takes_the_widths_the_exercises_change():
    narrow = create_model(filters=(16, 64, 128))
    assert narrow.get_layer("conv1").filters == 16
    # conv1 (3x3x3 + 1) x 16, batchnorm1 4 x 16, conv2 (3x3x16 + 1) x 64; the rest unchanged
    assert narrow.count_params() == 161_610 - 448 - 64 - 9_216
    assert create_model(dense_units=64).get_layer("dense").units == 64
    without = create_model(dropout=False)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in without.layers)
    assert without.count_params() == 161_610  # dropout has no parameters
    with pytest.raises(ValueError, match="three filter counts, whole numbers from 1 to 4,096"):
        create_model(filters=(32, 64))


def test_explain_parameters_counts_lora_weights_in_its_rows():
    """The sixth hostile pass: a layer with LoRA enabled had a formula that did not add up
    to its count."""
    model = create_model()
    dense, conv = model.get_layer("dense"), model.get_layer("conv1")
    dense.enable_lora(4)
    conv.enable_lora(2)
    rows = {name: (formula, count) for name, formula, count in explain_parameters(model)}
    assert rows["dense"] == ("(512 inputs + 1 bias) x 128 units + 2,560 LoRA weights (rank 4)",
                             513 * 128 + 4 * (512 + 128))
    assert rows["conv1"][0].endswith("LoRA weights (rank 2)")
    assert sum(count for _, count in rows.values()) == model.count_params()
