"""A multiple-choice quiz in a notebook: the questions as text, and buttons that answer back.

`quiz(questions)` displays the questions and their options as Markdown, which any notebook
viewer shows (a stored notebook, an HTML export, a notebook without a running kernel), and
returns an ipywidgets form below it: pick an option and it says whether it is right, and why;
a wrong option says why it is wrong.

Used at the end of every lesson.
"""

from __future__ import annotations

import html
import types
from dataclasses import dataclass
from typing import Sequence

from cnn_lesson.arguments import checked
from cnn_lesson.errors import SettingsError


@dataclass(frozen=True)
class Question:
    """One question: its text, its options, the index of the right one, and for each option
    why it is right or wrong."""

    text: str
    options: tuple[str, ...]
    answer: int
    why: tuple[str, ...]

    def __post_init__(self):
        if len(self.options) != len(self.why) or not 0 <= self.answer < len(self.options):
            raise ValueError(f"Question {self.text!r}: one reason per option, and the answer "
                             "must be one of the options.")

    def feedback(self, choice: int) -> str:
        verdict = "Right" if choice == self.answer else "Not quite"
        return f"{verdict}: {self.why[choice]}"


def as_markdown(questions: Sequence[Question], title: str = "Quiz") -> str:
    """The questions and options as Markdown (what a viewer without a kernel shows)."""
    lines = [f"**{title}** (run the cell, then pick an answer under each question; each answer "
             "tells you why)", ""]
    for number, question in enumerate(questions, start=1):
        lines.append(f"{number}. {question.text}")
        lines += [f"   - {chr(ord('a') + index)}) {option}"
                  for index, option in enumerate(question.options)]
    return "\n".join(lines)


class Quiz:
    """The interactive part: one set of radio buttons and one feedback line per question.

    Attributes:
        questions: the `Question`s.
        choices: a `RadioButtons` per question (nothing chosen at first).
        answers: an `HTML` per question with the feedback on the current choice.
        widget: the `VBox` shown in the notebook.
    """

    def __init__(self, questions: Sequence[Question]):
        import ipywidgets as widgets

        self.questions = list(questions)
        self.choices, self.answers, rows = [], [], []
        for number, question in enumerate(self.questions, start=1):
            labels = [f"{chr(ord('a') + i)}) {option}" for i, option in enumerate(question.options)]
            choice = widgets.RadioButtons(options=labels, value=None,
                                          layout=widgets.Layout(width="auto"))
            answer = widgets.HTML("")
            choice.observe(lambda change, q=question, a=answer, c=choice: self._answer(q, a, c),
                           names="value")
            self.choices.append(choice)
            self.answers.append(answer)
            rows.append(widgets.VBox([widgets.HTML(f"<b>Question {number}</b>"), choice, answer]))
        self.widget = widgets.VBox(rows)

    @staticmethod
    def _answer(question: Question, answer, choice) -> None:
        if choice.index is None:
            answer.value = ""
            return
        answer.value = html.escape(question.feedback(choice.index))

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle = bundle if isinstance(bundle, dict) else {}
        bundle["text/plain"] = (f"Quiz ({len(self.questions)} questions): run this cell in Jupyter "
                                "to pick an answer to each question and see why it is right or "
                                "wrong.")
        return bundle

    def __repr__(self) -> str:
        return f"Quiz ({len(self.questions)} questions)"


def _a(thing) -> str:
    """What `thing` is, in two or three words: "text", "a generator", "an int"."""
    if isinstance(thing, str):
        return "text"
    name = type(thing).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _not_a_quiz(questions) -> str | None:
    """None for a list or tuple of `Question`s; otherwise what `questions` is, in words."""
    if isinstance(questions, (list, tuple)) and questions and all(
            isinstance(question, Question) for question in questions):
        return None
    if isinstance(questions, types.ModuleType):
        return f"the module {questions.__name__.rsplit('.', 1)[-1]} itself"
    if isinstance(questions, Question):
        return "a single Question"
    if isinstance(questions, (list, tuple)):
        if not questions:
            return f"an empty {type(questions).__name__}"
        other = next(item for item in questions if not isinstance(item, Question))
        return f"a {type(questions).__name__} holding {_a(other)}"
    return "None" if questions is None else _a(questions)


@checked
def quiz(questions: Sequence[Question], title: str = "Quiz") -> Quiz:
    """Show the questions as text, and return the form that answers back.

    Args:
        questions: the lesson's `Question`s (each lesson's module has a `QUIZ`).
        title: shown above the questions.

    Returns:
        A `Quiz`; as the last expression of a cell it shows the radio buttons.
    """
    from IPython.display import Markdown, display

    found = _not_a_quiz(questions)
    if found is not None:
        raise SettingsError(f"quiz takes a lesson's QUIZ list, such as quiz(lesson1.QUIZ), not "
                            f"{found}.")
    display(Markdown(as_markdown(questions, title)))
    return Quiz(questions)
