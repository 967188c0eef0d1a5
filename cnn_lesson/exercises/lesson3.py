"""Lesson 3's exercises and quiz (`03_training.ipynb`).

Each check computes the right answer itself, from the learner's data, model or training runs,
and returns `Feedback` (see `cnn_lesson.exercises`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from cnn_lesson.exercises import (Feedback, Question, guarded, number_in, right,
                                  whole_number_in, wrong)
from cnn_lesson.training import BATCH_SIZE, steps_per_epoch

SHORT_BATCH = 64
SHORT_EPOCHS = 3


def _image_count(data) -> int:
    """The number of images in `(images, labels)` (or in an array of images)."""
    images = data[0] if isinstance(data, (tuple, list)) else data
    return len(images)


@guarded("Exercise 1", "Set `total_steps_64` to the number of steps (batches) of 3 epochs over "
         "`train_data` in batches of 64, computed with `make_dataset` and `len`.")
def check_total_steps(total_steps_64, train_data) -> Feedback:
    """Exercise 1: 3 x ceil(images / 64): 3 x 704 = 2,112 for 45,000 images."""
    value = whole_number_in("Exercise 1", total_steps_64, "total_steps_64", "a step count",
                            "Every batch, the last smaller one too, is one step: count with "
                            "whole numbers, `len(dataset)`, or `math.ceil` per epoch.")
    if isinstance(value, Feedback):
        return value
    images = _image_count(train_data)
    per_epoch = steps_per_epoch(images, SHORT_BATCH)
    expected = SHORT_EPOCHS * per_epoch
    full, rest = divmod(images, SHORT_BATCH)
    if value == expected:
        last = (f"{full:,} full batches of 64 and a last one of {rest}" if rest
                else f"{full:,} full batches of 64")
        return right("Exercise 1", f"{expected:,} = 3 x {per_epoch:,}: one epoch over "
                     f"{images:,} images is {last}, and every batch is one step: "
                     f"{per_epoch:,} updates per epoch instead of "
                     f"{steps_per_epoch(images, BATCH_SIZE):,} with batches of 128. A schedule "
                     "for this run must count them all.")
    if rest and value == SHORT_EPOCHS * full:
        return wrong("Exercise 1", f"{value:,} leaves out the last, smaller batch of each epoch "
                     f"({rest} images).", "It is a step too: `len(dataset)` counts it; by hand, "
                     "round the division up.")
    if value == SHORT_EPOCHS * steps_per_epoch(images, BATCH_SIZE):
        return wrong("Exercise 1", f"{value:,} is 3 epochs in the lesson's batches of 128.",
                     "Build the dataset with `batch_size=64`.")
    if rest and value == math.ceil(SHORT_EPOCHS * images / SHORT_BATCH):
        return wrong("Exercise 1", f"{value:,} rounds up once, for the 3 epochs together.",
                     "Each epoch ends with its own smaller batch: round up per epoch, then "
                     "multiply by 3.")
    if value == per_epoch:
        return wrong("Exercise 1", f"{value:,} is one epoch.", "Multiply by the 3 epochs.")
    if value == 10 * per_epoch:
        return wrong("Exercise 1", f"{value:,} is 10 epochs.", "This run has 3 epochs.")
    if value == SHORT_EPOCHS * steps_per_epoch(round(images / 0.9), SHORT_BATCH):
        return wrong("Exercise 1", f"{value:,} counts the validation images too.",
                     "Training steps go over `train_data` only: the validation images are "
                     "not trained on.")
    return wrong("Exercise 1", f"{value:,} is not the number of steps.",
                 "Steps = epochs x batches per epoch: "
                 "`3 * len(make_dataset(*train_data, batch_size=64))`.")


def _sizes(variables) -> int:
    return int(sum(np.prod(variable.shape, dtype=np.int64) for variable in variables))


@guarded("Exercise 2", "Set `adam_numbers` to how many numbers Adam's running averages hold "
         "for `model`, computed from the model with Keras.")
def check_adam_state(adam_numbers, model) -> Feedback:
    """Exercise 2: two running averages per trainable parameter: 2 x 160,906 = 321,812."""
    value = whole_number_in("Exercise 2", adam_numbers, "adam_numbers", "a count of numbers",
                            "Add up the sizes of `model.trainable_weights` (each "
                            "`weight.numpy().size`, a whole number).")
    if isinstance(value, Feedback):
        return value
    trainable = _sizes(model.trainable_weights)
    everything = _sizes(model.weights)
    expected = 2 * trainable
    optimizer = getattr(model, "optimizer", None)
    in_optimizer = _sizes(optimizer.variables) if optimizer is not None else None
    if value == expected:
        return right("Exercise 2", f"{expected:,}: a running average of the gradients and one "
                     f"of their squares for each of the {trainable:,} trainable parameters, "
                     "twice as many numbers as the weights being trained. Batch "
                     f"normalisation's {everything - trainable:,} moving statistics are not "
                     "trained, so Adam keeps nothing for them. The training backup and "
                     "`model.keras` save these averages too, so that training can continue with "
                     "the same step sizes where it stopped.")
    if value == trainable:
        return wrong("Exercise 2", f"{value:,} is one number per trainable parameter.",
                     "Adam keeps two averages per parameter: the gradients' and their squares'.")
    if value == 2 * everything:
        return wrong("Exercise 2", f"{value:,} counts batch normalisation's moving statistics "
                     "too.", "They are not trained (no gradients): count "
                     "`model.trainable_weights` only.")
    if value == everything:
        return wrong("Exercise 2", f"{value:,} is every parameter of the model, once.",
                     "Count the trainable ones (`model.trainable_weights`), and Adam keeps two "
                     "numbers for each.")
    if in_optimizer is not None and value == in_optimizer:
        return wrong("Exercise 2", f"{value:,} is everything in `model.optimizer.variables`, "
                     f"which also holds {in_optimizer - expected} single number(s): the step "
                     "counter (and the learning rate when it is constant).",
                     "Count the running averages only: two per trainable parameter.")
    return wrong("Exercise 2", f"{value:,} is not the number Adam keeps.",
                 "Add up the sizes of `model.trainable_weights` (`weight.numpy().size`), then "
                 "think how many averages Adam keeps per parameter.")


def _last(history, key: str) -> float:
    values = getattr(history, "history", history)
    return float(values[key][-1])


@guarded("Exercise 3", "Set `accuracy_on_training` to the lesson model's accuracy on "
         "`some_train`, measured as the validation images are (a share between 0 and 1).")
def check_training_accuracy(accuracy_on_training, model, some_train, history) -> Feedback:
    """Exercise 3: `evaluate(model, *some_train)[1]`, beside fit's last figures."""
    from cnn_lesson.training import evaluate

    if isinstance(accuracy_on_training, (tuple, list)):
        return wrong("Exercise 3", "that is a list of numbers: loss and accuracy.",
                     "`evaluate` and `model.evaluate` give the loss first, then the accuracy: "
                     "`_, accuracy_on_training = evaluate(model, *some_train)`.")
    value = number_in("Exercise 3", accuracy_on_training, "accuracy_on_training")
    if isinstance(value, Feedback):
        return value
    loss, measured = evaluate(model, *some_train)
    fitted, validation = _last(history, "accuracy"), _last(history, "val_accuracy")
    tolerance = max(0.002, 1.5 / _image_count(some_train))
    if abs(value - measured) <= tolerance:
        text = (f"{measured:.1%} of these {_image_count(some_train):,} training images, "
                "measured as the validation images are (dropout off, the final weights). `fit` "
                f"said {fitted:.1%} for the last epoch (dropout on, averaged over the epoch "
                f"while the weights improved), and validation {validation:.1%}. ")
        if measured > fitted:
            text += ("Measured this way, the training images score "
                     f"{100 * (measured - fitted):.1f} points higher: dropout and the averaging "
                     "held fit's figure down. ")
        else:
            text += "Measured this way, the training images score no higher than fit said. "
        if measured > validation:
            text += (f"They also score {100 * (measured - validation):.1f} points above "
                     "validation: the network does better on images it trained on than on new "
                     "ones. Overfitting is this gap growing while the validation figures stop "
                     "improving.")
        else:
            text += "The network does no better on images it trained on than on new ones."
        return right("Exercise 3", text)
    if math.isclose(value, loss, rel_tol=1e-3):
        return wrong("Exercise 3", f"{value:.4f} is the loss, not the accuracy.",
                     "`evaluate` gives the loss first, then the accuracy.")
    if value > 1:
        return wrong("Exercise 3", f"{value:g} is not a share between 0 and 1.",
                     "Give the accuracy as Keras does (0.7, not 70).")
    if math.isclose(value, fitted, abs_tol=1e-6):
        return wrong("Exercise 3", f"{value:.1%} is the training accuracy that `fit` printed "
                     "for the last epoch, with dropout on.", "Measure the model yourself: "
                     "`evaluate(model, *some_train)`.")
    if math.isclose(value, validation, abs_tol=1e-6):
        return wrong("Exercise 3", f"{value:.1%} is the validation accuracy.",
                     "Measure on the training images `some_train`.")
    return wrong("Exercise 3", f"{value:.1%} is not the accuracy of `model` on `some_train` "
                 f"({measured:.1%}).", "Use `evaluate(model, *some_train)`, which scales the "
                 "images to 0..1 as training did (`model.evaluate` on the raw uint8 images "
                 "would not).")


