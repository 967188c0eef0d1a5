"""Small things the package tests share."""

import keras
import numpy as np


def random_images(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`count` random uint8 images (count, 32, 32, 3) and balanced labels (count, 1)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8).reshape(-1, 1)
    return images, labels


class InterruptAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of epoch `epochs`, as the notebook's stop button does."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt
