"""Lesson 5's exercises and quiz (`05_going_further.ipynb`).

Each check computes the right answer itself (with Keras where the lesson uses Keras) and
returns `Feedback` (see `cnn_lesson.exercises`).
"""

from __future__ import annotations

import math

import numpy as np

from cnn_lesson.exercises import (Feedback, Question, guarded, number_in, right,
                                  whole_number_in, wrong)

HALF_WIDTH_FILTERS = (16, 32, 64, 128)
HALF_WIDTH_PARAMETERS = 136_570
FURTHER_PARAMETERS = 540_394


def further_parameters(filters=(32, 64, 128, 256), residual_convs: int = 1,
                       classes: int = 10) -> int:
    """Parameters of lesson 5's network, counted by hand: each 3x3 convolution has no bias
    (3 x 3 x channels in x filters), each batch normalisation 4 numbers per filter, and the
    last layer (last filters + 1) x classes."""
    first, second, third, fourth = filters
    convolutions = [(3, first), (first, second), (second, third)]
    convolutions += [(third, third)] * residual_convs + [(third, fourth)]
    return sum(9 * inputs * outputs + 4 * outputs for inputs, outputs in convolutions) \
        + (fourth + 1) * classes


@guarded("Exercise 1", "Set `half_width_count` to the number of parameters of lesson 5's "
         "network with half the filters in every stage, `filters=(16, 32, 64, 128)`.")
def check_half_width_count(half_width_count) -> Feedback:
    """Exercise 1: `create_further_model(filters=(16, 32, 64, 128)).count_params()`."""
    value = whole_number_in("Exercise 1", half_width_count, "half_width_count",
                            "a count of parameters", "Ask the network itself: "
                            "`create_further_model(filters=(16, 32, 64, 128)).count_params()`.")
    if isinstance(value, Feedback):
        return value
    expected = further_parameters(HALF_WIDTH_FILTERS)
    if value == expected:
        return right("Exercise 1", f"{expected:,}, about a quarter of the lesson's "
                     f"{FURTHER_PARAMETERS:,}, not half: a convolution has 3 x 3 x (channels in) "
                     "x (filters) weights, and halving both divides them by 4 (stage 4: "
                     "3 x 3 x 64 x 128 = 73,728 instead of 294,912). Only the first "
                     "convolution (its 3 colour channels in stay 3: 3 x 3 x 3 x 16 = 432 "
                     "instead of 864), the batch normalisations (4 numbers per filter) and the "
                     "last layer's inputs shrink by half. The arithmetic of a step shrinks about as much.")
    if value == FURTHER_PARAMETERS:
        return wrong("Exercise 1", f"{value:,} is the lesson's network, with all its filters.",
                     "Pass `filters=(16, 32, 64, 128)` to `create_further_model`.")
    if abs(value - FURTHER_PARAMETERS / 2) < 0.02 * FURTHER_PARAMETERS:
        return wrong("Exercise 1", f"{value:,} is about half of {FURTHER_PARAMETERS:,}, a guess "
                     "rather than a count.", "Build the network with `create_further_model("
                     "filters=(16, 32, 64, 128))` and ask it: `.count_params()`.")
    if value == expected + sum(HALF_WIDTH_FILTERS) + HALF_WIDTH_FILTERS[2]:
        return wrong("Exercise 1", f"{value:,} gives every convolution a bias.",
                     "This network's convolutions have none (`use_bias=False`): batch "
                     "normalisation's beta does that job.")
    trainable = expected - 2 * (sum(HALF_WIDTH_FILTERS) + HALF_WIDTH_FILTERS[2])
    if value == trainable:
        return wrong("Exercise 1", f"{value:,} are the trainable parameters only.",
                     "Count them all, the batch normalisations' moving means and variances "
                     "too: `count_params()`.")
    return wrong("Exercise 1", f"{value:,} is not the count of the half-width network.",
                 "Build it with `create_further_model(filters=(16, 32, 64, 128))` and call "
                 "`.count_params()` on it; compare its layers with the table in the lesson.")


