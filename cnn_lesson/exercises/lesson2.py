"""Lesson 2's exercises and quiz (`02_the_model.ipynb`).

Each check computes the right answer itself (with Keras where the lesson uses Keras) and
returns `Feedback` (see `cnn_lesson.exercises`).
"""

from __future__ import annotations

import numpy as np

from cnn_lesson.exercises import (Feedback, Question, guarded, number_in, right,
                                  whole_number_in, wrong)


def convolve_at(image: np.ndarray, kernel: np.ndarray, bias: float, row: int, column: int
                ) -> float:
    """One output value of a 3x3 convolution (stride 1, no padding): the sum over the 3x3
    patch whose top-left corner is (row, column) and over every channel, plus the bias."""
    patch = image[row:row + kernel.shape[0], column:column + kernel.shape[1], :]
    return float((patch * kernel).sum() + bias)


@guarded("Exercise 1", "Set `my_value` to the number the convolution writes at row 1, "
         "column 0 of its output, worked out from `tiny_image`, `kernel` and `bias`.")
def check_convolution_value(my_value, tiny_image: np.ndarray, kernel: np.ndarray,
                            bias: float) -> Feedback:
    """Exercise 1: the output at (1, 0) = sum(tiny_image[1:4, 0:3, :] * kernel) + bias."""
    value = number_in("Exercise 1", my_value, "my_value")
    if isinstance(value, Feedback):
        return value
    expected = convolve_at(tiny_image, kernel, bias, 1, 0)
    if np.isclose(value, expected):
        return right("Exercise 1", f"{expected:g}: the 27 products of the patch starting at "
                     "row 1, column 0 with the weights, summed over all three channels, plus "
                     "the bias. Keras' Conv2D gives the same number.")
    if np.isclose(value, expected - bias):
        return wrong("Exercise 1", f"{value:g} is the sum of the products without the bias.",
                     f"Add the bias ({bias:g}).")
    for channel in range(tiny_image.shape[-1]):
        one = float((tiny_image[1:4, 0:3, channel] * kernel[:, :, channel]).sum())
        if np.isclose(value, one) or np.isclose(value, one + bias):
            return wrong("Exercise 1", f"{value:g} uses only channel {channel}.",
                         "A filter spans all three channels: multiply and sum over the whole "
                         "3x3x3 block, `tiny_image[1:4, 0:3, :] * kernel`.")
    for row, column in ((0, 0), (0, 1), (1, 1)):
        if np.isclose(value, convolve_at(tiny_image, kernel, bias, row, column)):
            return wrong("Exercise 1", f"{value:g} is the output at row {row}, column {column}.",
                         "Row 1, column 0 starts one pixel further down than the top-left "
                         "patch, in the first column: `tiny_image[1:4, 0:3, :]`.")
    return wrong("Exercise 1", f"{value:g} is not the convolution's output at (1, 0).",
                 "Take the 3x3 patch `tiny_image[1:4, 0:3, :]`, multiply it by `kernel` "
                 "value by value, add everything up, then add the bias.")


NARROW_PARAMETERS = 151_882  # conv1 with 16 filters: 448 + 64 (batchnorm) + 9,280 (conv2)


@guarded("Exercise 2", "Set `narrow_model` to lesson 2's network with 16 filters in the first "
         "block (build it with `keras.Sequential` and `conv_block`).")
