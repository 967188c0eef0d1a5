"""cnn_lesson: the helper package of the CIFAR-10 CNN course.

`__all__` below is the whole surface the lesson notebooks use; each name's docstring says
which lesson uses it.
"""

from cnn_lesson.config import Settings, settings
from cnn_lesson.data import CLASS_NAMES, IMAGE_SHAPE, NUM_CLASSES

try:  # TEMPORARY while the data layer lands (issue 3)
    from cnn_lesson.data import (
        SyntheticDataWarning,
        is_synthetic,
        load_cifar10,
        source_label,
        synthetic_cifar10,
    )
except ImportError:
    pass
from cnn_lesson.errors import (
    CnnLessonError,
    DataError,
    LessonOrderError,
    ModelFileError,
    OutputError,
)
from cnn_lesson.files import prepare_output_dir
from cnn_lesson.model import create_model
from cnn_lesson.plots import plot_history, plot_sample_images, save_figure
from cnn_lesson.saving import load_model, save_model
from cnn_lesson.training import (
    compile_model,
    evaluate,
    normalize_images,
    one_cycle_schedule,
    split_validation,
    steps_per_epoch,
    take_subset,
    train,
)

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SHAPE",
    "NUM_CLASSES",
    "CnnLessonError",
    "DataError",
    "LessonOrderError",
    "ModelFileError",
    "OutputError",
    "Settings",
    "SyntheticDataWarning",
    "compile_model",
    "create_model",
    "evaluate",
    "is_synthetic",
    "load_cifar10",
    "load_model",
    "normalize_images",
    "one_cycle_schedule",
    "plot_history",
    "plot_sample_images",
    "prepare_output_dir",
    "save_figure",
    "save_model",
    "settings",
    "source_label",
    "split_validation",
    "steps_per_epoch",
    "synthetic_cifar10",
    "take_subset",
    "train",
]
