"""The reference lesson as one script: `python scripts/train.py`.

Loads CIFAR-10, plots 25 random samples to output/sample_images.png, trains the 3-block CNN
with Adam for 10 epochs, plots accuracy and val_accuracy to output/training_history.png,
prints the test accuracy and saves output/model.h5 (plus model.keras and metrics.json).
It is a thin wrapper over `python -m cnn_lesson train`; the data source follows
CNN_LESSON_DATA (see the README).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runs without `pip install -e .`

from cnn_lesson.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
