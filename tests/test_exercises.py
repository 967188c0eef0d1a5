"""Exercises that check themselves, quizzes, and the student edition."""

from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from cnn_lesson.exercises import Feedback, Question, guarded, is_stub
from cnn_lesson.exercises import lesson1, lesson2, lesson3, lesson4, lesson5
from cnn_lesson.exercises.quiz import Quiz, as_markdown
from tests.helpers import exercise_pairs, random_images, run_cell

ROOT = Path(__file__).resolve().parent.parent
LESSON_1 = ROOT / "notebooks" / "01_the_data.ipynb"
LESSON_2 = ROOT / "notebooks" / "02_the_model.ipynb"


def _cells(path):
    return {cell.id: cell for cell in nbformat.read(path, as_version=4).cells}


@pytest.fixture(scope="module")
def lesson_1_namespace():
    images, labels = random_images(200, seed=3)
    namespace = {"np": np, "train_images": images, "train_labels": labels, "lesson1": lesson1}
    namespace.update({name: getattr(lesson1, name) for name in dir(lesson1)
                      if name.startswith("check_")})
    return namespace


@pytest.fixture(scope="module")
def lesson_2_namespace():
    cells = _cells(LESSON_2)
    namespace = {"np": np, "keras": keras, "layers": keras.layers, "lesson2": lesson2}
    namespace.update({name: getattr(lesson2, name) for name in dir(lesson2)
                      if name.startswith("check_")})
    exec(cells["model-05b"].source, namespace)  # tiny_image, kernel, bias (prints them)
    exec(cells["model-14a"].source, namespace)  # conv_block
    return namespace


@pytest.mark.parametrize("path, fixture", [(LESSON_1, "lesson_1_namespace"),
                                           (LESSON_2, "lesson_2_namespace")])
def test_every_stub_says_not_yet_and_every_solution_passes(path, fixture, request, capsys):
    namespace = dict(request.getfixturevalue(fixture))
    pairs = exercise_pairs(path)
    assert len(pairs) >= 3, f"{path.name}: at least three exercises"
    for stub, solution in pairs:
        untouched = run_cell(stub.source, namespace)
        assert isinstance(untouched, Feedback) and untouched.status == "not yet", stub.id
        solved = run_cell(solution.source, namespace)
        assert solved.passed, (solution.id, str(solved))


def test_feedback_reads_as_a_line_with_a_hint():
    wrong = lesson1.wrong("Exercise 9", "it is upside down.", "Flip it.")
    assert str(wrong) == "✗ Exercise 9: WRONG. It is upside down.\n  Hint: Flip it."  # a sentence
    assert repr(lesson1.right("Exercise 9", "well done.")).startswith("✓ Exercise 9: RIGHT.")


def test_a_check_never_raises_and_knows_a_stub():
    assert is_stub(...) and is_stub([1, ...]) and not is_stub([1, 2]) and not is_stub(0)

    @guarded("Exercise 0", "write something")
    def check(answer):
        return lesson1.right("Exercise 0", "yes") if answer.upper() == "A" else None

    assert check(...).status == "not yet" and "write something" in check(...).message
    broken = check(42)  # an int has no .upper(): feedback, not a traceback
    assert broken.status == "wrong" and "AttributeError" in broken.message


def test_lesson_1_typical_mistakes_get_their_hint():
    images, labels = random_images(200, seed=3)
    three_images = lesson1.check_top_left(images[:3, :3], images)
    assert three_images.status == "wrong" and "picks the image" in three_images.hint
    as_float64 = lesson1.check_my_normalized(images[:100] / 255, images)
    assert as_float64.status == "wrong" and "float64" in as_float64.message
    unscaled = lesson1.check_my_normalized(images[:100].astype("float32"), images)
    assert "Divide by 255" in unscaled.hint
    cats = lesson1.check_average_automobile(images[labels.ravel() == 3].mean(axis=0), images,
                                            labels)
    assert cats.status == "wrong" and "average cat" in cats.message
    flat = lesson1.check_average_automobile(images[labels.ravel() == 1].mean(), images, labels)
    assert "axis=0" in flat.hint


