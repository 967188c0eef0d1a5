"""Lesson 4's exercises and quiz (`04_results.ipynb`).

Each check computes the right answer itself, from the same labels, probabilities or model the
learner used (with the package's own `precision_and_recall` where the lesson uses it), and
returns `Feedback` (see `cnn_lesson.exercises`).
"""

from __future__ import annotations

import numpy as np

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.evaluation import flat_labels, precision_and_recall
from cnn_lesson.exercises import (Feedback, Question, guarded, number_in, right,
                                  whole_number_in, wrong)
from cnn_lesson.plots import EDGE_FILTERS

CONFIDENT = 0.9  # exercise 2: "more than 90% sure"


@guarded("Exercise 1", "Set `answered` to how often the network gave each class as its answer "
         "(ten counts from `matrix`), `k` to the class it answered most often, and "
         "`top_precision` to that class's precision, computed from `matrix`.")
def check_top_precision(top_precision, test_labels: np.ndarray, predicted_labels: np.ndarray
                        ) -> Feedback:
    """Exercise 1: `matrix[k, k] / matrix[:, k].sum()` for `k = matrix.sum(axis=0).argmax()`,
    checked against `precision_and_recall`'s precision of that class."""
    value = number_in("Exercise 1", top_precision, "top_precision")
    if isinstance(value, Feedback):
        return value
    rows = {row["class"]: row for row in precision_and_recall(test_labels, predicted_labels)}
    most = max(CLASS_NAMES, key=lambda name: rows[name]["answered"])  # first one on a tie
    row = rows[most]
    expected = row["precision"]
    if np.isclose(value, expected):
        habit = (f" More answers than there are {most} images: the network's default guess, "
                 "paid for in precision." if row["answered"] > row["images"] else "")
        return right("Exercise 1", f"{expected:.1%}: of the {row['answered']:,} times the "
                     f"network answered \"{most}\", its most frequent answer, {row['correct']:,} "
                     f"were right, for {row['images']:,} {most} images in the test set. The "
                     f"precision column of the table above says the same.{habit}")
    if np.isclose(value, 100 * expected):
        return wrong("Exercise 1", f"{value:g} is the precision as a percentage.",
                     "Keep it a share between 0 and 1, as the table stores it: leave out the "
                     "* 100.")
    if np.isclose(value, row["recall"]):
        return wrong("Exercise 1", f"{value:.3f} is the recall of {most}: its correct answers "
                     "divided by its images, the sum of its row.",
                     "Precision divides by how often the network *answered* the class: the sum "
                     "of its column, `matrix[:, k].sum()`.")
    for name, other in rows.items():
        if name != most and np.isclose(value, other["precision"]):
            return wrong("Exercise 1", f"{value:.3f} is the precision of {name}, which the "
                         f"network answered {other['answered']:,} times; it answered {most} "
                         f"most often ({row['answered']:,} times).",
                         "The column sums count the answers: `answered = matrix.sum(axis=0)`, "
                         "then `k = answered.argmax()`.")
    for name, other in rows.items():
        if np.isclose(value, other["recall"]):
            return wrong("Exercise 1", f"{value:.3f} is the recall of {name}: its correct answers "
                         f"divided by the sum of its row, its {other['images']:,} images.",
                         "Every row sums to its class's images, so row sums cannot tell which "
                         "class the network answers most often: sum the columns, "
                         "`matrix.sum(axis=0)`.")
    return wrong("Exercise 1", f"{value:g} is not the precision of {most}, the class the "
                 "network answered most often.",
                 "Precision is the correct answers of the class divided by all its answers: "
                 "`matrix[k, k] / matrix[:, k].sum()`.")


@guarded("Exercise 2", "Set `confident_mistakes` to the number of mistakes the network made "
         "with more than 90% confidence.")
