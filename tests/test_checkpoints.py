"""The lessons' checkpoints: they explain what they checked, and stop a run that went wrong."""

import numpy as np
import pytest

from cnn_lesson.checkpoints import (
    CheckpointError,
    check_accuracy,
    check_history,
    check_normalized,
    check_split,
)
from cnn_lesson.config import settings

FULL = settings({"CNN_LESSON_DATA": "/data/cifar10"})
QUICK = settings({"CNN_LESSON_QUICK": "1"})


def test_a_full_run_in_the_typical_range_is_confirmed(capsys):
    check_accuracy(0.717, "validation accuracy after 10 epochs", FULL, typical=(0.65, 0.75))
    out = capsys.readouterr().out
    assert out.startswith("Checkpoint: validation accuracy after 10 epochs 71.7%")
    assert "between 65.0% and 75.0%" in out


def test_a_full_run_far_below_the_range_stops_with_what_to_do():
    with pytest.raises(CheckpointError) as caught:
        check_accuracy(0.31, "test accuracy", FULL, typical=(0.65, 0.75))
    message = str(caught.value)
    assert "31.0%" in message and "65.0% to 75.0%" in message
    assert "CNN_LESSON_DATA" in message and "Restart Kernel and Run All" in message


def test_just_under_or_above_the_range_is_plausible_and_said_so(capsys):
    check_accuracy(0.63, "test accuracy", FULL, typical=(0.65, 0.75))
    assert "a little under" in capsys.readouterr().out
    check_accuracy(0.80, "test accuracy", FULL, typical=(0.65, 0.75))
    assert "above the typical" in capsys.readouterr().out


def test_quick_mode_and_a_stand_in_check_only_validity(capsys):
    check_accuracy(0.12, "test accuracy", QUICK, typical=(0.65, 0.75))
    assert "quick mode" in capsys.readouterr().out
    check_accuracy(0.12, "test accuracy", FULL, typical=(0.65, 0.75), full_run=False,
                   context="a stand-in model")
    assert "a stand-in model" in capsys.readouterr().out
    for nonsense in (float("nan"), 1.5, -0.1):
        with pytest.raises(CheckpointError, match="not a share"):
            check_accuracy(nonsense, "test accuracy", QUICK, typical=(0.65, 0.75))


def test_history_must_hold_every_trained_epoch(capsys):
    history = {"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.4, 0.5]}
    check_history(history, 3)
    assert "3 epoch(s)" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="holds 2 epoch.*but 3 were trained"):
        check_history({"loss": [2.0, 1.5]}, 3)
    with pytest.raises(CheckpointError, match="diverged"):
        check_history({"loss": [2.0, float("nan")]}, 2)


def test_normalized_images_are_checked_against_the_originals(capsys):
    original = np.arange(0, 256, dtype=np.uint8).reshape(1, 16, 16, 1)
    check_normalized(original.astype(np.float32) / 255, original)
    assert "only the scale changed" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="dtype is float64"):
        check_normalized(original / 255.0, original)
    with pytest.raises(CheckpointError, match="outside 0..1"):
        check_normalized(original.astype(np.float32), original)
    with pytest.raises(CheckpointError, match="not the original pixels"):
        check_normalized(original[:, ::-1].astype(np.float32) / 255, original)


def test_split_sizes_must_add_up(capsys):
    images = np.zeros((100, 2))
    check_split((images[:90], None), (images[:10], None), total=100, max_train_images=None)
    assert "10 images held out for validation, 90 to train on." in capsys.readouterr().out
    check_split((images[:20], None), (images[:10], None), total=100, max_train_images=20)
    assert "quick mode trains on 20 of the 90" in capsys.readouterr().out
    with pytest.raises(CheckpointError, match="expected 90 and 10"):
        check_split((images[:50], None), (images[:10], None), total=100, max_train_images=None)


def test_a_checkpoint_given_what_it_cannot_read_says_so():
    """None (a cell that has not run) or a string used to reach the learner as TypeError or
    AttributeError from inside the check."""
    from cnn_lesson.checkpoints import check_history, check_normalized, check_split
    from cnn_lesson.evaluation import check_confusion_matrix

    with pytest.raises(CheckpointError, match="The history's 'loss' is \\['x'\\], not one number"):
        check_history({"loss": ["x"]}, 1)
    calls = [lambda: check_history(None, 10),
             lambda: check_normalized(None, np.zeros((2, 2))),
             lambda: check_split(None, None, 10, None),
             lambda: check_confusion_matrix(None, None, None),
             lambda: check_accuracy(None, "test accuracy", FULL, typical=(0.65, 0.75))]
    for call in calls:
        with pytest.raises(CheckpointError, match="could not read what it was given"):
            call()
