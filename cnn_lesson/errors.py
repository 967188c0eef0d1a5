"""The package's exceptions: one type per kind of problem a learner can fix.

Every message says what was wrong and what to do about it.
"""

import os


def shown(path: str | os.PathLike) -> str:
    """A path as a message shows it: a file name that is not UTF-8 (its bytes came in as
    surrogates) gets `\\xff` escapes, so the message can be printed and saved anywhere."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class CnnLessonError(Exception):
    """Base class of every error the course raises on purpose."""


class DataError(CnnLessonError):
    """The CIFAR-10 data could not be loaded (download, archive, folder or cache).

    Used by lesson 1 (`01_the_data.ipynb`) and everything that loads data.
    """


class ModelFileError(CnnLessonError):
    """A saved model is missing, truncated or not a model.

    Used by lesson 4 (`04_results.ipynb`), which loads the model lesson 3 saved.
    """


class OutputError(CnnLessonError):
    """The output folder cannot take the lesson's files (missing, read-only, full, a file)."""


class BackupError(OutputError):
    """The training backup in the output folder cannot be used for this run.

    It belongs to another run, is damaged, or another run is using the folder right now.
    Used by lesson 3 (`03_training.ipynb`), lesson 5 and `python -m cnn_lesson train`.
    """


class LessonOrderError(CnnLessonError):
    """A cell was run before the cell whose result it needs (cells run out of order)."""


class SettingsError(CnnLessonError, ValueError):
    """An environment variable of the course (CNN_LESSON_SEED, CNN_LESSON_QUICK, ...) or an
    argument holds a value that means nothing there; the message names it and the values
    allowed. Also a `ValueError`, which the settings raised before.

    Used by every lesson's setup cell (`settings()`) and the command line.
    """
