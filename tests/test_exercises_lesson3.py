"""Lesson 3's exercises: every stub says "not yet", every solution passes its check, and
typical mistakes get their hint (the quiz is tested with every lesson's in test_exercises.py)."""

import json
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from cnn_lesson import compile_model, create_model, evaluate, one_cycle_schedule
from cnn_lesson.config import settings
from cnn_lesson.exercises import Feedback, lesson3
from tests.helpers import exercise_pairs, random_images, run_cell

ROOT = Path(__file__).resolve().parent.parent
LESSON_3 = ROOT / "notebooks" / "03_training.ipynb"


def _cells():
    return nbformat.read(LESSON_3, as_version=4).cells




def _namespace(tmp_path, model, history) -> dict:
    """What the lesson's cells above the exercises leave behind, small and synthetic: the
    setup cell's imports (run from the notebook, so they stay in step), quick settings, a
    few random images, and the lesson's `model` and `history`."""
    setup = next(cell for cell in _cells() if cell.id == "training-02").source
    namespace = {}
    exec(setup.split("lesson = settings()")[0], namespace)  # the imports, not the loading
    lesson = settings({"CNN_LESSON_QUICK": "1", "CNN_LESSON_OUTPUT": str(tmp_path / "output")})
    train_data = random_images(300, seed=1)
    namespace.update(lesson=lesson, output_dir=namespace["prepare_output_dir"](lesson.output_dir),
                     train_data=train_data, validation_data=random_images(100, seed=2),
                     model=model, history=history,
                     total_steps=10 * len(namespace["make_dataset"](*train_data)))  # 10 epochs
    return namespace


def test_the_lesson_has_at_least_three_exercises_each_with_its_check():
    pairs = exercise_pairs(LESSON_3)
    assert len(pairs) >= 3
    for stub, solution in pairs:
        assert stub.source.strip().splitlines()[-1] == solution.source.strip().splitlines()[-1]


def test_every_stub_says_not_yet(tmp_path):
    model = compile_model(create_model())
    namespace = _namespace(tmp_path, model, history=None)
    for stub, _ in exercise_pairs(LESSON_3):
        untouched = run_cell(stub.source, namespace)
        assert isinstance(untouched, Feedback) and untouched.status == "not yet", stub.id
    assert not (namespace["output_dir"] / "model.keras").exists()


@pytest.mark.slow
def test_every_solution_passes_and_trains_only_in_its_own_folder(tmp_path):
    from cnn_lesson import train

    keras.utils.set_random_seed(0)
    model = compile_model(create_model())
    history = train(model, random_images(300, seed=1), random_images(100, seed=2), epochs=1,
                    verbose=0)
    namespace = _namespace(tmp_path, model, history)
    for stub, solution in exercise_pairs(LESSON_3):
        solved = run_cell(solution.source, namespace)
        assert solved.passed, (solution.id, str(solved))
    output_dir = namespace["output_dir"]
    assert sorted(path.name for path in output_dir.iterdir()) == ["exercises"]
    assert list((output_dir / "exercises").rglob("best_model.keras"))  # one per run
    backups = sorted(output_dir.rglob("training_backup"))  # each finished run keeps its weights
    assert [backup.parent.name for backup in backups] == ["sized", "too long"]
    for backup in backups:
        log = json.loads((backup.parent / "training_backup_history.json").read_text())
        assert log["finished"] is True


def test_exercise_1_counts_the_last_batch_and_only_the_training_images():
    from cnn_lesson import make_dataset

    train_data = (np.empty((45_000, 1), np.uint8), None)  # only the count matters
    answer = lesson3.check_total_steps(3 * 704, train_data)
    assert answer.passed and "703 full batches of 64 and a last one of 8" in answer.message
    assert "last, smaller batch" in lesson3.check_total_steps(3 * 703, train_data).message
    assert "batches of 128" in lesson3.check_total_steps(3 * 352, train_data).message
    assert "one epoch" in lesson3.check_total_steps(704, train_data).message
    assert "validation images" in lesson3.check_total_steps(3 * 782, train_data).message
    assert "rounds up once" in lesson3.check_total_steps(2_110, train_data).message
    for not_a_count in ("2112", 2112.4):
        answer = lesson3.check_total_steps(not_a_count, train_data)
        assert not answer.passed and "2,112 is not" not in answer.message  # never names it wrong
    assert lesson3.check_total_steps(2112.0, train_data).passed
    images, labels = random_images(1_000)  # `len` of a dataset counts what the check counts
    assert lesson3.check_total_steps(3 * len(make_dataset(images, labels, 64)),
                                     (images, labels)).passed


