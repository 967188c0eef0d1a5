"""What test-time augmentation buys a trained model: each test image predicted in several views,
the probabilities added up.

Prints the test accuracy of one saved model (default: lesson 5's `going_further/best_model.keras`)
for each set of views, with the gain over the plain images in points and the prediction time
relative to one pass:

  plain               the images alone (what `evaluate` measures)
  mirror              + each image mirrored left to right (lesson 5's cell)
  mirror+shifts       + the image and its mirror shifted one pixel down-right and up-left
                      (edges reflected): 6 views
  upside-down         + each image upside down: a view the network never trained on

    python benchmarks/test_time_augmentation.py --data DIR [--model output/going_further/best_model.keras]

The model is not trained here: the figures are about prediction only. Its last line reads
`tta_gain_points mirror=X mirror+shifts=Y upside-down=Z`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from cnn_lesson import load_cifar10, load_model  # noqa: E402
from cnn_lesson.config import DEFAULT_OUTPUT  # noqa: E402


def shifted(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """The images moved by (rows, columns) pixels, the uncovered edge filled by reflection."""
    pad = max(abs(rows), abs(columns))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    size = images.shape[1]
    return padded[:, pad - rows:pad - rows + size, pad - columns:pad - columns + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data source (default $CNN_LESSON_DATA)")
    parser.add_argument("--model", type=Path,
                        default=DEFAULT_OUTPUT / "going_further" / "best_model.keras")
    arguments = parser.parse_args()
    model = load_model(arguments.model)
    _, (images, labels) = load_cifar10(arguments.data or os.environ.get("CNN_LESSON_DATA"))
    labels = labels.ravel()
    scaled = images.astype("float32") / 255

    passes, seconds = 0, 0.0

    def predict(view: np.ndarray) -> np.ndarray:
        nonlocal passes, seconds
        started = time.perf_counter()
        probabilities = model.predict(view, batch_size=256, verbose=0)
        seconds += time.perf_counter() - started
        passes += 1
        return probabilities

    plain = predict(scaled)
    one_pass = seconds
    mirror = plain + predict(scaled[:, :, ::-1])
    views = mirror.copy()
    for rows, columns in ((1, 1), (-1, -1)):
        moved = shifted(scaled, rows, columns)
        views += predict(moved) + predict(moved[:, :, ::-1])
    upside_down = plain + predict(scaled[:, ::-1])

    def accuracy(probabilities: np.ndarray) -> float:
        return float(np.mean(probabilities.argmax(axis=1) == labels))

    base = accuracy(plain)
    print(f"model {arguments.model}, {len(labels):,} test images, one pass {one_pass:.1f} s")
    gains = {}
    for name, probabilities, count in (("plain", plain, 1), ("mirror", mirror, 2),
                                       ("mirror+shifts", views, 6),
                                       ("upside-down", upside_down, 2)):
        value = accuracy(probabilities)
        gains[name] = 100 * (value - base)
        print(f"{name:14} {value:.4f} ({gains[name]:+.2f} points, {count} pass(es))")
    print("tta_gain_points " + " ".join(f"{name}={gain:+.2f}" for name, gain in gains.items()
                                         if name != "plain"))


if __name__ == "__main__":
    main()
