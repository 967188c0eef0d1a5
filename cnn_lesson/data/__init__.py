"""CIFAR-10 from anywhere: the download, a local archive or folder, or a synthetic set.

One module per source: `download` (Keras' `get_file`), `archive` (the official
`cifar-10-python.tar.gz` and its extracted `cifar-10-batches-py/`, read through the
restricted unpickler of `safe_pickle`), `folders` (PNG/JPEG trees), `synthetic`; `cache`
keeps decoded arrays on disk and `sources` picks among them (`load_cifar10`).

Used by lesson 1 (`01_the_data.ipynb`) and by everything that loads data.
"""

from cnn_lesson.data.archive import OFFICIAL_MD5, UnofficialDataWarning
from cnn_lesson.data.cache import default_cache_dir
from cnn_lesson.data.classes import CLASS_NAMES, IMAGE_SHAPE, NUM_CLASSES
from cnn_lesson.data.download import CIFAR10_URL
from cnn_lesson.data.safe_pickle import RestrictedUnpickler
from cnn_lesson.data.sources import is_synthetic, load_cifar10, source_label
from cnn_lesson.data.synthetic import SyntheticDataWarning, synthetic_cifar10

__all__ = [
    "CIFAR10_URL",
    "CLASS_NAMES",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "OFFICIAL_MD5",
    "RestrictedUnpickler",
    "SyntheticDataWarning",
    "UnofficialDataWarning",
    "default_cache_dir",
    "is_synthetic",
    "load_cifar10",
    "source_label",
    "synthetic_cifar10",
]