def _schedule_steps(optimizer) -> int | None:
    """How many steps the optimizer's one-cycle schedule counts; None for anything else."""
    rate = optimizer.get_config()["learning_rate"]
    if not isinstance(rate, dict) or rate.get("class_name") != "CosineDecay":
        return None
    settings = rate.get("config", {})
    return int(settings.get("warmup_steps", 0)) + int(settings["decay_steps"])


@guarded("Exercise 4", "Set `schedule_runs` to a dictionary of the two `History`s that `train` "
         "returns: {\"too long\": ..., \"sized\": ...}.")
def check_schedule_runs(schedule_runs, few, short_epochs: int, total_steps: int) -> Feedback:
    """Exercise 4: the same short run with the lesson's schedule (`total_steps`) and with one
    sized for the run (`short_epochs * len(make_dataset(*few))`)."""
    if not isinstance(schedule_runs, Mapping) or len(schedule_runs) != 2:
        return wrong("Exercise 4", "`schedule_runs` should be a dictionary of two runs.",
                     "`{\"too long\": history_1, \"sized\": history_2}`, each what `train` "
                     "returned.")
    steps = short_epochs * steps_per_epoch(_image_count(few))
    counted = {}
    for name, run in schedule_runs.items():
        model = getattr(run, "model", None)
        if not hasattr(run, "history") or getattr(model, "optimizer", None) is None:
            return wrong("Exercise 4", f"run {name!r} is not a `History` with its model.",
                         "Keep what `train(...)` (or `model.fit`) returns, not its `.history`.")
        values = run.history
        epochs = len(values.get("loss", []))
        if epochs != short_epochs:
            return wrong("Exercise 4", f"run {name!r} has {epochs} epoch(s), not "
                         f"{short_epochs}.", "Pass `epochs=short_epochs` to `train`.")
        if not np.isfinite(values["loss"]).all():
            return wrong("Exercise 4", f"run {name!r} diverged: its loss is not a number.",
                         "Compile with `learning_rate=one_cycle_schedule(...)`.")
        taken = int(model.optimizer.iterations.numpy())
        if taken != steps:
            return wrong("Exercise 4", f"run {name!r} took {taken:,} steps; {short_epochs} "
                         f"epoch(s) over `few` in batches of 128 take {steps:,}.",
                         "Train on `few`, with `train`'s default batch size.")
        counted[name] = _schedule_steps(model.optimizer)
        if counted[name] is None:
            return wrong("Exercise 4", f"run {name!r} does not use a one-cycle schedule.",
                         "Compile both with `learning_rate=one_cycle_schedule(...)`: one with "
                         "the lesson's `total_steps`, one with this run's steps.")
    long_runs = [name for name, count in counted.items() if count == total_steps]
    sized_runs = [name for name, count in counted.items() if count == steps]
    if steps == total_steps and len(sized_runs) == 2:
        long_name, sized_name = list(schedule_runs)
    elif len(long_runs) == 1 and len(sized_runs) == 1:
        long_name, sized_name = long_runs[0], sized_runs[0]
    else:
        other = [f"{name!r} counts {count:,}" for name, count in counted.items()
                 if count not in (steps, total_steps)]
        return wrong("Exercise 4", f"the lesson's schedule counts {total_steps:,} steps and "
                     f"this run takes {steps:,}; {len(long_runs)} of your schedules count the "
                     f"first and {len(sized_runs)} the second"
                     + (f" ({', '.join(other)})." if other else "."),
                     "One run with `one_cycle_schedule(total_steps)`, the other with "
                     "`one_cycle_schedule(short_epochs * len(make_dataset(*few)))`.")
    long_values = schedule_runs[long_name].history
    sized_values = schedule_runs[sized_name].history
    if short_epochs >= 2:
        for name, values in ((long_name, long_values), (sized_name, sized_values)):
            if values["loss"][-1] >= values["loss"][0] or max(values["val_accuracy"]) < 0.15:
                return wrong("Exercise 4", f"run {name!r} did not learn: its training loss went "
                             f"from {values['loss'][0]:.2f} to {values['loss'][-1]:.2f}, its "
                             f"validation accuracy reached {max(values['val_accuracy']):.1%}.",
                             "Build a new model for each run with `create_model(...)`, and "
                             "train it on `few` with `validation_data`.")

    def reached(values):
        return (f"validation accuracy {values['val_accuracy'][-1]:.1%}, training loss "
                f"{values['loss'][-1]:.2f}")

    def rate(name):
        return float(schedule_runs[name].model.optimizer.learning_rate.numpy())

    if steps == total_steps:
        return right("Exercise 4", f"both schedules count the {steps:,} steps of this run, "
                     "because the lesson's own training was just as short, so both runs ended "
                     f"at a learning rate of {rate(sized_name):.2g}. After a 10-epoch lesson on "
                     "all the images, the lesson's schedule would count many more steps than "
                     "this run's.")
    peak = max(float(schedule_runs[long_name].model.optimizer.get_config()["learning_rate"]
                     ["config"].get("warmup_target") or 0), 1e-12)
    where = ("during its warm-up" if steps < int(0.3 * total_steps) else
             "on its way down" if steps < total_steps else "after its end")
    long_rate = rate(long_name)
    text = (f"the schedule sized for this run counted its {steps:,} steps: up to the peak and "
            f"down to {rate(sized_name):.2g} at the end. The lesson's counts {total_steps:,}, "
            f"so the run stopped {where}, at {long_rate:.2g} ({long_rate / peak:.0%} of the "
            "peak).\n"
            f"  {sized_name}: {reached(sized_values)}.\n  {long_name}: {reached(long_values)}."
            "\n  ")
    gain = sized_values["val_accuracy"][-1] - long_values["val_accuracy"][-1]
    if gain > 0 and sized_values["loss"][-1] < long_values["loss"][-1]:
        text += (f"With its larger steps, the sized schedule got {100 * gain:.1f} points further "
                 "in the same steps: when you change the epochs, the images or the batch size, "
                 "size the schedule again.")
    else:
        text += ("In this run the lesson's schedule did not fall behind on both counts; "
                 "compare the curves in the plot. Either way, a schedule that stops early never "
                 "reaches its peak or its small final steps: size it for its run.")
    times = [getattr(schedule_runs[name], "seconds", None) for name in (sized_name, long_name)]
    if None not in times:  # `train` times its runs; a History from `model.fit` has no seconds
        text += f"\n  The two runs took {times[0]:.0f} s and {times[1]:.0f} s of training."
    return right("Exercise 4", text)