def check_narrow_model(narrow_model) -> Feedback:
    """Exercise 2: the lesson's network with `conv_block(16, 1)`: 151,882 parameters."""
    count = narrow_model.count_params()
    convolutions = [layer for layer in narrow_model.layers
                    if type(layer).__name__ == "Conv2D"]
    if not convolutions:
        return wrong("Exercise 2", "the model has no Conv2D layer.",
                     "Copy the lesson's `keras.Sequential([...])` cell and change only "
                     "`conv_block(32, 1)`.")
    first = convolutions[0].filters
    if count == 161_610 and first == 32:
        return wrong("Exercise 2", "that is the lesson's original network (161,610).",
                     "Change the first block to 16 filters: `conv_block(16, 1)`.")
    if first != 16:
        return wrong("Exercise 2", f"the first convolution has {first} filters.",
                     "Only the first block changes, to `conv_block(16, 1)`.")
    if count != NARROW_PARAMETERS:
        return wrong("Exercise 2", f"{count:,} parameters; with only the first block changed "
                     f"the network has {NARROW_PARAMETERS:,}.",
                     "Keep every other layer as in the lesson; check `narrow_model.summary()`.")
    return right("Exercise 2", f"{count:,} parameters, 9,728 fewer: conv1 has (27 + 1) x 16 = "
                 "448 instead of 896, batchnorm1 64 instead of 128, and conv2 sees 16 channels: "
                 "(3 x 3 x 16 + 1) x 64 = 9,280 instead of 18,496. The rest is unchanged.")


@guarded("Exercise 3", "Set `side_after_pool3` to the width of the feature maps after `pool3` "
         "for images of 64 x 64 pixels.")
def check_side_after_pool3(side_after_pool3) -> Feedback:
    """Exercise 3: 64 -> 62 -> 31 -> 29 -> 14 -> 12 -> 6."""
    value = whole_number_in("Exercise 3", side_after_pool3, "side_after_pool3",
                            "a width in pixels", "Each pooling rounds down to a whole number "
                            "of pixels: follow the layers one by one.")
    if isinstance(value, Feedback):
        return value
    if value == 6:
        return right("Exercise 3", "6: each 3x3 convolution takes 2 pixels off (64 -> 62, "
                     "31 -> 29, 14 -> 12) and each pooling halves, rounding down (62 -> 31, "
                     "29 -> 14, 12 -> 6).")
    if value == 8:
        return wrong("Exercise 3", "8 is 64 / 8: only the three poolings.",
                     "Each 3x3 convolution without padding also takes 2 pixels off.")
    if value == 7:
        return wrong("Exercise 3", "7 rounds a half up.",
                     "Max pooling drops a last odd row: 29 / 2 gives 14.")
    return wrong("Exercise 3", f"{value} is not the width after pool3.",
                 "Follow the layers: conv -2, pool /2 (rounded down), three times; or build the "
                 "model with `keras.Input(shape=(64, 64, 3))` and read its summary.")


QUIZ = [
    Question(
        "A Conv2D layer with 64 filters of 3 x 3 reads 32 channels. How many parameters?",
        ("3 x 3 x 64 + 64 = 640", "(3 x 3 x 32 + 1) x 64 = 18,496", "32 x 64 = 2,048"),
        1,
        ("Each filter spans all 32 input channels: 3 x 3 x 32 weights, not 3 x 3.",
         "Each of the 64 filters has 3 x 3 x 32 weights and one bias: conv2 in the summary.",
         "That would connect channels without any 3 x 3 window."),
    ),
    Question(
        "What does dropout do when the network predicts (not training)?",
        ("It drops half of the values at random", "Nothing: every value passes",
         "It multiplies every value by 2"),
        1,
        ("It drops values only while training.",
         "At prediction time dropout is switched off; training scaled the kept values up, so "
         "the totals match on average.",
         "Scaling by 1 / (1 - rate) happens during training, on the values it keeps."),
    ),
    Question(
        "Why does batch normalisation keep a moving mean and variance?",
        ("To predict one image at a time, without a batch to average over",
         "Because they are trained by the optimizer", "To speed up training"),
        0,
        ("When predicting there may be one image only, so it uses averages gathered during "
         "training: the 704 non-trainable parameters.",
         "They are tracked, not trained: the summary counts them as non-trainable.",
         "Training uses each batch's own statistics; the moving ones are for predicting."),
    ),
    Question(
        "Which layer holds the most parameters of any single layer in our network?",
        ("conv3", "dense", "class_probabilities"),
        0,
        ("conv3: (3 x 3 x 64 + 1) x 128 = 73,856, ahead of the Dense layer's 65,664.",
         "The Dense layer is second with 65,664; conv3 has 73,856.",
         "The last layer has (128 + 1) x 10 = 1,290."),
    ),
]
