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

from dataclasses import dataclass
from typing import Any, Callable

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

__all__ = ["Feedback", "guarded", "is_stub", "not_yet", "Question", "quiz", "right", "wrong"]
