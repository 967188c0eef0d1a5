from pathlib import Path

import pytest

from cnn_lesson.config import DEFAULT_OUTPUT, DEFAULT_SEED, settings


def test_defaults():
    s = settings({})
    assert s.data_source is None and s.quick is False
    assert s.output_dir == DEFAULT_OUTPUT and s.seed == DEFAULT_SEED and s.epochs == 10


def test_environment_is_read():
    s = settings({"CNN_LESSON_DATA": "synthetic", "CNN_LESSON_QUICK": "1",
                  "CNN_LESSON_OUTPUT": "/tmp/x", "CNN_LESSON_SEED": "7"})
    assert (s.data_source, s.quick, s.output_dir, s.seed, s.epochs) == (
        "synthetic", True, Path("/tmp/x"), 7, 1)


@pytest.mark.parametrize("env", [{"CNN_LESSON_QUICK": "maybe"}, {"CNN_LESSON_SEED": "seven"}])
def test_nonsense_values_are_refused_with_the_variable_named(env):
    with pytest.raises(ValueError, match=next(iter(env))):
        settings(env)