EXERCISE_SMOOTHING = 0.2


def best_logit_gap(smoothing: float, classes: int = 10) -> float:
    """The logit gap where cross-entropy with label smoothing is lowest: the log of the
    smoothed target of the right class over that of each other class."""
    other = smoothing / classes
    return math.log((1 - smoothing + other) / other)


@guarded("Exercise 2", "Set `best_gap` to the logit gap (right class minus each other class) "
         f"at which `SmoothedSparseCrossentropy({EXERCISE_SMOOTHING})` is lowest.")
def check_smoothed_gap(best_gap) -> Feedback:
    """Exercise 2: with smoothing 0.2 the target is 0.82 and 0.02, the gap log(41) = 3.71."""
    value = number_in("Exercise 2", best_gap, "best_gap")
    if isinstance(value, Feedback):
        return value
    s = EXERCISE_SMOOTHING
    expected = best_logit_gap(s)
    if abs(value - expected) <= 0.03:
        return right("Exercise 2", f"{value:.2f}: the target is {1 - s + s / 10:.2f} for the "
                     f"right class and {s / 10:.2f} for each of the nine others, and the loss is "
                     f"lowest where the probabilities equal it, at a gap of "
                     f"log({1 - s + s / 10:.2f} / {s / 10:.2f}) = {expected:.2f}. A stronger "
                     "smoothing stops the logits closer together (0.1 stopped them at 4.5).")
    if abs(value - best_logit_gap(0.1)) <= 0.03:
        return wrong("Exercise 2", f"{value:.2f} is the gap for the lesson's smoothing, 0.1.",
                     f"Use `SmoothedSparseCrossentropy({s})`.")
    if abs(value - math.log((1 - s) / (s / 9))) <= 0.03:
        return wrong("Exercise 2", f"{value:.2f} is log(0.8 / (0.2 / 9)): it spreads the 0.2 "
                     "over the nine wrong classes only.", "Keras spreads the smoothing over all "
                     "ten classes, the right one too: 0.8 + 0.02 = 0.82 and 0.02.")
    if abs(value - (1 - s + s / 10)) <= 0.005:
        return wrong("Exercise 2", f"{value:.2f} is the target probability of the right class, "
                     "not a gap between logits.", "The gap is log(p(right) / p(other)).")
    if abs(value - math.log((1 - s + s / 10) / (s - s / 10))) <= 0.03:
        return wrong("Exercise 2", f"{value:.2f} compares the right class with the nine others "
                     "together.", "Compare it with one other class: 0.02.")
    return wrong("Exercise 2", f"the loss is not lowest at a gap of {value:.2f}.",
                 "Compute the loss for gaps from 0 to 8 in small steps (the logit of the cat "
                 "`gap` above nine equal others, softmax, then the loss) and take the gap of "
                 "the lowest one.")


BFLOAT16_AFTER_ONE = 1 + 2.0**-7  # 7 fraction bits: the numbers between 1 and 2 are 1/128 apart


@guarded("Exercise 3", "Set `next_after_one` to the smallest bfloat16 number above 1, found by "
         "rounding numbers a little above 1 to bfloat16.")
