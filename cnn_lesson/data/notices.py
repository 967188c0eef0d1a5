"""Warnings that point at the learner's own line (the notebook cell) and show every time.

`warnings.warn` shows a warning once per line under Python's default filter, so a second
`load_cifar10("synthetic")` in the same cell would be silent; `warn_caller` passes a fresh
registry so it shows each time, while the user's own filters (ignore, error) still apply.

Used by `load_cifar10` and `synthetic_cifar10` (lesson 1, `01_the_data.ipynb`).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
# `@checked`'s wrapper, which calls the public functions: not the learner's line either.
_ARGUMENTS = str(Path(__file__).resolve().parent.parent / "arguments.py")


def warn_caller(message: str, category: type[Warning]) -> None:
    """Warn, attributed to the first caller outside `cnn_lesson.data` (and the argument
    checks' wrapper), every time."""
    frame = sys._getframe(1)
    while frame.f_back is not None and (
            str(Path(frame.f_code.co_filename).resolve()).startswith(_HERE)
            or str(Path(frame.f_code.co_filename).resolve()) == _ARGUMENTS):
        frame = frame.f_back
    warnings.warn_explicit(
        message,
        category,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=frame.f_globals.get("__name__"),
        registry=None,  # a fresh one: never "already shown"
        # No module_globals: with them Python asks the caller's loader for its source, and
        # for `python -c`, stdin or the REPL (`__main__` loaded by BuiltinImporter) that
        # raises ImportError even under `-W ignore`. linecache still finds the line of a
        # file or a notebook cell (IPython registers cells there).
    )
