"""Lesson 1's exercises and quiz (`01_the_data.ipynb`).

Each check takes the learner's answer and what it needs to compute the right one itself, and
returns `Feedback` (see `cnn_lesson.exercises`).
"""

from __future__ import annotations

import numpy as np

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.exercises import Feedback, Question, guarded, right, wrong


@guarded("Exercise 1", "Set `top_left` to the top-left 3 x 3 pixels of the first training "
         "image (all three colour channels).")
def check_top_left(top_left, train_images: np.ndarray) -> Feedback:
    """Exercise 1: `train_images[0, :3, :3]`, shape (3, 3, 3)."""
    expected = train_images[0, :3, :3]
    answer = np.asarray(top_left)
    if answer.shape == (3, 3, 32, 3) or answer.shape == (3, 3, 3, 3):
        return wrong("Exercise 1", f"your array has shape {answer.shape}: it holds pixels of "
                     "three images.", "The first index picks the image: "
                     "`train_images[0, ...]` is the first image, then rows, then columns.")
    if answer.shape != expected.shape:
        return wrong("Exercise 1", f"your array has shape {answer.shape}, not (3, 3, 3).",
                     "Index the image first, then the first 3 rows and the first 3 columns, "
                     "and keep all 3 channels: `[0, :3, :3]`.")
    if not np.array_equal(answer, expected):
        return wrong("Exercise 1", "the shape is right but the values are not those of the "
                     "top-left corner of the first training image.",
                     "`:3` means the first three (0, 1, 2); take them from `train_images`.")
    strongest = ["red", "green", "blue"][int(expected.reshape(-1, 3).mean(axis=0).argmax())]
    return right("Exercise 1", f"shape (3, 3, 3): 3 rows, 3 columns, 3 channels, whole numbers "
                 f"0..255. On average the {strongest} channel is the strongest there.")


def _values_problem(values: np.ndarray, dtype: np.dtype, pixels: np.ndarray
                    ) -> tuple[str, str] | None:
    """None if `values` are `pixels` / 255 (to float16's precision); otherwise what is wrong
    with them and a hint, for exercise 2."""
    if np.allclose(values, pixels / 255, atol=1e-3):
        return None
    if dtype == np.bool_:
        return ("the values are True and False, the result of a comparison, not pixels "
                "divided by 255.", "Divide the pixels by 255 rather than comparing them.")
    if not np.isfinite(values).all():
        return ("some values are nan or infinite.", "Divide the pixels by 255, a number "
                "that is not 0.")
    if values.max() > 1.0:
        return f"the values reach {values.max():g}: they are not scaled.", "Divide by 255."
    if values.min() < 0:
        return (f"the values go down to {values.min():g}: pixels divided by 255 are never "
                "below 0.", "Divide the pixels by 255, and subtract nothing.")
    if not values.any():
        return ("the values are all 0.", "Start from the images, `train_images[:100]`, and "
                "divide them by 255.")
    if np.array_equal(values, np.floor(values)):
        return ("the values are only 0 and 1: dividing with `//` rounds every pixel down to a "
                "whole number.", "Divide with `/`, which keeps the fractions.")
    divisor = pixels.max() / values.max()
    if pixels.max() > 0 and np.allclose(values * divisor, pixels, atol=0.5):
        return (f"the values are the pixels divided by {divisor:.4g}, not by 255.",
                "Divide by 255, the largest value a pixel can have, so that 255 becomes 1.")
    return ("the values are in 0..1 but are not the first 100 training images divided by 255.",
            "Each value should be the pixel of `train_images[:100]` at the same place, divided "
            "by 255.")


@guarded("Exercise 2", "Set `my_normalized` to the first 100 training images scaled to 0..1 "
         "as float32, without `normalize_images`.")
