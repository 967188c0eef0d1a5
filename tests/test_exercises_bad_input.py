"""The seventh hostile pass's findings on the exercise checks and `quiz` (findings 9, 17, 20, 21
and 22): answers of the wrong kind get "wrong" with a hint that says what is wrong with them,
never "right" and never a message that calls the right number wrong; `quiz` given anything but
a lesson's QUIZ list says what to pass."""

import math

import numpy as np
import pytest

from cnn_lesson import compile_model, create_model
from cnn_lesson.errors import SettingsError
from cnn_lesson.evaluation import precision_and_recall
from cnn_lesson.exercises import lesson1, lesson2, lesson3, lesson4, lesson5, quiz
from tests.helpers import random_images


@pytest.mark.parametrize("questions", [lesson1, None, lesson1.QUIZ[0], "abc", [1, 2],
                                       [lesson1.QUIZ[0], "a question"], [],
                                       (question for question in lesson1.QUIZ)],
                         ids=["module", "None", "one question", "text", "numbers",
                              "a list with text", "empty", "generator"])
def test_9_quiz_takes_only_a_lessons_quiz_list(questions):
    with pytest.raises(SettingsError, match=r"quiz\(lesson1\.QUIZ\)"):
        quiz(questions)


def test_9_quiz_still_takes_a_quiz_list_or_tuple(capsys):
    assert len(quiz(lesson1.QUIZ).questions) == len(lesson1.QUIZ)
    assert len(quiz(tuple(lesson5.QUIZ), title="Lesson 5").questions) == len(lesson5.QUIZ)


@pytest.mark.parametrize("answer, says", [(136_570.9, "not a whole number"),
                                          ("136570", "is text")])
def test_17_half_width_count_is_not_right_as_text_or_a_fraction(answer, says):
    feedback = lesson5.check_half_width_count(answer)
    assert feedback.status == "wrong" and says in feedback.message, str(feedback)


IMAGES, _ = random_images(200, seed=3)


@pytest.mark.parametrize("answer, also_the_type", [
    (IMAGES[:100] // 255, "uint8"),
    (np.zeros((100, 32, 32, 3)), "float64"),
    (IMAGES[:100] / 256, "float64"),
    (IMAGES[:100] > 128, "bool"),
    (IMAGES[:100].astype("float32") / 256, None),  # only the values are wrong
], ids=["floor division", "zeros", "divided by 256", "bools", "float32 divided by 256"])
def test_20_wrong_values_are_never_called_right(answer, also_the_type):
    feedback = lesson1.check_my_normalized(answer, IMAGES)
    assert feedback.status == "wrong" and "values are right" not in feedback.message
    assert "values" in feedback.message, str(feedback)
    if also_the_type:  # both are wrong: both are named
        assert also_the_type in feedback.message, str(feedback)
    else:
        assert "type" not in feedback.message, str(feedback)


def test_20_the_type_alone_is_named_when_the_values_are_right():
    feedback = lesson1.check_my_normalized(IMAGES[:100] / 255, IMAGES)
    assert feedback.status == "wrong" and "values are right" in feedback.message
    assert "float64" in feedback.message
    assert lesson1.check_my_normalized(IMAGES[:100].astype("float32") / 255, IMAGES).passed


@pytest.fixture(scope="module")
def model():
    return compile_model(create_model())


def _probabilities():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(10, 0.1), size=300).astype("float32")
    labels = (np.arange(300) % 10).reshape(-1, 1)
    expected = int(((probabilities.argmax(axis=1) != labels.ravel())
                    & (probabilities.max(axis=1) > 0.9)).sum())
    return probabilities, labels, expected


def _number_checks(model):
    """Every check that takes a number: (check, the right answer, what else it takes)."""
    train_data = (np.empty((45_000, 1), np.uint8), None)
    image = np.arange(48, dtype="float64").reshape(4, 4, 3) / 48
    kernel = np.linspace(-1, 1, 27).reshape(3, 3, 3)
    probabilities, labels, confident = _probabilities()
    predicted = probabilities.argmax(axis=1)
    precision = max(precision_and_recall(labels, predicted),
                    key=lambda row: row["answered"])["precision"]
    return {
        "lesson 2, convolution value": (lesson2.check_convolution_value,
                                        lesson2.convolve_at(image, kernel, 0.5, 1, 0),
                                        (image, kernel, 0.5)),
        "lesson 2, side after pool3": (lesson2.check_side_after_pool3, 6, ()),
        "lesson 3, total steps": (lesson3.check_total_steps, 2_112, (train_data,)),
        "lesson 3, Adam's state": (lesson3.check_adam_state, 321_812, (model,)),
        "lesson 4, top precision": (lesson4.check_top_precision, precision,
                                    (labels, predicted)),
        "lesson 4, confident mistakes": (lesson4.check_confident_mistakes, confident,
                                         (probabilities, labels)),
        "lesson 4, most vertical filter": (lesson4.check_most_vertical_filter,
                                           int(lesson4.edge_similarity(model).argmax()),
                                           (model,)),
        "lesson 5, half-width count": (lesson5.check_half_width_count, 136_570, ()),
        "lesson 5, smoothed gap": (lesson5.check_smoothed_gap, math.log(41), ()),
        "lesson 5, bfloat16 step": (lesson5.check_bfloat16_step, 1 + 2**-7, ()),
    }


WHOLE_NUMBER_CHECKS = ["lesson 2, side after pool3", "lesson 3, Adam's state",
                       "lesson 4, confident mistakes", "lesson 4, most vertical filter",
                       "lesson 5, half-width count"]  # and lesson 3's total steps, tested there
NUMBER_CHECKS = WHOLE_NUMBER_CHECKS + [
    "lesson 2, convolution value", "lesson 3, total steps", "lesson 4, top precision",
    "lesson 5, smoothed gap", "lesson 5, bfloat16 step"]


@pytest.mark.parametrize("name", NUMBER_CHECKS)
def test_21_the_right_number_as_text_is_text_not_a_wrong_number(name, model):
    check, expected, others = _number_checks(model)[name]
    assert check(expected, *others).passed  # the number itself is right
    feedback = check(str(expected), *others)
    assert feedback.status == "wrong" and "is text, not a number" in feedback.message, \
        str(feedback)
    assert "quotes" in feedback.hint


@pytest.mark.parametrize("name", WHOLE_NUMBER_CHECKS)
def test_21_the_right_number_plus_a_fraction_is_not_a_whole_number(name, model):
    check, expected, others = _number_checks(model)[name]
    assert check(float(expected), *others).passed  # 6.0 is 6
    feedback = check(expected + 0.7, *others)
    assert feedback.status == "wrong" and "not a whole number" in feedback.message, \
        str(feedback)
    assert f"{expected:,} is not" not in feedback.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_22_nan_and_inf_are_not_numbers_above_1(value):
    feedback = lesson5.check_bfloat16_step(value)
    assert feedback.status == "wrong" and "above 1" not in feedback.message, str(feedback)
    assert ("not a number" if math.isnan(value) else "infinite") in feedback.message
