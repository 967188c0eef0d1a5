"""Mixed precision: choosing it, building models in it, and saving them as float32."""

import keras
import numpy as np
import pytest

from cnn_lesson.errors import BackupError, SettingsError
from cnn_lesson.further import create_further_model
from cnn_lesson.model import create_model
from cnn_lesson.precision import (
    computes_in_float32,
    fast_precision,
    float32_copy,
    layers_computing_in,
)
from cnn_lesson.saving import load_model, save_model
from cnn_lesson.training import (
    compile_model,
    normalize_images,
    one_cycle_schedule,
    train,
)
from tests.helpers import InterruptAfter, random_images

MIXED = "mixed_bfloat16"


def test_fast_precision_uses_bfloat16_only_where_the_cpu_has_it(tmp_path, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert fast_precision(cpuinfo) == MIXED
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n")
    assert fast_precision(cpuinfo) == MIXED
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f\n")
    assert fast_precision(cpuinfo) == "float32"
    assert fast_precision(tmp_path / "no such file") == "float32"  # macOS, Windows
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    cpuinfo.write_text("flags\t\t: avx512_bf16\n")
    assert fast_precision(cpuinfo) == "float32"


def test_lesson_model_in_mixed_precision_is_the_same_network_with_float32_weights_and_output():
    before = keras.config.dtype_policy().name
    model = create_model(precision=MIXED)
    assert keras.config.dtype_policy().name == before
    assert model.count_params() == 161_610
    assert model.get_layer("conv1").dtype_policy.name == MIXED
    assert model.get_layer("conv1").compute_dtype == "bfloat16"
    assert all(weight.dtype == "float32" for weight in model.weights)
    output = model(normalize_images(random_images(2)[0]))
    assert keras.backend.standardize_dtype(output.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(output).sum(axis=1), 1.0, rtol=1e-5)


def test_the_reference_model_is_float32_whatever_the_global_policy():
    with layers_computing_in(MIXED):
        model = create_model()
    assert computes_in_float32(model)
    assert not computes_in_float32(create_model(precision=MIXED))
    chosen = create_model(precision=None)  # this computer's fastest
    assert chosen.get_layer("conv1").dtype_policy.name == fast_precision()


def test_an_unknown_precision_is_refused_and_leaves_the_global_policy_alone():
    before = keras.config.dtype_policy().name
    with pytest.raises(SettingsError, match="float32, mixed_bfloat16"):
        create_model(precision="float16")
    with pytest.raises(SettingsError, match="got 'bf16'"):
        with layers_computing_in("bf16"):
            pass
    assert keras.config.dtype_policy().name == before


@pytest.fixture(scope="module")
def mixed_trained():
    images, labels = random_images(64, seed=3)
    model = compile_model(create_model(precision=MIXED), one_cycle_schedule(6))
    train(model, (images[:48], labels[:48]), (images[48:], labels[48:]), epochs=2,
          batch_size=16, verbose=0)
    return model, normalize_images(images[:8])


def test_float32_copy_has_the_weights_and_optimizer_state_and_leaves_the_model_alone(mixed_trained):
    model, sample = mixed_trained
    copy = float32_copy(model)
    assert computes_in_float32(copy) and not computes_in_float32(model)
    for ours, theirs in zip(copy.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert copy.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 6
    for ours, theirs in zip(copy.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # bfloat16 keeps about 3 significant digits: the copy predicts nearly the same
    np.testing.assert_allclose(copy.predict(sample, verbose=0), model.predict(sample, verbose=0),
                               atol=0.02)
    float32_model = create_model()
    assert float32_copy(float32_model) is float32_model


def test_a_mixed_precision_model_is_saved_as_float32_and_can_train_on(mixed_trained, tmp_path):
    model, sample = mixed_trained
    paths = save_model(model, tmp_path)
    expected = float32_copy(model).predict(sample, verbose=0)
    for path in paths.values():
        loaded = load_model(path)
        assert computes_in_float32(loaded), path.name
        np.testing.assert_allclose(loaded.predict(sample, verbose=0), expected, atol=1e-5)
    loaded = load_model(paths["keras"])
    assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy()
    images, labels = random_images(32, seed=4)
    train(loaded, (images, labels), (images, labels), epochs=1, batch_size=16, verbose=0)
    assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() + 2


def test_best_model_of_a_mixed_precision_run_is_saved_as_float32(tmp_path):
    images, labels = random_images(48, seed=5)
    model = compile_model(create_model(precision=MIXED))
    train(model, (images[:32], labels[:32]), (images[32:], labels[32:]), epochs=1,
          batch_size=16, verbose=0, output_dir=tmp_path)
    assert computes_in_float32(load_model(tmp_path / "best_model.keras"))


def test_float32_copy_of_lesson_5s_network_includes_its_augmentation_layers():
    model = create_further_model(precision=MIXED)
    copy = float32_copy(model)
    assert computes_in_float32(copy)
    assert copy.get_layer("augmentation").layers[0].dtype_policy.name == "float32"
    assert copy.count_params() == model.count_params()


def test_a_run_interrupted_in_mixed_precision_continues_only_in_mixed_precision(tmp_path, capsys):
    """Half the epochs in bfloat16 and half in float32 would be a run metrics.json mislabels."""
    images, labels = random_images(48, seed=6)
    data = (images[:32], labels[:32]), (images[32:], labels[32:])
    with pytest.raises(KeyboardInterrupt):
        train(compile_model(create_model(precision=MIXED)), *data, epochs=2, batch_size=16,
              output_dir=tmp_path, callbacks=[InterruptAfter(1)])
    float32_model = compile_model(create_model(precision="float32"))  # e.g. another computer
    with pytest.raises(BackupError, match="precision: mixed_bfloat16 \\(backup\\), float32"):
        train(float32_model, *data, epochs=2, batch_size=16, output_dir=tmp_path)
    model = compile_model(create_model(precision=MIXED))
    history = train(model, *data, epochs=2, batch_size=16, output_dir=tmp_path)
    assert "1 epoch(s) already done" in capsys.readouterr().out
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 4


def test_a_mixed_precision_model_compiled_but_never_trained_can_be_saved(tmp_path):
    """Found by the fifth hostile pass's reviewer: float32_copy built the copy's optimizer
    and compared it with the model's unbuilt one, a raw RuntimeError from save_model."""
    model = compile_model(create_model(precision="mixed_bfloat16"))
    paths = save_model(model, tmp_path)
    loaded = load_model(paths["keras"])
    assert loaded.dtype_policy.name == "float32" and loaded.count_params() == 161_610
