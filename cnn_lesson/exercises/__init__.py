"""Exercises that check themselves, and quizzes.

Each exercise in a lesson is a stub cell the learner completes (with `...` where their code
goes), then a one-line check from this package, e.g. `check_narrow_model(narrow_model)`. A check
never raises: it returns `Feedback`, which says "not yet" for an untouched stub (so *Run All*
goes on), "right" with what was right, or "wrong" with what is wrong and a hint. The worked
solution follows in a cell tagged `solution`, which the student edition
(`python -m cnn_lesson notebooks student DIR`) moves out.

The checks of each lesson live in a module of their own (`lesson1` ... `lesson5`); `quiz`
shows a lesson's multiple-choice questions.

Used by every lesson.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

NOT_YET, RIGHT, WRONG = "not yet", "right", "wrong"
_MARKS = {NOT_YET: "…", RIGHT: "✓", WRONG: "✗"}


@dataclass(frozen=True)
class Feedback:
    """What a check found: `status` ("not yet", "right" or "wrong"), a message and a hint."""

    exercise: str
    status: str
    message: str
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.status == RIGHT

    def __str__(self) -> str:
        message = self.message[:1].upper() + self.message[1:]
        text = f"{_MARKS[self.status]} {self.exercise}: {self.status.upper()}. {message}"
        return f"{text}\n  Hint: {self.hint}" if self.hint else text

    def __repr__(self) -> str:  # what a notebook shows when the check ends a cell
        return str(self)


def not_yet(exercise: str, what_to_do: str) -> Feedback:
    """The stub is untouched: say what to do, without failing."""
    return Feedback(exercise, NOT_YET, what_to_do)


def right(exercise: str, message: str) -> Feedback:
    return Feedback(exercise, RIGHT, message)


def wrong(exercise: str, message: str, hint: str) -> Feedback:
    return Feedback(exercise, WRONG, message, hint)


def is_stub(answer: Any) -> bool:
    """True for an untouched stub: `...`, or a list or tuple that still holds `...`."""
    if answer is Ellipsis:
        return True
    if isinstance(answer, (list, tuple)):
        return any(is_stub(item) for item in answer)
    return False


def _kind(answer: Any) -> str:
    """What an answer that is not one number holds, in words."""
    if answer is None:
        return "None"
    if isinstance(answer, np.ndarray):
        return f"an array of shape {answer.shape}"
    if isinstance(answer, (list, tuple)):
        return f"a {type(answer).__name__} of {len(answer)} item{'' if len(answer) == 1 else 's'}"
    return f"a {type(answer).__name__}"


def number_in(exercise: str, answer: Any, name: str) -> int | float | Feedback:
    """The learner's answer (the variable `name`) as a number, or the "wrong" `Feedback` that
    says why it is not one: text (even "6", a number in quotes), True or False, nan or
    infinity, or something that is not one number. Whole numbers given as ints stay ints
    (exact however large); anything else becomes a float. Every check that takes a number
    starts with this (or with `whole_number_in`), so none of them calls "6" or 6.5 "not 6"."""
    if isinstance(answer, (str, bytes)):
        text = answer if isinstance(answer, str) else answer.decode("utf-8", "replace")
        shown = text if len(text) <= 30 else text[:27] + "..."
        try:
            float(text)
            hint = f"Leave out the quotes: `{name} = {shown.strip()}`."
        except ValueError:
            hint = f"Set `{name}` to the number itself, without quotes."
        return wrong(exercise, f"{shown!r} is text, not a number.", hint)
    if isinstance(answer, (bool, np.bool_)):
        return wrong(exercise, f"`{name}` is {bool(answer)}, a yes or no, not a number.",
                     f"Set `{name}` to the number itself, not to a comparison.")
    if isinstance(answer, numbers.Integral):
        return int(answer)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return wrong(exercise, f"`{name}` holds {_kind(answer)}, not one number.",
                     f"Set `{name}` to a single number, worked out as the exercise asks.")
    if math.isnan(value):
        return wrong(exercise, f"`{name}` is nan, \"not a number\": a calculation in it went "
                     "wrong, such as 0 / 0.", "Print the steps of your calculation to see "
                     "where nan first appears.")
    if math.isinf(value):
        return wrong(exercise, f"`{name}` is {value}, infinite: a calculation in it overflowed "
                     "or divided by zero.", "Print the steps of your calculation to see where "
                     "it first becomes infinite.")
    return value


def whole_number_in(exercise: str, answer: Any, name: str, what: str, hint: str
                    ) -> int | Feedback:
    """`number_in` for an answer that counts or numbers something, `what` ("a step count"):
    a whole number as an int (2112.0 is 2112), or the "wrong" `Feedback`; `hint` says how to
    get a whole number."""
    value = number_in(exercise, answer, name)
    if isinstance(value, (Feedback, int)):
        return value
    if not value.is_integer():
        return wrong(exercise, f"{value!r} is not a whole number, and {what} is one.", hint)
    return int(value)


def guarded(exercise: str, stub_message: str) -> Callable:
    """Decorator for a check: an untouched stub gets "not yet", and an answer the check cannot
    even look at (the wrong type, a model that does not run) gets "wrong" instead of a
    traceback, so *Run All* always goes on."""

    def decorate(check: Callable[..., Feedback]) -> Callable[..., Feedback]:
        def run(answer, *args, **kwargs) -> Feedback:
            if is_stub(answer):
                return not_yet(exercise, stub_message)
            try:
                return check(answer, *args, **kwargs)
            except Exception as error:  # a learner's answer can fail in any way
                return wrong(exercise, f"checking it raised {type(error).__name__}: "
                             f"{str(error)[:200]}", "Run your cell on its own and read the "
                             "error; compare with the exercise's instructions.")

        run.__name__, run.__doc__ = check.__name__, check.__doc__
        return run

    return decorate


from cnn_lesson.exercises.quiz import Question, quiz  # noqa: E402

__all__ = ["Feedback", "guarded", "is_stub", "not_yet", "number_in", "Question", "quiz", "right",
           "whole_number_in", "wrong"]
