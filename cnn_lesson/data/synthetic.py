"""A generated stand-in for CIFAR-10: same shapes and balance, easy to learn, NOT real.

Each image is bright stripes in a class colour on a near-black ground, at a class angle
(the angles are shuffled against the colours so that neighbouring hues differ in angle),
with a random position (phase), spacing, brightness and pixel noise. The lesson's model
learns it fast (about 99% accuracy on the test images with batch statistics after 16
batches of 128), which is all this set is for: tests and offline demos. Whatever shows it
must say it is synthetic (see `source_label`); loading it always warns.

Used by the tests and by lesson 1 (`01_the_data.ipynb`) when `CNN_LESSON_DATA=synthetic`.
"""

from __future__ import annotations

import colorsys

import numpy as np

from cnn_lesson.arguments import checked
from cnn_lesson.config import MAX_SEED, whole_number
from cnn_lesson.data.cache import Arrays
from cnn_lesson.data.classes import IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.data.notices import warn_caller

SYNTHETIC = "synthetic"
SYNTHETIC_LABEL = "SYNTHETIC stand-in for CIFAR-10 — not real images"

_COLOURS = 255 * np.array(
    [colorsys.hsv_to_rgb(index / NUM_CLASSES, 0.9, 1.0) for index in range(NUM_CLASSES)]
)
_ANGLES = (np.arange(NUM_CLASSES) * 7 % NUM_CLASSES) * (np.pi / NUM_CLASSES)
_CHUNK = 4000
_VARIANTS = 256


class SyntheticDataWarning(UserWarning):
    """The data is the generated stand-in, not CIFAR-10 (shown every time it is loaded)."""


def warn_synthetic() -> None:
    """Say, every time, that the data is synthetic."""
    warn_caller(
        f"Using the {SYNTHETIC_LABEL}. Results on it say nothing about CIFAR-10; set "
        "CNN_LESSON_DATA to real data (or unset it to download) for the lesson.",
        SyntheticDataWarning,
    )


def _stripe_bank() -> np.ndarray:
    """Every stripe pattern the images pick from (computed once, ~0.6 MB).

    Returns:
        `stripes[class, variant]`, bool 32x32: the bright stripes, at the class angle
        with a little jitter, a random phase (position) and period.
    """
    rng = np.random.default_rng(20240611)
    size = IMAGE_SHAPE[0]
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    shape = (NUM_CLASSES, _VARIANTS, 1, 1)
    angle = _ANGLES.reshape(-1, 1, 1, 1) + rng.uniform(-0.12, 0.12, shape)
    phase, period = rng.uniform(0, 2 * np.pi, shape), rng.uniform(4.5, 7.5, shape)
    along = np.cos(angle) * cols + np.sin(angle) * rows
    return np.sin(along * (2 * np.pi / period) + phase) > 0


def _draw(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Images for `labels` (1-D), drawn chunk by chunk to bound memory.

    Each image picks a stripe pattern of its class from the bank; its pixels are looked
    up in a per-image palette (dark gaps, bright stripes in the class colour), then noise
    is subtracted, all in uint8 (palette within 31..255, noise 0..31).
    """
    stripes = _stripe_bank().astype(np.uint8)  # 0 gap, 1 stripe
    images = np.empty((len(labels), *IMAGE_SHAPE), dtype=np.uint8)
    for start in range(0, len(labels), _CHUNK):
        chunk = labels[start:start + _CHUNK]
        count = len(chunk)
        shade = stripes[chunk, rng.integers(0, _VARIANTS, size=count)]
        colour = _COLOURS[chunk] * rng.uniform(0.85, 1.0, size=(count, 1))
        gap = rng.uniform(0, 30, size=(count, 1)) * np.ones(3)
        palette = np.clip(np.stack([gap, colour], axis=1), 31, 255).astype(np.uint8)
        which = shade + np.arange(0, 2 * count, 2, dtype=np.int32).reshape(-1, 1, 1)
        pixels = np.take(palette.reshape(-1, 3), which, axis=0)
        noise = np.frombuffer(rng.bytes(pixels[..., 0].size), dtype=np.uint8) & 31
        pixels -= noise.reshape(*pixels.shape[:-1], 1)
        images[start:start + count] = pixels
    return images


def generate(seed: int, train_per_class: int, test_per_class: int) -> Arrays:
    """The synthetic set without the warning (`load_cifar10` warns itself)."""
    result = []
    for split, per_class in enumerate((train_per_class, test_per_class)):
        rng = np.random.default_rng([seed, split])
        labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES, dtype=np.uint8), per_class))
        result.append((_draw(labels, rng), labels.reshape(-1, 1)))
    return result[0], result[1]


MAX_PER_CLASS = 50_000  # ten times CIFAR-10's training images: 1.5 GB for a split at most


@checked
def synthetic_cifar10(
    seed: int = 0, train_per_class: int = 5000, test_per_class: int = 1000
) -> Arrays:
    """Generate the synthetic stand-in for CIFAR-10 (and warn that it is one).

    The same seed gives the same images; the test set does not depend on
    `train_per_class`. The full size takes about a second or two.

    Used by the tests, and by lesson 1 (`01_the_data.ipynb`) with `CNN_LESSON_DATA=synthetic`.

    Args:
        seed: the random seed.
        train_per_class: training images per class (CIFAR-10: 5,000; at most
            `MAX_PER_CLASS`).
        test_per_class: test images per class (CIFAR-10: 1,000; at most `MAX_PER_CLASS`).

    Returns:
        `((train_images, train_labels), (test_images, test_labels))` as
        `keras.datasets.cifar10.load_data()` returns them: uint8 images (N, 32, 32, 3) and
        uint8 labels (N, 1), in shuffled order.

    Warns:
        SyntheticDataWarning: always, so nobody takes it for CIFAR-10.
    """
    seed = whole_number("seed", seed, minimum=0, maximum=MAX_SEED)
    # Bounded: a typo such as 10**9 would try to allocate terabytes and kill the kernel.
    train_per_class, test_per_class = (
        whole_number(name, value, maximum=MAX_PER_CLASS) for name, value in
        (("train_per_class", train_per_class), ("test_per_class", test_per_class)))
    warn_synthetic()
    return generate(seed, train_per_class, test_per_class)