def check_my_normalized(my_normalized, train_images: np.ndarray) -> Feedback:
    """Exercise 2: `train_images[:100].astype("float32") / 255`."""
    answer = np.asarray(my_normalized)
    expected = train_images[:100].astype(np.float32) / np.float32(255)
    if answer.shape != expected.shape:
        return wrong("Exercise 2", f"shape {answer.shape}, expected {expected.shape}.",
                     "Take the first 100 images: `train_images[:100]`.")
    values = answer.astype(np.float64)  # bools, whole numbers and floats alike
    problem = _values_problem(values, answer.dtype, train_images[:100].astype(np.float64))
    if problem is not None:  # the values first: the type is named with them, never praised
        message, hint = problem
        if answer.dtype != np.float32:
            message += f" The type is also {answer.dtype}, not float32."
            hint += " Convert to float32 first: `.astype(\"float32\") / 255`."
        return wrong("Exercise 2", message, hint)
    if answer.dtype == np.float64:
        return wrong("Exercise 2", f"the values are right but the type is {answer.dtype}: "
                     "numpy divides in float64 unless told otherwise, which takes twice the "
                     "memory of float32.", "Convert first: `.astype(\"float32\") / 255`.")
    if answer.dtype != np.float32:
        return wrong("Exercise 2", f"the values are right but the type is {answer.dtype}, not "
                     "float32.", "Convert first: `.astype(\"float32\") / 255`.")
    if not np.allclose(answer, expected, atol=1e-6):
        return wrong("Exercise 2", "the type is right and the values are close, but not "
                     "exactly each pixel divided by 255.",
                     "Divide in float32 or float64, not float16: `.astype(\"float32\") / 255`.")
    return right("Exercise 2", "float32 values in 0..1: the same as `normalize_images` gives.")


@guarded("Exercise 3", "Set `average_automobile` to the average image of the automobile class "
         "(label 1): shape (32, 32, 3).")
def check_average_automobile(average_automobile, train_images: np.ndarray,
                             train_labels: np.ndarray) -> Feedback:
    """Exercise 3: `train_images[train_labels.ravel() == 1].mean(axis=0)`."""
    answer = np.asarray(average_automobile, dtype=np.float64)
    labels = np.asarray(train_labels).ravel()
    if answer.shape != (32, 32, 3):
        hint = ("Average over the images only: `.mean(axis=0)`."
                if answer.size in (1, 32 * 32) else "Keep the image's shape: (32, 32, 3).")
        return wrong("Exercise 3", f"your average has shape {answer.shape}.", hint)
    for label, name in enumerate(CLASS_NAMES):
        chosen = labels == label
        if chosen.any() and np.allclose(answer, train_images[chosen].mean(axis=0), atol=0.5):
            if label == 1:
                return right("Exercise 3", "the average automobile: a blurry shape, darker in "
                             "the middle and lower half where the car usually is, lighter "
                             "above. Averages show where a class's pixels usually are.")
            return wrong("Exercise 3", f"that is the average {name} (label {label}).",
                         "Automobile is label 1: `train_labels.ravel() == 1`.")
    return wrong("Exercise 3", "that is not the average of any one class.",
                 "Select the images whose label is 1, then average them: "
                 "`train_images[train_labels.ravel() == 1].mean(axis=0)`.")


QUIZ = [
    Question(
        "What is the shape of `test_images`?",
        ("(10000, 32, 32, 3)", "(32, 32, 3, 10000)", "(10000, 3072)"),
        0,
        ("10,000 images, each 32 pixels high and wide, with 3 colour channels: images first.",
         "Keras puts the images first: the first index picks an image.",
         "That would be the images flattened to rows of 3,072 numbers; CIFAR-10 keeps them as "
         "32 x 32 x 3 blocks."),
    ),
    Question(
        "A network that always answers \"cat\": what accuracy does it get on the test set?",
        ("0%", "10%", "50%"),
        1,
        ("It is right for every cat: 1,000 of the 10,000 test images.",
         "1,000 of the 10,000 test images are cats: a balanced data set makes one class worth "
         "10%, which is why 10% is called chance.",
         "There are ten classes, not two."),
    ),
    Question(
        "What does dividing the pixels by 255 change?",
        ("The picture: it becomes darker", "Only the scale and type of the numbers",
         "The number of pixels"),
        1,
        ("Shown with values 0..1, the picture looks the same: times 255 gives back the "
         "original pixels.",
         "0..255 as uint8 becomes 0..1 as float32; the picture and its size stay as they were.",
         "Each pixel is divided; none is removed."),
    ),
]