def test_exercise_2_counts_two_averages_per_trainable_parameter():
    model = compile_model(create_model())
    model.optimizer.build(model.trainable_variables)
    averages = sum(int(np.prod(variable.shape)) for variable in model.optimizer.variables
                   if len(variable.shape))  # Adam's own state, without its step counter
    assert averages == 2 * 160_906 == 321_812
    assert lesson3.check_adam_state(321_812, model).passed
    assert "one number per" in lesson3.check_adam_state(160_906, model).message
    assert "moving statistics" in lesson3.check_adam_state(2 * 161_610, model).message
    everything = sum(int(np.prod(variable.shape)) for variable in model.optimizer.variables)
    assert "step counter" in lesson3.check_adam_state(everything, model).message


def test_exercise_3_tells_fits_figure_from_a_measurement():
    model = compile_model(create_model())
    some_train = random_images(200, seed=4)
    history = {"accuracy": [0.2, 0.31], "val_accuracy": [0.25, 0.33]}
    loss, accuracy = evaluate(model, *some_train)
    assert lesson3.check_training_accuracy(accuracy, model, some_train, history).passed
    assert "printed" in lesson3.check_training_accuracy(0.31, model, some_train,
                                                         history).message
    assert "loss first" in lesson3.check_training_accuracy((loss, accuracy), model, some_train,
                                                           history).hint
    assert "validation accuracy" in lesson3.check_training_accuracy(0.33, model, some_train,
                                                                    history).message
    assert "share" in lesson3.check_training_accuracy(70, model, some_train, history).message
    assert "the loss" in lesson3.check_training_accuracy(loss, model, some_train, history).message


def _finished_run(learning_rate, steps: int, epochs: int = 1) -> keras.callbacks.History:
    """A `History` as `train` returns it, without training: the optimizer has taken `steps`."""
    model = compile_model(create_model(), learning_rate=learning_rate)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(steps)
    run = keras.callbacks.History()
    run.set_model(model)
    run.history = {"loss": [2.0] * epochs, "val_loss": [2.0] * epochs,
                   "accuracy": [0.3] * epochs, "val_accuracy": [0.3] * epochs}
    return run


def test_exercise_4_compares_the_lesson_schedule_with_one_sized_for_the_run():
    few = random_images(300)  # 3 batches of 128: one epoch is 3 steps
    too_long, sized = _finished_run(one_cycle_schedule(3_520), 3), _finished_run(
        one_cycle_schedule(3), 3)
    answer = lesson3.check_schedule_runs({"too long": too_long, "sized": sized}, few, 1, 3_520)
    assert answer.passed and "stopped during its warm-up" in answer.message
    both_sized = lesson3.check_schedule_runs({"a": sized, "b": sized}, few, 1, 3_520)
    assert "0 of your schedules count the first and 2" in both_sized.message
    assert "total_steps" in both_sized.hint
    off = lesson3.check_schedule_runs({"too long": too_long,
                                       "b": _finished_run(one_cycle_schedule(5), 3)}, few, 1,
                                      3_520)
    assert "'b' counts 5" in off.message
    constant = lesson3.check_schedule_runs({"a": _finished_run(1e-3, 3), "b": sized}, few, 1,
                                           3_520)
    assert "does not use a one-cycle schedule" in constant.message
    as_dicts = lesson3.check_schedule_runs({"a": sized.history, "b": sized.history}, few, 1,
                                           3_520)
    assert "not a `History`" in as_dicts.message
    all_images = lesson3.check_schedule_runs(
        {"a": _finished_run(one_cycle_schedule(352), 352), "b": sized}, few, 1, 3_520)
    assert "Train on `few`" in all_images.hint
    as_short = lesson3.check_schedule_runs({"a": sized, "b": sized}, few, 1, 3)
    assert as_short.passed and "just as short" in as_short.message  # a lesson as short

