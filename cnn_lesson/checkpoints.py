"""Checkpoints: one-line checks a lesson runs after a step, for the learner to read.

Each prints what it checked and why the value is plausible ("Checkpoint: ...") and raises
`CheckpointError` with what probably went wrong and what to do when it is not. They replace
bare `assert` cells: a learner sees an explanation, and the automatic tests (which run the
lessons in quick mode) fail on the same error. Quick mode, where one short epoch teaches
nothing about accuracy, is handled here, so the lessons' cells have no `if` for it.

Used by every lesson.
"""

from __future__ import annotations

import math
import numbers
from typing import Mapping, Sequence

import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.config import Settings
from cnn_lesson.errors import CnnLessonError

CHANCE = 0.10  # ten balanced classes

WHAT_TO_DO = (
    "Check that CNN_LESSON_DATA points at CIFAR-10 (not the synthetic stand-in), then use "
    "Kernel > Restart Kernel and Run All Cells, so that every cell runs once, in order."
)


class CheckpointError(CnnLessonError):
    """A lesson's checkpoint found a value that a correct run does not produce."""


def reads_its_input(check):
    """Decorator for a checkpoint: an input it cannot even read (None from a cell that has not
    run, a string, an array of another shape) is a CheckpointError saying so, not a
    TypeError from inside the check."""
    import functools

    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except CnnLessonError:
            raise  # already says what is wrong (a SettingsError is also a ValueError)
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as error:
            raise CheckpointError(
                f"{check.__name__} could not read what it was given ({type(error).__name__}: "
                f"{str(error)[:120]}). Perhaps a cell above it has not run, or a name holds "
                "something else (if every cell above has run, the value itself is wrong). "
                + WHAT_TO_DO
            ) from error

    return run


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _a_number(value) -> bool:
    """Whether `value` is a number a float can hold (10**400 is an int that none can)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _accuracy_range(typical, minimum) -> tuple[float, float, float]:
    """`check_accuracy`'s typical range and floor as shares, or a SettingsError: a NaN floor
    would pass every accuracy (every comparison with NaN is false), a reversed range would
    call every run "above the typical range"."""
    from cnn_lesson.errors import SettingsError

    def is_share(number) -> bool:
        return (isinstance(number, numbers.Real) and not isinstance(number, bool)
                and math.isfinite(number) and 0.0 <= number <= 1.0)

    if (isinstance(typical, (str, bytes)) or not isinstance(typical, Sequence)
            or len(typical) != 2 or not all(map(is_share, typical))
            or typical[0] > typical[1]):
        raise SettingsError(f"typical={typical!r:.60}: use two shares from 0 to 1, the lower "
                            "first, such as (0.65, 0.75).")
    low, high = float(typical[0]), float(typical[1])
    if minimum is None:
        return low, high, low - 0.05
    if not is_share(minimum) or minimum > low:
        raise SettingsError(f"minimum={minimum!r:.60}: use a share from 0 up to the typical "
                            f"range's lower end ({low}), such as {max(0.0, low - 0.05):.2f}.")
    return low, high, float(minimum)


@checked
@reads_its_input
def check_accuracy(
    accuracy: float,
    what: str,
    lesson: Settings,
    typical: tuple[float, float],
    minimum: float | None = None,
    full_run: bool | None = None,
    context: str = "",
) -> None:
    """Check an accuracy against the range a full run on CIFAR-10 reaches.

    A full run must reach `minimum` (default: 5 points under the typical range); above the
    typical range is fine and said so. In quick mode (`lesson.quick`), or when `full_run` is
    False (for example lesson 4's stand-in model), only the value's validity is checked:
    a one-epoch smoke run says nothing about accuracy.

    Used by lessons 3, 4 and 5.

    Args:
        accuracy: the share of correct answers, 0..1.
        what: what was measured, e.g. "validation accuracy after 10 epochs".
        lesson: the lesson's `settings()`.
        typical: the range full runs land in, e.g. (0.65, 0.75).
        minimum: below this a full run is wrong (default `typical[0] - 0.05`).
        full_run: False for a model that is not a full run whatever the mode (for example
            lesson 4's stand-in: `TrainedModel.full_run`); quick mode never is one.
        context: a phrase on what the model is, printed in quick mode.

    Raises:
        CheckpointError: the accuracy is not a number in 0..1, or a full run is below
            `minimum`.
    """
    full = not lesson.quick and (full_run is None or full_run)
    low, high, floor = _accuracy_range(typical, minimum)
    value = float(accuracy)
    if isinstance(accuracy, (bool, np.bool_, str, bytes)) \
            or not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise CheckpointError(f"The {what} is {accuracy!r}, not a share between 0 and 1. "
                              + WHAT_TO_DO)
    if not full:
        line = (f"Checkpoint: {what} {_percent(value)} ({context or 'quick mode'}). A smoke run "
                f"this short is not a measurement; a full run lands between {_percent(low)} "
                f"and {_percent(high)}.")
    elif value < floor:
        raise CheckpointError(
            f"The {what} is {_percent(value)}, far below the {_percent(low)} to "
            f"{_percent(high)} that a full run on CIFAR-10 reaches (chance is "
            f"{_percent(CHANCE)}). " + WHAT_TO_DO
        )
    elif value < low:
        line = (f"Checkpoint: {what} {_percent(value)}, a little under the typical "
                f"{_percent(low)} to {_percent(high)}; runs vary, so this is still plausible.")
    elif value <= high:
        line = (f"Checkpoint: {what} {_percent(value)}; a typical run lands between "
                f"{_percent(low)} and {_percent(high)}.")
    else:
        line = (f"Checkpoint: {what} {_percent(value)}, above the typical {_percent(low)} to "
                f"{_percent(high)}: a good run.")
    print(line)


@checked
@reads_its_input
def check_history(history, epochs: int) -> None:
    """Check that a training history holds `epochs` epochs of finite losses.

    After a resumed run the history must still hold every epoch, the ones before the
    interruption included. Used by lessons 3 and 5.

    Args:
        history: a Keras `History` or its `.history` dict.
        epochs: the epochs the lesson trained in all.

    Raises:
        CheckpointError: epochs are missing, or a loss is not a number.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        # "1" gave "holds 1 epoch(s), but 1 were trained"
        raise CheckpointError(f"check_history needs the number of epochs trained, such as "
                              f"lesson.epochs, not {epochs!r}. " + WHAT_TO_DO)
    values: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    for key, series in values.items():  # text such as "1.0" has a length and a float too
        if isinstance(series, (str, bytes, Mapping)) or not all(map(_a_number, series)):
            raise CheckpointError(f"The history's {key!r} is {series!r:.60}, not one number per "
                                  "epoch: pass what fit returned (history, or history.history). "
                                  + WHAT_TO_DO)
    recorded = len(values.get("loss", []))
    short = [key for key, series in values.items() if len(series) != recorded]
    if short:  # every metric is recorded once per epoch: a shorter one lost epochs
        raise CheckpointError(f"The history's {short[0]!r} holds {len(values[short[0]])} "
                              f"epoch(s), its 'loss' {recorded}: it is not one run's history. "
                              + WHAT_TO_DO)
    if recorded != epochs:
        raise CheckpointError(
            f"The history holds {recorded} epoch(s), but {epochs} were trained. If training "
            "was interrupted, run the training cell again: it continues from its backup. "
            + WHAT_TO_DO
        )
    for key in ("loss", "val_loss"):
        if not np.isfinite(np.asarray(values.get(key, []), dtype=float)).all():
            raise CheckpointError(
                f"A {'validation' if key == 'val_loss' else 'training'} loss is not a number "
                "(NaN or infinite): the training diverged. Restart the kernel and train again; "
                "if it happens again, lower the learning rate."
            )
    line = f"Checkpoint: {epochs} epoch(s) in the history, every loss a finite number."
    print(line)


@checked
@reads_its_input
def check_normalized(normalized: np.ndarray, original: np.ndarray) -> None:
    """Check lesson 1's normalised images: float32, in 0..1, and the same picture x 255.

    Args:
        normalized: the result of `normalize_images(original)`.
        original: the uint8 images.

    Raises:
        CheckpointError: the dtype, range or values are wrong.
    """
    problems = []
    if normalized.dtype != np.float32:
        problems.append(f"the dtype is {normalized.dtype}, not float32")
    if normalized.size and (normalized.min() < 0.0 or normalized.max() > 1.0):
        problems.append(f"the values run from {normalized.min()} to {normalized.max()}, "
                        "outside 0..1")
    if normalized.shape != original.shape:
        problems.append(f"the shape changed from {original.shape} to {normalized.shape}")
    elif not np.allclose(normalized * 255.0, original, atol=1e-3):
        problems.append("multiplied by 255 they are not the original pixels")
    if problems:
        raise CheckpointError("The normalised images are wrong: " + "; ".join(problems)
                              + ". Divide the uint8 images by 255 as float32.")
    line = (f"Checkpoint: {len(normalized):,} images as float32 in 0..1; times 255 they give "
            "back the original pixels, so only the scale changed.")
    print(line)


MAX_SPLIT_TOTAL = 10**9  # images before the split: CIFAR-10 has 50,000


def _not_a_count(value) -> bool:
    """Whether `value` is not a whole number (True, 2.5, "20"; numpy's integers are)."""
    return isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral)


@checked
@reads_its_input
def check_split(train_data, validation_data, total: int, max_train_images: int | None) -> None:
    """Check lesson 3's split: a tenth held out, the rest (or quick mode's subset) to train on.

    Args:
        train_data: `(images, labels)` to train on.
        validation_data: `(images, labels)` held out.
        total: how many training images there were before the split.
        max_train_images: the quick-mode limit (`lesson.max_train_images`), or None.

    Raises:
        CheckpointError: the sizes do not add up, or `total` or `max_train_images` is not a
            count of images.
    """
    held_out = len(validation_data[0])
    training = len(train_data[0])
    # Whole numbers: 2.5 was printed as "expected 2.5 and 6" (see config.whole_number).
    if max_train_images is not None and (_not_a_count(max_train_images)
                                         or not 1 <= max_train_images):
        raise CheckpointError(f"max_train_images={max_train_images!r:.40}: pass "
                              "lesson.max_train_images (None, or a whole number of at least 1).")
    if training == 0 or held_out == 0:
        raise CheckpointError(f"The split holds {training:,} training and {held_out:,} "
                              "validation images: both sets need images. " + WHAT_TO_DO)
    # 0 gave "expected -1 and 1" (split_validation needs 2 images or more); 10**400 a raw
    # OverflowError (its tenth is computed in floats, as split_validation's is).
    how = "pass the number of training images before the split, len(train_images)."
    if _not_a_count(total):
        raise CheckpointError(f"total={total!r:.40}: total takes a whole number of images; {how}")
    if total < 2:
        raise CheckpointError(f"total={total} images cannot be split into a training and a "
                              f"validation set: {how}")
    if total > MAX_SPLIT_TOTAL:  # not printed: 10**5000 has too many digits for str()
        raise CheckpointError(f"total is over {MAX_SPLIT_TOTAL:,} images, more than any "
                              f"training set of the lessons: {how}")
    # split_validation's tenth (at least one image); the rest, or quick mode's share, trains
    expected_held_out = max(1, round(total * 0.1))
    expected = total - expected_held_out
    if max_train_images is not None:
        expected = min(max_train_images, expected)
    if held_out != expected_held_out or training != expected:
        raise CheckpointError(
            f"The split holds {training:,} training and {held_out:,} validation images out of "
            f"{total:,}; expected {expected:,} and {expected_held_out:,}. " + WHAT_TO_DO
        )
    note = "" if max_train_images is None else (
        f" (quick mode trains on {training:,} of the {total - held_out:,})")
    line = (f"Checkpoint: {held_out:,} images held out for validation, {training:,} to train "
            f"on{note}.")
    print(line)