def check_bfloat16_step(next_after_one) -> Feedback:
    """Exercise 3: 1 + 2**-7 = 1.0078125."""
    value = number_in("Exercise 3", next_after_one, "next_after_one")
    if isinstance(value, Feedback):
        return value
    if value == BFLOAT16_AFTER_ONE:
        return right("Exercise 3", "1.0078125 = 1 + 1/128: bfloat16 keeps 7 bits of fraction, "
                     "so between 1 and 2 its numbers are 1/128 apart. Anything up to 1 + 1/256 "
                     "rounds back to 1 (exactly 1 + 1/256 rounds to the even neighbour, 1), so "
                     "an update of 0.001 to a weight of 1 is lost: why mixed precision keeps "
                     "the weights in float32. float16's next number is 1 + 1/1024, float32's "
                     "1 + 1/8,388,608.")
    if value == 2.0**-7:
        return wrong("Exercise 3", "0.0078125 is the step between 1 and the next number.",
                     "Give the number itself: 1 + the step.")
    if value == 1 + 2.0**-10:
        return wrong("Exercise 3", "1.0009765625 is float16's next number after 1 (10 fraction "
                     "bits).", "Round to `\"bfloat16\"`, which keeps only 7.")
    if value == 1 + 2.0**-23 or value == float(np.nextafter(np.float32(1), np.float32(2))):
        return wrong("Exercise 3", "that is float32's next number after 1.",
                     "Round to `\"bfloat16\"`: `keras.ops.convert_to_tensor(x, "
                     "dtype=\"bfloat16\")`.")
    if value <= 1:
        return wrong("Exercise 3", f"{value:g} is not above 1.",
                     "Round numbers a little above 1 and keep the results that are above 1.")
    if value < BFLOAT16_AFTER_ONE:
        return wrong("Exercise 3", f"{value!r} is not a bfloat16 number: bfloat16 rounds it "
                     "to 1 or to the next number.", "Keep the values *after* rounding, "
                     "`float(keras.ops.convert_to_tensor(x, dtype=\"bfloat16\"))`, not the "
                     "numbers you rounded.")
    return wrong("Exercise 3", f"{value:g} is a number above 1, but not the smallest bfloat16 "
                 "one.", "Try numbers closer to 1: steps of 1/4096 between 1 and 1.02.")


@guarded("Exercise 4", "Train lesson 5's network without augmentation on the small training "
         "set (`small_run = train_further(...)`), then set `gap` to its training accuracy "
         "minus its validation accuracy, both with the final weights on plain images.")
def check_generalisation_gap(gap, small_run, small_train) -> Feedback:
    """Exercise 4: `evaluate(model, *small_train)[1] - history.history["val_accuracy"][-1]`."""
    from cnn_lesson.training import evaluate

    if not isinstance(small_run, tuple) or len(small_run) != 2:
        return wrong("Exercise 4", "`small_run` is not what `train_further` returns.",
                     "Keep both: `small_run = train_further(...)`, a (model, history) pair.")
    model, history = small_run
    if any(layer.name == "augmentation" for layer in model.layers):
        return wrong("Exercise 4", "the network still shifts and mirrors its images.",
                     "Pass `augment=False` to `train_further`.")
    values = history.history
    epochs, images = len(values["val_accuracy"]), len(small_train[0])
    if int(model.optimizer.iterations) > epochs * math.ceil(images / 32):
        return wrong("Exercise 4", f"{int(model.optimizer.iterations)} training steps: more "
                     f"than {epochs} epoch(s) of {images:,} images need.",
                     "Train on `small_train`, not on `train_data`.")
    value = number_in("Exercise 4", gap, "gap")
    if isinstance(value, Feedback):
        return value
    _, plain_training = evaluate(model, *small_train)
    validation = values["val_accuracy"][-1]
    expected = plain_training - validation
    printed = values["accuracy"][-1]
    if abs(value - expected) <= 1e-3:
        verdict = ("A wide gap: it has learned its own images far better than what makes "
                   "each class; it has memorised them." if value > 0.1 else
                   "A small gap: in so few steps it has not memorised much yet.")
        return right("Exercise 4", f"{100 * value:+.1f} points: with its final weights, on plain images, the "
                     f"network got {plain_training:.1%} of its {images:,} training images right "
                     f"and {validation:.1%} of the validation images after {epochs} epoch(s) "
                     f"without augmentation. {verdict} (Keras printed {printed:.1%} as the last "
                     "epoch's training accuracy: measured batch by batch during the epoch, not "
                     "with the final network.) Run it again with `augment=True` and compare "
                     "the two gaps.")
    if abs(value + expected) <= 1e-3:
        return wrong("Exercise 4", f"{100 * value:+.1f} points has the wrong sign.",
                     "Training accuracy minus validation accuracy.")
    if abs(value - (printed - validation)) <= 1e-3:
        return wrong("Exercise 4", "that is the difference of the figures Keras printed.",
                     "Its training accuracy is an average over the last epoch; measure the "
                     "training images again with the final weights: `evaluate(small_model, "
                     "*small_train)`.")
    if abs(value - 100 * expected) <= 0.1:
        return wrong("Exercise 4", f"{value:g} is in percentage points.",
                     "Give it as a fraction, as Keras' accuracies are (0.05 for 5 points).")
    return wrong("Exercise 4", f"{value:+.4f} is not the model's gap ({expected:+.4f} here).",
                 "Evaluate the model on `small_train` (the images it trained on) and subtract "
                 "the last validation accuracy in its history.")