def test_lesson_2_typical_mistakes_get_their_hint(lesson_2_namespace):
    image, kernel, bias = (lesson_2_namespace[name] for name in ("tiny_image", "kernel", "bias"))
    right_value = lesson2.convolve_at(image, kernel, bias, 1, 0)
    layer = keras.layers.Conv2D(1, (3, 3))  # the check's arithmetic is Keras' own
    layer.build((None, 4, 4, 3))
    layer.set_weights([kernel[:, :, :, None], np.array([bias])])
    assert np.isclose(layer(image[None]).numpy()[0, 1, 0, 0], right_value)
    outputs = layer(image[None]).numpy()[0, :, :, 0]  # no other position gives the answer
    assert outputs.ravel().tolist().count(outputs[1, 0]) == 1
    top_left = lesson2.check_convolution_value(outputs[0, 0], image, kernel, bias)
    assert "row 0, column 0" in top_left.message
    assert "without the bias" in lesson2.check_convolution_value(right_value - bias, image,
                                                                 kernel, bias).message
    one_channel = float((image[1:4, 0:3, 0] * kernel[:, :, 0]).sum())
    assert "only channel 0" in lesson2.check_convolution_value(one_channel, image, kernel,
                                                               bias).message

    from cnn_lesson import create_model

    assert lesson2.check_narrow_model(create_model(filters=(16, 64, 128))).passed
    original = lesson2.check_narrow_model(create_model())
    assert original.status == "wrong" and "conv_block(16, 1)" in original.hint
    assert lesson2.check_side_after_pool3(6).passed
    assert "three poolings" in lesson2.check_side_after_pool3(8).message
    assert "rounds a half up" in lesson2.check_side_after_pool3(7).message


@pytest.mark.parametrize("questions", [lesson.QUIZ for lesson in (lesson1, lesson2, lesson3,
                                                                   lesson4, lesson5)])
def test_a_quiz_answers_back_and_reads_without_a_kernel(questions):
    assert 3 <= len(questions) <= 5
    text = as_markdown(questions)
    assert all(question.text in text for question in questions)  # readable as plain text
    form = Quiz(questions)
    for question, choice, answer in zip(questions, form.choices, form.answers):
        assert choice.value is None and answer.value == ""
        wrong_option = (question.answer + 1) % len(question.options)
        choice.index = wrong_option
        assert answer.value.startswith("Not quite") and len(answer.value) > 20
        choice.index = question.answer
        assert answer.value.startswith("Right")
    bundle = form._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Quiz" in bundle["text/plain"]


def test_a_question_needs_a_reason_per_option():
    with pytest.raises(ValueError, match="one reason per option"):
        Question("?", ("a", "b"), 0, ("only one reason",))


def test_the_student_edition_drops_solutions_and_clears_exercises(tmp_path, capsys):
    from cnn_lesson.cli import main
    from cnn_lesson.editions import student_edition

    instructor = nbformat.read(LESSON_2, as_version=4)
    student, solutions = student_edition(instructor)
    tags = [cell.metadata.get("tags", []) for cell in student.cells]
    assert not any("solution" in cell_tags for cell_tags in tags)
    assert all(not cell.outputs for cell in student.cells
               if "exercise" in cell.metadata.get("tags", []))
    assert len(student.cells) == len(instructor.cells) - len(exercise_pairs(LESSON_2))
    assert [cell.cell_type for cell in solutions.cells[1:]] == ["markdown", "code"] * 3
    assert "conv_block(16, 1)" in solutions.cells[4].source
    assert solutions.cells[3].source == "### Exercise 2: a narrower network"

    out = tmp_path / "course"
    assert main(["notebooks", "student", str(out)]) == 0
    assert "solution notebook(s)" in capsys.readouterr().out
    assert (out / "02_the_model.ipynb").is_file()
    assert (out / "solutions" / "02_the_model_solutions.ipynb").is_file()
    edited = out / "01_the_data.ipynb"
    edited.write_text(edited.read_text().replace("Lesson 1", "My lesson 1"))
    assert main(["notebooks", "student", str(out)]) == 1  # a learner's copy is kept
    assert "--force" in capsys.readouterr().err
    assert "My lesson 1" in edited.read_text()
    assert main(["notebooks", "student", str(out), "--force"]) == 0
