"""Lesson 4's exercises: every stub says "not yet", every solution passes, typical
mistakes get their hint."""

from pathlib import Path

import numpy as np
import pytest

from cnn_lesson.data import CLASS_NAMES
from cnn_lesson.evaluation import confusion_matrix, precision_and_recall
from cnn_lesson.exercises import Feedback
from cnn_lesson.exercises import lesson4
from cnn_lesson.plots import EDGE_FILTERS
from tests.helpers import exercise_pairs, run_cell

LESSON_4 = Path(__file__).resolve().parent.parent / "notebooks" / "04_results.ipynb"
VERTICAL = EDGE_FILTERS["vertical edges"]
HORIZONTAL = EDGE_FILTERS["horizontal edges"]




def _results(count: int = 600, seed: int = 4):
    """Test labels and probabilities of a network that is mostly right and answers "frog"
    too often, as a trained one may."""
    rng = np.random.default_rng(seed)
    test_labels = (np.arange(count) % 10).astype(np.uint8).reshape(-1, 1)
    scores = 3 * rng.normal(size=(count, 10))
    scores[np.arange(count), test_labels.ravel()] += 3
    scores[:, CLASS_NAMES.index("frog")] += 1.5
    probabilities = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return test_labels, probabilities.astype("float32")


def _model_with_planted_filters():
    """create_model() whose conv1 holds known filters: 7 is lesson 2's vertical-edge filter,
    3 the same turned round, 20 a large noisy one, 25 vertical in red only."""
    from cnn_lesson.model import create_model

    model = create_model()
    layer = model.get_layer("conv1")
    kernel, bias = layer.get_weights()
    rng = np.random.default_rng(0)
    kernel = 0.01 * rng.normal(size=kernel.shape)
    kernel[:, :, :, 7] += 0.1 * VERTICAL[:, :, None]
    kernel[:, :, :, 3] = -0.2 * VERTICAL[:, :, None]
    kernel[:, :, :, 20] = 0.3 * VERTICAL[:, :, None] + 0.3 * rng.normal(size=(3, 3, 3))
    kernel[:, :, :, 25] = np.stack([0.6 * VERTICAL, 0.6 * HORIZONTAL, -0.6 * VERTICAL], axis=-1)
    layer.set_weights([kernel.astype("float32"), bias])
    return model


@pytest.fixture(scope="module")
def lesson_4_namespace():
    test_labels, probabilities = _results()
    predicted_labels = probabilities.argmax(axis=1)
    namespace = {"np": np, "CLASS_NAMES": CLASS_NAMES, "test_labels": test_labels,
                 "probabilities": probabilities, "predicted_labels": predicted_labels,
                 "matrix": confusion_matrix(test_labels.ravel(), predicted_labels),
                 "model": _model_with_planted_filters()}
    namespace.update({name: getattr(lesson4, name) for name in dir(lesson4)
                      if name.startswith("check_")})
    return namespace


def test_every_stub_says_not_yet_and_every_solution_passes(lesson_4_namespace, capsys):
    namespace = dict(lesson_4_namespace)
    pairs = exercise_pairs(LESSON_4)
    assert len(pairs) >= 3, "at least three exercises"
    for stub, solution in pairs:
        untouched = run_cell(stub.source, namespace)
        assert isinstance(untouched, Feedback) and untouched.status == "not yet", stub.id
        solved = run_cell(solution.source, namespace)
        assert solved.passed, (solution.id, str(solved))
    assert namespace["most_vertical"] == 7  # the planted copy of lesson 2's filter


def test_exercise_1_precision_of_the_most_frequent_answer(lesson_4_namespace):
    test_labels, predicted = (lesson_4_namespace[name]
                              for name in ("test_labels", "predicted_labels"))
    matrix = lesson_4_namespace["matrix"]
    frog = CLASS_NAMES.index("frog")
    assert matrix.sum(axis=0).argmax() == frog
    precision = matrix[frog, frog] / matrix[:, frog].sum()
    row = next(row for row in precision_and_recall(test_labels, predicted)
               if row["class"] == "frog")
    assert np.isclose(precision, row["precision"])  # the package's own computation
    check = lesson4.check_top_precision
    right = check(precision, test_labels, predicted)
    assert right.passed and "frog" in right.message and "default guess" in right.message
    assert "percentage" in check(100 * precision, test_labels, predicted).message
    recall = check(matrix[frog, frog] / matrix[frog].sum(), test_labels, predicted)
    assert "recall of frog" in recall.message and "column" in recall.hint
    cat = CLASS_NAMES.index("cat")
    other = check(matrix[cat, cat] / matrix[:, cat].sum(), test_labels, predicted)
    assert "precision of cat" in other.message and "argmax" in other.hint
    row_sums = check(matrix[cat, cat] / matrix[cat].sum(), test_labels, predicted)  # rows: k=cat
    assert "recall of cat" in row_sums.message and "matrix.sum(axis=0)" in row_sums.hint
    assert check(..., test_labels, predicted).status == "not yet"


def test_exercise_1_works_when_one_class_takes_every_answer():
    test_labels = (np.arange(100) % 10).reshape(-1, 1)
    predicted = np.full(100, 3)  # a network that has barely begun: always "cat"
    feedback = lesson4.check_top_precision(0.1, test_labels, predicted)
    assert feedback.passed and "cat" in feedback.message


def test_exercise_2_confident_mistakes(lesson_4_namespace):
    test_labels, probabilities = (lesson_4_namespace[name]
                                  for name in ("test_labels", "probabilities"))
    confidence = probabilities.max(axis=1)
    is_mistake = probabilities.argmax(axis=1) != test_labels.ravel()
    confident = confidence > 0.9
    assert 0 < (is_mistake & confident).sum() < is_mistake.sum()  # the data can tell them apart
    check = lambda answer: lesson4.check_confident_mistakes(answer, probabilities,  # noqa: E731
                                                            test_labels)
    right = check((is_mistake & confident).sum())
    assert right.passed and "were right" in right.message
    assert "right ones too" in check(confident.sum()).message
    assert "all the mistakes" in check(is_mistake.sum()).message
    assert "right answers above 90%" in check((~is_mistake & confident).sum()).message
    assert ".sum()" in check(confident[is_mistake].mean()).hint


def test_exercise_3_most_vertical_filter(lesson_4_namespace):
    model = lesson_4_namespace["model"]
    similarity = lesson4.edge_similarity(model)
    assert similarity.argmax() == 7 and np.isclose(similarity[7], 1, atol=0.01)
    check = lambda answer: lesson4.check_most_vertical_filter(answer, model)  # noqa: E731
    assert check(7).passed and "filter 7" in check(7).message
    assert "turned round" in check(3).message
    assert "largest sum of products" in check(20).message
    assert "red channel alone" in check(25).message
    assert "numbered 0 to 31" in check(32).message
    assert "argmax" in check(float(similarity.max())).hint  # the similarity, not its number

