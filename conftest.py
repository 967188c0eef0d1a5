"""Test settings for the whole repository, also for `pytest --nbval notebooks/` on its own.

The tests never need the network or a learner's files:
- the data source defaults to the synthetic set (CI points CNN_LESSON_DATA at the real copy);
- quick mode is on, so the lesson notebooks train for one short epoch;
- lessons write into a temporary folder, never into output/ where a learner's model lives.
The lesson notebooks of one session share that folder, so lesson 4 finds lesson 3's model.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("CNN_LESSON_DATA", "synthetic")
os.environ.setdefault("CNN_LESSON_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("CNN_LESSON_OUTPUT"):
    _output = tempfile.mkdtemp(prefix="cnn_lesson_test_output_")
    os.environ["CNN_LESSON_OUTPUT"] = _output
    atexit.register(shutil.rmtree, _output, ignore_errors=True)


def pytest_collectstart(collector):
    """Leave stderr out of nbval's comparison.

    TensorFlow writes log lines to the kernel's stderr, and the synthetic data set announces
    itself there; the stored outputs hold no stderr (`notebooks refresh` strips it). nbval has
    no option for this, so we add the stream name to the keys it skips.
    """
    if type(collector).__name__ == "IPyNbFile":
        collector.skip_compare = (*collector.skip_compare, "stderr")