def check_confident_mistakes(confident_mistakes, probabilities: np.ndarray,
                             test_labels: np.ndarray) -> Feedback:
    """Exercise 2: `(is_mistake & (confidence > 0.9)).sum()`."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    is_mistake = probabilities.argmax(axis=1) != flat_labels(test_labels)
    confident = confidence > CONFIDENT
    expected = int((is_mistake & confident).sum())
    value = number_in("Exercise 2", confident_mistakes, "confident_mistakes")
    if isinstance(value, Feedback):
        return value
    if 0 < value < 1 and (np.isclose(value, confident[is_mistake].mean())
                          or np.isclose(value, (is_mistake & confident).mean())):
        return wrong("Exercise 2", f"{value:.3f} is a share, not a count.",
                     "Count the True values with `.sum()` instead of `.mean()`.")
    value = whole_number_in("Exercise 2", value, "confident_mistakes", "a count of mistakes",
                            "Count the True values with `.sum()`: a count is a whole number.")
    if isinstance(value, Feedback):
        return value
    if value == expected:
        mistakes, sure = int(is_mistake.sum()), int(confident.sum())
        of_mistakes = f" ({expected / mistakes:.1%})" if mistakes else ""
        trust = (f" Of all {sure:,} answers given with more than 90% confidence, "
                 f"{1 - expected / sure:.1%} were right." if sure else
                 " The network gave no answer with more than 90% confidence.")
        return right("Exercise 2", f"{expected:,} of the {mistakes:,} mistakes{of_mistakes} "
                     f"were made with more than 90% confidence.{trust}"
                     + (" A sure answer can still be wrong: the gallery shows the surest."
                        if expected else ""))
    if value == int(confident.sum()):
        return wrong("Exercise 2", f"{value:g} counts every answer above 90%, the right ones "
                     "too.", "Keep only the mistakes: combine the two conditions with `&`, "
                     "`is_mistake & (confidence > 0.9)`.")
    if value == int((~is_mistake & confident).sum()):
        return wrong("Exercise 2", f"{value:g} counts the right answers above 90%.",
                     "`is_mistake` is True for the mistakes: use it as it is, without `~`.")
    if value == int(is_mistake.sum()):
        return wrong("Exercise 2", f"{value:g} is the number of all the mistakes.",
                     "Keep only those made with more than 90% confidence: "
                     "`is_mistake & (confidence > 0.9)`.")
    return wrong("Exercise 2", f"{value:g} is not the number of mistakes made with more than "
                 "90% confidence.", "Combine the two conditions with `&`, then count the True "
                 "values: `(is_mistake & (confidence > 0.9)).sum()`.")


def edge_similarity(model) -> np.ndarray:
    """How alike each filter of `conv1`, its colour grids summed, is to lesson 2's
    vertical-edge filter: the cosine similarity (1 the same pattern at any size, 0 nothing in
    common, -1 the opposite), one value per filter."""
    kernel = np.asarray(model.get_layer("conv1").get_weights()[0], dtype=np.float64)
    vertical = EDGE_FILTERS["vertical edges"].astype(np.float64)
    grey = kernel.sum(axis=2)  # on a grey image, the three colour grids act as their sum
    dots = np.einsum("ijn,ij->n", grey, vertical)
    sizes = np.linalg.norm(grey.reshape(-1, grey.shape[-1]), axis=0) * np.linalg.norm(vertical)
    return np.divide(dots, sizes, out=np.zeros_like(dots), where=sizes > 0)


@guarded("Exercise 3", "Set `most_vertical` to the number of the conv1 filter that is most "
         "like lesson 2's vertical-edge filter, once its three colour grids are summed.")
def check_most_vertical_filter(most_vertical, model) -> Feedback:
    """Exercise 3: the argmax of the cosine similarity between each filter's summed colour
    grids and the vertical-edge filter (`edge_similarity`)."""
    similarity = edge_similarity(model)
    expected, count = int(similarity.argmax()), len(similarity)
    value = whole_number_in("Exercise 3", most_vertical, "most_vertical", "a filter's number",
                            "The number is the position of the largest similarity: "
                            "`similarity.argmax()`, not `similarity.max()`.")
    if isinstance(value, Feedback):
        return value
    if value == expected:
        return right("Exercise 3", f"filter {expected}, with a similarity of "
                     f"{similarity[expected]:.2f} (1 would be exactly the vertical-edge pattern, "
                     "at some size). Find it in the picture of the filters: where its colours "
                     "are bright on the left and dark on the right, it responds to patches "
                     "whose left is brighter than their right, as lesson 2's filter did.")
    if not 0 <= value < count:
        return wrong("Exercise 3", f"conv1 has {count} filters, numbered 0 to {count - 1}.",
                     "Take the position of the largest similarity: `similarity.argmax()`.")
    if similarity[value] < 0 and value == int(np.abs(similarity).argmax()):
        return wrong("Exercise 3", f"filter {value} has a similarity of "
                     f"{similarity[value]:.2f}: it is the vertical-edge filter turned round, "
                     "which responds where the right of a patch is brighter than its left.",
                     "Take the largest similarity, `similarity.argmax()`, not the largest in "
                     "size.")
    kernel = np.asarray(model.get_layer("conv1").get_weights()[0], dtype=np.float64)
    vertical = EDGE_FILTERS["vertical edges"]
    if value == int(np.einsum("ijn,ij->n", kernel.sum(axis=2), vertical).argmax()):
        return wrong("Exercise 3", f"filter {value} has the largest sum of products, partly "
                     "because its weights are large.",
                     "Divide by the sizes of both filters (`np.linalg.norm`), so that only the "
                     "pattern counts, not how large the weights are.")
    for channel, colour in enumerate(("red", "green", "blue")):
        if value == int(np.einsum("ijn,ij->n", kernel[:, :, channel], vertical).argmax()):
            return wrong("Exercise 3", f"filter {value} looks most like it in the {colour} "
                         "channel alone.", "Sum the three colour grids first, "
                         "`weights.sum(axis=2)`: on a grey image they act together.")
    return wrong("Exercise 3", f"filter {value} has a similarity of {similarity[value]:.2f}; "
                 "another filter is more alike.",
                 "Sum the colour grids (`weights.sum(axis=2)`), multiply each by `vertical` and "
                 "add up, divide by both sizes, then take `.argmax()`.")


QUIZ = [
    Question(
        "Of 1,000 ship images the network gets 900 right, and it answers \"ship\" 1,200 times "
        "in all. What are the recall and the precision of \"ship\"?",
        ("Recall 90%, precision 75%", "Recall 75%, precision 90%",
         "Recall 90%, precision 90%"),
        0,
        ("Recall 900 / 1,000 of the ship images; precision 900 / 1,200 of the \"ship\" "
         "answers: a quarter of those answers are other classes.",
         "The other way round: recall divides by the class's images (1,000), precision by "
         "the answers (1,200).",
         "Precision divides by the 1,200 answers, not the 1,000 images: 900 / 1,200 = 75%."),
    ),
    Question(
        "The validation accuracy lies above the training accuracy, as it often does in "
        "lesson 3's run. What does that tell you?",
        ("The network overfits", "Nothing is wrong: the two are not measured the same way",
         "The validation images are mislabelled"),
        1,
        ("Overfitting shows the other way: the validation loss turning up while the training "
         "loss keeps falling.",
         "Dropout is on while the training figure is measured and off for validation, and the "
         "training figure is an average over an epoch while the weights still improved.",
         "Nothing here points to the labels: the way the two figures are measured explains it."),
    ),
    Question(
        "The network says \"frog, 99%\". Is the image a frog?",
        ("Yes: it is right 99 times in 100 at that confidence", "Not necessarily",
         "No: answers that sure are usually wrong"),
        1,
        ("A probability says how sure the network is, not how often it is right; that has to "
         "be measured on test images (exercise 2).",
         "A network can be that sure and wrong, as the gallery of confident mistakes shows; "
         "how far its confidence can be trusted is measured on images it has never seen.",
         "Exercise 2 measures how often the sure answers are right; being sure does not make "
         "an answer wrong either."),
    ),
    Question(
        "A filter of conv1 has the same pattern in its red, green and blue grids: bright on "
        "the left, dark on the right. Where in an image does it respond most strongly?",
        ("On patches brighter on the left than on the right, whatever their colour",
         "On red objects", "Only in the left half of the image"),
        0,
        ("It is a vertical-edge detector like lesson 2's: the same in every channel, so it "
         "follows brightness, not colour.",
         "Its three colour grids are alike, so no colour is favoured; a colour detector has "
         "different grids per channel.",
         "The filter slides over every position of the image; left and right are within its "
         "3 x 3 window."),
    ),
]
