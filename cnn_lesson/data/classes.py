"""The ten CIFAR-10 classes and the image shape, shared by every source.

Used by lesson 1 (`01_the_data.ipynb`) to name the classes, and by the model and plots.
"""

from __future__ import annotations

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (32, 32, 3)

# What a learner can point `CNN_LESSON_DATA` (or `source=`) at; quoted by error messages.
LOCAL_FORMS = (
    "  1. the official archive `cifar-10-python.tar.gz` (a path to the file);\n"
    "  2. its extracted folder `cifar-10-batches-py/` (data_batch_1..5, test_batch);\n"
    "  3. an image-folder tree `train/<class>/*` and `test/<class>/*` with the ten class\n"
    "     names as folder names (PNG or JPEG, 32x32 RGB);\n"
    "  or `synthetic` for a generated stand-in (NOT real images: tests and offline demos only)."
)
