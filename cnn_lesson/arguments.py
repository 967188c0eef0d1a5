"""`@checked`: a public function's arguments checked against its type annotations.

A learner's slip (a cell that has not run leaves `None`, `fresh="no"`, `seed=True`, a count
of `float("nan")`) used to reach numpy, Keras or matplotlib and end in their traceback, far
from the argument; `fresh="no"` even deleted a backup, since any non-empty text is true.
With `@checked`, such an argument gets a `SettingsError` that names the function, the
argument and what it takes.

Why not typeguard: it is not a dependency of the course, and it is strict exactly where the
lessons are not. An argument annotated `np.ndarray` takes a list or a tuple too (numpy
converts them), one annotated `int` takes numpy's integers, one annotated `float` takes
ints. Only simple annotations are checked: bool, int, float, str, paths, arrays, sequences,
mappings, and unions of them with None; anything else (a keras.Model, a Figure) is left to
the function, whose own message says where such an object comes from.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnn_lesson.errors import CnnLessonError, SettingsError


def _check(value, annotation) -> str | None:
    """None if `value` fits `annotation`; otherwise what the annotation takes, in words."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        wanted = [_check(value, option) for option in typing.get_args(annotation)]
        return None if None in wanted else " or ".join(dict.fromkeys(wanted))
    if annotation is type(None):
        return None if value is None else "None"
    if annotation is bool:
        return None if isinstance(value, (bool, np.bool_)) else "True or False"
    if annotation is int:
        return None if isinstance(value, numbers.Integral) and not isinstance(
            value, (bool, np.bool_)) else "a whole number"
    if annotation is float:
        finite = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        try:
            finite = finite and math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        return None if finite else "a finite number"
    if annotation is str:
        return None if isinstance(value, str) else "text"
    if annotation in (os.PathLike, Path):
        return None if isinstance(value, (str, os.PathLike)) else "a path"
    if annotation is np.ndarray:  # what numpy turns into an array, of one dimension at least
        arraylike = isinstance(value, (np.ndarray, list, tuple)) or hasattr(value, "__array__")
        try:
            arraylike = arraylike and np.ndim(value) >= 1
        except ValueError:  # a ragged list: an array of objects, numpy says
            pass
        return None if arraylike else "an array"
    container = origin or annotation
    if container in (Sequence, list, tuple):
        if isinstance(value, (str, bytes)) or not (
                isinstance(value, (Sequence, np.ndarray)) or hasattr(value, "__array__")):
            return "a list"
        items = typing.get_args(annotation)
        item = items[0] if len(items) == 1 or (len(items) == 2 and items[1] is Ellipsis) \
            else None
        for index, element in enumerate(value if item is not None else ()):
            if _check(element, item):
                return (f"a list, each {_check(object(), item)} (item {index} is "
                        f"{type(element).__name__})")
        return None
    if container in (Mapping, dict):
        return None if isinstance(value, Mapping) else "a dict"
    # Classes (keras.Model, Figure, ...), Callable, Any: the functions check these themselves,
    # with messages that say where such an object comes from.
    return None


def _annotations(function) -> dict[str, object]:
    """The parameters' annotations, evaluated; those that cannot be (names imported only
    for type checkers) are left out."""
    found = {}
    for name, text in inspect.get_annotations(function).items():
        if name == "return":
            continue
        try:
            # The globals of the function itself, not of a decorator wrapping it.
            found[name] = (eval(text, inspect.unwrap(function).__globals__)
                           if isinstance(text, str) else text)
        except Exception:  # an annotation this module cannot evaluate is not checked
            continue
    return found


def _is_flag(annotation) -> bool:
    """bool, or bool | None."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (
        typing.Union, types.UnionType) else (annotation,)
    return bool in options and set(options) <= {bool, type(None)}


def _refuse_misfits(function, bound, annotations, failure: Exception | None = None) -> None:
    """A SettingsError for the first argument that does not fit its annotation, if any;
    `failure`, the raw error it replaces, is summed up at its end."""
    for name, value in bound.arguments.items():
        if name in annotations:
            wanted = _check(value, annotations[name])
            if wanted:
                found = "" if "(item " in wanted else f", not {type(value).__name__}"
                cause = "" if failure is None else (
                    f" (It failed with {type(failure).__name__}: {str(failure):.100}.)")
                raise SettingsError(f"{function.__name__}({name}={value!r:.60}): {name} takes "
                                    f"{wanted}{found}.{cause}")


# What numpy, Keras, matplotlib and Python raise when given an argument of the wrong kind.
# (Not MemoryError: a machine out of memory is not an argument's fault.)
_RAW = (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError,
        ZeroDivisionError)


def checked(function):
    """Check `function`'s arguments against its annotations (see above).

    The flags (`bool` arguments) are checked before the call: a wrong one can act without
    failing (`fresh="no"` is true). The others only when the call fails with a raw error:
    the function's own checks come first, with messages that say more (where the value comes
    from, what to run), and only a failure they did not foresee is blamed on the argument
    that does not fit. A raw error with every argument fitting is raised as it is.
    """
    signature = inspect.signature(function)
    annotations = {name: annotation for name, annotation in _annotations(function).items()
                   if signature.parameters[name].kind not in (
                       inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    flags = {name: annotation for name, annotation in annotations.items() if _is_flag(annotation)}

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:  # a missing or unknown argument: Python's words, ours
            raise SettingsError(f"{function.__name__}: {error}.") from None
        _refuse_misfits(function, bound, flags)
        try:
            return function(*args, **kwargs)
        except CnnLessonError:
            raise
        except _RAW as failure:
            try:
                _refuse_misfits(function, bound, annotations, failure)
            except SettingsError as refusal:  # without the raw traceback it replaces
                raise refusal from None
            raise

    call.checked = True  # what tests/test_arguments.py looks for
    return call
