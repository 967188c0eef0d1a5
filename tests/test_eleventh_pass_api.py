"""The public API: the eleventh hostile pass (part A, findings 3, 4, 5 and 8)."""

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnn_lesson.checkpoints import CheckpointError, check_split  # noqa: E402
from cnn_lesson.errors import SettingsError  # noqa: E402
from cnn_lesson.evaluation import (  # noqa: E402
    answers_among_mistakes, most_confident_mistakes, plot_mistakes,
)
from cnn_lesson.feature_maps import layer_explorer  # noqa: E402
from cnn_lesson.further import train_further  # noqa: E402
from cnn_lesson.model import create_model  # noqa: E402
from tests.helpers import random_images  # noqa: E402

IMAGES, LABELS = random_images(64, seed=11)
TRAIN, VALIDATION = (IMAGES[:48], LABELS[:48]), (IMAGES[48:], LABELS[48:])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# Finding 3: probabilities from another model or run, ranked and titled with labels they
# did not give.

def _probabilities(count: int = 20, seed: int = 3) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(0, 2, (count, 10))
    exponentials = np.exp(logits)
    return exponentials / exponentials.sum(axis=1, keepdims=True)


MISMATCH = "do not go with the predicted labels"


def test_finding_3_probabilities_that_disagree_with_the_predicted_labels_are_refused():
    """most_confident_mistakes(true, p.argmax(1), np.roll(p, 1, axis=1)) answered [25, 0, 2]
    and plot_mistakes drew the gallery."""
    probabilities = _probabilities()
    predicted = probabilities.argmax(axis=1)
    true = (predicted + 1) % 10  # every answer wrong
    other = np.roll(probabilities, 1, axis=1)  # another model's, as it were
    images = IMAGES[:20]
    for call in (lambda: most_confident_mistakes(true, predicted, other),
                 lambda: plot_mistakes(images, true, predicted, other),
                 lambda: answers_among_mistakes(true, predicted, other)):
        with pytest.raises(SettingsError, match=MISMATCH) as raised:
            call()
        assert "argmax(axis=1)" in str(raised.value) and "of the 20 images" in str(raised.value)
    # the labels and probabilities of one predict are taken, as lesson 4 computes them
    assert len(most_confident_mistakes(true, predicted, probabilities)) == 16
    plot_mistakes(images, true, predicted, probabilities, count=4)
    assert answers_among_mistakes(true, predicted, probabilities, count=4)


def test_finding_3_even_nearly_uniform_probabilities_that_disagree_are_refused():
    """The reproducer's model, trained for one epoch, answered about 10% for every class: its
    probabilities rolled by one class differed by less than 1% from the labels' own."""
    probabilities = np.full((64, 10), 0.1) + np.random.default_rng(4).uniform(-3e-3, 3e-3,
                                                                             (64, 10))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)
    with pytest.raises(SettingsError, match=MISMATCH):
        most_confident_mistakes((predicted + 1) % 10, predicted,
                                np.roll(probabilities, 1, axis=1))


def test_finding_3_ties_and_a_few_near_ties_are_not_a_disagreement():
    """A guard that did not fail before: a tie may be broken either way, and a few near ties
    may round the other way in another predict (a bfloat16 softmax's logits are rounded by
    up to 0.8%)."""
    predicted = np.arange(10)
    true = (predicted + 1) % 10
    ties = np.full((10, 10), 0.1)
    assert len(most_confident_mistakes(true, predicted, ties)) == 10
    probabilities = _probabilities(300)
    predicted = probabilities.argmax(axis=1)
    rows = np.arange(3)  # three near ties (of 300 images) answered the other way
    second = np.argsort(probabilities[rows], axis=1)[:, -2]
    probabilities[rows, second] = probabilities[rows, predicted[rows]] + 1e-3
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    assert np.sum(probabilities.argmax(axis=1) != predicted) == 3
    assert len(most_confident_mistakes((predicted + 1) % 10, predicted, probabilities)) == 16


# Finding 4: check_split's total of 10**400 (a raw OverflowError) and max_train_images=2.5.

@pytest.mark.parametrize("total, text", [
    (10**400, "total is over 1,000,000,000 images"),  # a raw OverflowError
    (64.5, "total=64.5: total takes a whole number"),  # "expected 57.5 and 6"
])
def test_finding_4_check_split_refuses_a_total_no_split_can_have(total, text):
    with pytest.raises(CheckpointError, match=rf"{re.escape(text)}.*len\(train_images\)"):
        check_split(TRAIN, VALIDATION, total, None)


@pytest.mark.parametrize("limit", [2.5, 20.0, "20"])
def test_finding_4_check_split_refuses_a_quick_mode_limit_that_is_not_a_count(limit):
    """2.5 was taken and printed as "expected 2.5 and 6"."""
    with pytest.raises(CheckpointError, match=f"max_train_images={limit!r}: pass "
                                              r"lesson.max_train_images") as raised:
        check_split(TRAIN, VALIDATION, 64, limit)
    assert "expected" not in str(raised.value)


def test_finding_4_check_split_still_takes_numpy_counts(capsys):
    """A guard that did not fail before: numpy's integers are counts too."""
    check_split((IMAGES[:20], None), (IMAGES[:6], None), np.int64(64), np.int32(20))
    assert "6 images held out" in capsys.readouterr().out


# Finding 5: a first stage wider than the whitening can fill, refused about the whitening
# without a word of whiten=False.

@pytest.mark.parametrize("filters", [(64, 8, 8, 8), (33, 8, 8, 8)])
def test_finding_5_train_further_says_whiten_false_trains_any_first_width(filters):
    with pytest.raises(SettingsError, match="whiten=False") as raised:
        train_further(TRAIN, VALIDATION, epochs=1, verbose=0, filters=filters, augment=False)
    message = str(raised.value)
    assert f"{filters[0]}" in message and "from 2 to 54" in message


def test_finding_5_whiten_false_trains_an_odd_first_width():
    """A guard that did not fail before: the way out the message gives works."""
    model, _ = train_further(TRAIN, VALIDATION, epochs=1, batch_size=16, verbose=0,
                             filters=(5, 4, 4, 4), augment=False, whiten=False)
    assert model.get_layer("stage1_conv").kernel.shape[-1] == 5


# Finding 8: layer_explorer given one name as text, or an empty list.

def test_finding_8_layer_explorer_takes_one_name_as_text():
    """"conv1" was read letter by letter: "No layer named 'c'"."""
    model = create_model()
    explorer = layer_explorer(model, IMAGES[0], "conv1")
    assert explorer.layer_dropdown.options == ("conv1",)


def test_finding_8_layer_explorer_refuses_an_empty_list_as_such():
    """[] said "The model has no convolution layer to explore" of a model with three."""
    model = create_model()
    for empty in ([], ()):
        with pytest.raises(SettingsError, match="layer_names is empty") as raised:
            layer_explorer(model, IMAGES[0], empty)
        assert "no convolution layer" not in str(raised.value)
