"""Lesson 5's exercises: every stub says "not yet", every solution passes its check, and
typical mistakes get their hint."""

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from cnn_lesson import evaluate, prepare_output_dir, settings, take_subset
from cnn_lesson.exercises import Feedback, lesson5
from cnn_lesson.further import (FURTHER_FOLDER, SmoothedSparseCrossentropy,
                                create_further_model, train_further)
from tests.helpers import exercise_pairs, random_images, run_cell

LESSON_5 = Path(__file__).resolve().parent.parent / "notebooks" / "05_going_further.ipynb"




def _trains(cell) -> bool:
    return "train_further(" in cell.source


@pytest.fixture
def namespace(tmp_path):
    """What the lesson's cells above the exercises define, on a small random data set."""
    images, labels = random_images(700, seed=5)
    output_dir = prepare_output_dir(tmp_path / "output")
    namespace = {
        "np": np, "keras": keras, "lesson": settings({"CNN_LESSON_QUICK": "1"}),
        "output_dir": output_dir, "further_dir": output_dir / FURTHER_FOLDER,
        "train_data": (images[:500], labels[:500]),
        "validation_data": (images[500:], labels[500:]),
        "SmoothedSparseCrossentropy": SmoothedSparseCrossentropy,
        "create_further_model": create_further_model, "train_further": train_further,
        "evaluate": evaluate, "prepare_output_dir": prepare_output_dir,
        "take_subset": take_subset,
    }
    namespace.update({name: getattr(lesson5, name) for name in dir(lesson5)
                      if name.startswith("check_")})
    return namespace


def test_lesson_5_has_at_least_three_exercises_and_one_that_trains():
    pairs = exercise_pairs(LESSON_5)
    assert len(pairs) >= 3
    assert sum(_trains(solution) for _, solution in pairs) == 1


def test_every_stub_says_not_yet_and_every_solution_passes(namespace, capsys):
    for stub, solution in exercise_pairs(LESSON_5):
        untouched = run_cell(stub.source, namespace)
        assert isinstance(untouched, Feedback) and untouched.status == "not yet", stub.id
        if not _trains(solution):
            solved = run_cell(solution.source, namespace)
            assert solved.passed, (solution.id, str(solved))


@pytest.mark.slow
def test_the_training_solution_passes_and_writes_only_into_its_own_folder(namespace, capsys):
    (stub, solution), = [pair for pair in exercise_pairs(LESSON_5) if _trains(pair[1])]
    assert run_cell(stub.source, namespace).status == "not yet"
    solved = run_cell(solution.source, namespace)
    assert solved.passed, str(solved)
    output_dir = namespace["output_dir"]
    written = {path.relative_to(output_dir).parts[:2] for path in output_dir.rglob("*")
               if path.is_file()}
    assert written and all(parts == (FURTHER_FOLDER, "exercises") for parts in written)
    model, history = namespace["small_run"]
    assert "augmentation" not in [layer.name for layer in model.layers]
    assert len(history.history["val_accuracy"]) == 1  # quick mode: 1 epoch


def test_the_hand_count_is_keras_count():
    assert lesson5.further_parameters() == create_further_model().count_params() == 540_394
    assert lesson5.further_parameters(residual_convs=2) == 688_362
    assert lesson5.further_parameters((16, 32, 64, 128)) == lesson5.HALF_WIDTH_PARAMETERS


def test_exercise_1_typical_mistakes_get_their_hint():
    assert lesson5.check_half_width_count(136_570).passed
    assert "lesson's network" in lesson5.check_half_width_count(540_394).message
    assert "about half" in lesson5.check_half_width_count(270_197).message
    assert "bias" in lesson5.check_half_width_count(136_570 + 304).message
    assert "trainable" in lesson5.check_half_width_count(136_570 - 608).message
    assert lesson5.check_half_width_count("many").status == "wrong"  # no traceback


def test_exercise_2_the_gap_is_where_keras_loss_is_lowest():
    gaps = np.arange(0, 8, 0.01, dtype="float32")
    logits = np.zeros((len(gaps), 10), dtype="float32")
    logits[:, 3] = gaps
    losses = SmoothedSparseCrossentropy(0.2, reduction=None)(
        np.full((len(gaps), 1), 3), keras.ops.softmax(logits))
    lowest = float(gaps[int(np.argmin(keras.ops.convert_to_numpy(losses)))])
    assert abs(lowest - math.log(41)) < 0.02
    assert lesson5.check_smoothed_gap(lowest).passed
    assert "0.1" in lesson5.check_smoothed_gap(math.log(91)).message
    assert "nine wrong classes" in lesson5.check_smoothed_gap(math.log(36)).message
    assert "target probability" in lesson5.check_smoothed_gap(0.82).message
    assert "nine others" in lesson5.check_smoothed_gap(math.log(0.82 / 0.18)).message
    assert lesson5.check_smoothed_gap(2.0).status == "wrong"


def test_exercise_3_the_next_bfloat16_number_is_keras_rounding():
    just_above = float(keras.ops.convert_to_tensor(1 + 2**-8 + 2**-12, dtype="bfloat16"))
    assert just_above == 1 + 2**-7 and lesson5.check_bfloat16_step(just_above).passed
    assert float(keras.ops.convert_to_tensor(1 + 2**-8, dtype="bfloat16")) == 1.0  # to even
    assert "step" in lesson5.check_bfloat16_step(2**-7).message
    assert "float16" in lesson5.check_bfloat16_step(1 + 2**-10).message
    assert "float32" in lesson5.check_bfloat16_step(1 + 2**-23).message
    assert "not a bfloat16 number" in lesson5.check_bfloat16_step(1.001).message
    assert "not above 1" in lesson5.check_bfloat16_step(1.0).message


class _Run:
    """A trained-looking (model, history) pair without training."""

    def __init__(self, augment: bool, val_accuracy: float, accuracy: float, iterations: int):
        self.model = create_further_model(augment=augment, precision="float32")
        self.model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"])
        self.model.optimizer.iterations.assign(iterations)
        self.history = keras.callbacks.History()
        self.history.history = {"val_accuracy": [val_accuracy], "accuracy": [accuracy]}


def test_exercise_4_typical_mistakes_get_their_hint():
    small = random_images(200, seed=9)
    run = _Run(augment=False, val_accuracy=0.1, accuracy=0.3, iterations=1)
    pair = (run.model, run.history)
    _, plain = evaluate(run.model, *small)
    # a clear gap of 0.2, whatever the untrained model scores (often exactly chance)
    run.history.history["val_accuracy"] = [plain - 0.2]
    assert lesson5.check_generalisation_gap(0.2, pair, small).passed
    assert "wrong sign" in lesson5.check_generalisation_gap(-0.2, pair, small).message
    printed_gap = 0.3 - (plain - 0.2)
    if abs(printed_gap - 0.2) > 1e-3:
        assert "Keras printed" in lesson5.check_generalisation_gap(printed_gap, pair,
                                                                  small).message
    augmented = _Run(augment=True, val_accuracy=0.1, accuracy=0.3, iterations=1)
    assert "augment=False" in lesson5.check_generalisation_gap(
        0.0, (augmented.model, augmented.history), small).hint
    too_long = _Run(augment=False, val_accuracy=0.1, accuracy=0.3, iterations=100)
    assert "small_train" in lesson5.check_generalisation_gap(
        0.0, (too_long.model, too_long.history), small).hint
    assert "(model, history)" in lesson5.check_generalisation_gap(0.0, run.model, small).hint