QUIZ = [
    Question(
        "Why does mixed precision keep the weights in float32?",
        ("So that many small updates add up instead of being rounded away",
         "Because bfloat16 cannot hold numbers above 65,504",
         "So that the saved model file is smaller"),
        0,
        ("bfloat16 keeps 2 to 3 significant digits: 1 + 0.001 rounds back to 1, so a weight "
         "stored in bfloat16 would not move under Adam's small steps.",
         "That is float16's limit; bfloat16 keeps float32's 8-bit exponent and its range.",
         "float32 weights take twice the space of bfloat16 ones: the file is bigger, not "
         "smaller."),
    ),
    Question(
        "With label smoothing 0.1 and 10 classes, which probability does the loss aim at for "
        "the right class?",
        ("0.9", "0.91", "1.0"),
        1,
        ("The 0.1 is spread over all ten classes, the right one too: 0.9 + 0.01 = 0.91.",
         "0.9 + 0.1 / 10 = 0.91, and 0.01 for each other class: a finite logit gap, "
         "log(91), about 4.5.",
         "That is the target without smoothing, reached only at an infinite logit gap."),
    ),
    Question(
        "Why do this lesson's convolutions have no bias?",
        ("Batch normalisation right after subtracts the batch mean, which would remove a "
         "constant bias; its beta does the bias's job",
         "Biases cannot be computed in bfloat16",
         "`padding=\"same\"` replaces the bias"),
        0,
        ("A bias adds the same number to a filter's whole output; the next layer subtracts "
         "the output's mean over the batch, bias included.",
         "Mixed precision computes biases like any other addition; lesson 3's network has them.",
         "Padding is about the border of the image, not about an added constant."),
    ),
    Question(
        "In the last epoch Keras printed accuracy 0.78 and val_accuracy 0.82. Does the network "
        "do better on images it has never seen than on its training images?",
        ("Yes: the validation figure is higher",
         "Not necessarily: the two figures are not measured the same way",
         "No: validation accuracy is always the lower one"),
        1,
        ("The printed training figure is measured on shifted and mirrored images and averaged "
         "over the epoch while the weights improved: it is not the final network on its "
         "training images.",
         "Measure both with the final weights on plain images, as the lesson's cell does; "
         "then the training figure is usually the higher one.",
         "Keras' printed figures can go either way: in lesson 3 the validation figure usually "
         "ends the higher one (dropout is on only while training)."),
    ),
    Question(
        "In the ablation, the recipe without the residual block lost 0.7 points of validation "
        "accuracy, and its training step ran at 1,680 images per second against 1,252. What "
        "does that show?",
        ("The residual block is not worth its time",
         "In this run the block bought 0.7 points in 8 epochs; whether the faster network "
         "would catch up in the same seconds was not measured",
         "Residual blocks always pay"),
        1,
        ("Maybe, maybe not: the table compares equal epochs, not equal seconds. In the whole "
         "recipe's time the smaller network would train 10 to 11 epochs instead of 8 "
         "(8 x 1,680 / 1,252 = 10.7).",
         "An ablation answers the question it asked: equal epochs. Equal time is another run: "
         "train the smaller network for about 10 epochs and compare.",
         "One run of one recipe shows nothing about always; and here the block costs a third "
         "more time per image."),
    ),
]