QUIZ = [
    Question(
        "Why do we hold out a validation set when we already have a test set?",
        ("To make choices while training (epochs, settings) without tuning the model to the "
         "test set", "Because the test images are harder than the training images",
         "To train on more images"),
        0,
        ("We look at the validation figures to decide; had we used the test set for that, its "
         "final figure would no longer be an honest measurement on unseen images.",
         "The test images are drawn like the others; the point is that nothing was decided "
         "by looking at them.",
         "The opposite: the validation images are taken away from training."),
    ),
    Question(
        "The network gives the right class a probability of 0.9 for one image and 0.1 for "
        "another. What does cross-entropy charge for each?",
        ("0.1 and 0.9", "About 0.105 and 2.303", "0.9 and 0.1"),
        1,
        ("That is 1 minus the probability; cross-entropy takes a logarithm, which punishes a "
         "confident mistake much harder.",
         "-log(0.9) is about 0.105 and -log(0.1) about 2.303 (natural logarithm): the image "
         "whose right class got only 0.1 costs about 22 times as much.",
         "A loss is what the network is charged: the better the answer, the lower it is."),
    ),
    Question(
        "During our 10 epochs, validation accuracy can lie above training accuracy. Why?",
        ("The validation images are easier",
         "Dropout is on while training, and the training figure averages over the epoch "
         "while the weights improve",
         "The network overfits"),
        1,
        ("They are a random tenth of the same training images; nothing makes them easier.",
         "The validation figure comes from the whole network, with the weights of the end of "
         "the epoch; exercise 3 measures the training images the same way.",
         "Overfitting shows the other way round: the network does better on its training "
         "images than on new ones, and the validation loss rises."),
    ),
    Question(
        "In the short run without dropout, what tells you that the network overfits?",
        ("The training accuracy approaches 100%",
         "The validation loss rises while the training loss keeps falling",
         "The validation accuracy is lower than the training accuracy"),
        1,
        ("On its own that is fine; it is overfitting when new images stop benefiting.",
         "The network grows more confident in answers that do not carry over to new images; "
         "the epoch with the lowest validation loss is where you would stop "
         "(`keras.callbacks.EarlyStopping` does it for you).",
         "A gap alone does not say that further training hurts; the validation loss turning "
         "up does."),
    ),
    Question(
        "Why do the training accuracies stay the same when batch normalisation's momentum "
        "goes from 0.99 to 0.9?",
        ("Training normalises each batch with its own mean and variance; the moving "
         "statistics are only used to predict",
         "Momentum is a setting of Adam, not of batch normalisation",
         "0.99 and 0.9 are too close to make a difference"),
        0,
        ("The moving statistics only matter on validation or test images, which is where "
         "momentum changed the first epochs' figures.",
         "Adam has its own averages (exercise 2), but this momentum is batch "
         "normalisation's: how fast its moving statistics follow the batches.",
         "They differ a lot: with 0.99 the moving statistics lagged far enough behind to put "
         "epoch 1's validation accuracy near chance."),
    ),
]
