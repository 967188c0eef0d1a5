"""cnn_lesson: the helper package of the CIFAR-10 CNN course.

`__all__` below is the whole surface the lesson notebooks use; each name's docstring says
which lesson uses it.

The names are imported when first used (PEP 562's module `__getattr__`): most of them need
TensorFlow, whose import takes seconds, and `python -m cnn_lesson --help`, `doctor` or
`notebooks copy` should not wait for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOME = {  # each public name -> the module that defines it
    "ablation": "cnn_lesson.further_ablation",
    "plot_ablation": "cnn_lesson.further_ablation",
    "ResumableTraining": "cnn_lesson.backup",
    "resumable_training": "cnn_lesson.backup",
    "CheckpointError": "cnn_lesson.checkpoints",
    "check_accuracy": "cnn_lesson.checkpoints",
    "check_history": "cnn_lesson.checkpoints",
    "check_normalized": "cnn_lesson.checkpoints",
    "check_split": "cnn_lesson.checkpoints",
    "Settings": "cnn_lesson.config",
    "settings": "cnn_lesson.config",
    "CLASS_NAMES": "cnn_lesson.data",
    "IMAGE_SHAPE": "cnn_lesson.data",
    "NUM_CLASSES": "cnn_lesson.data",
    "SyntheticDataWarning": "cnn_lesson.data",
    "is_synthetic": "cnn_lesson.data",
    "load_cifar10": "cnn_lesson.data",
    "source_label": "cnn_lesson.data",
    "synthetic_cifar10": "cnn_lesson.data",
    "CnnLessonError": "cnn_lesson.errors",
    "DataError": "cnn_lesson.errors",
    "LessonOrderError": "cnn_lesson.errors",
    "ModelFileError": "cnn_lesson.errors",
    "OutputError": "cnn_lesson.errors",
    "SettingsError": "cnn_lesson.errors",
    "answers_among_mistakes": "cnn_lesson.evaluation",
    "check_confusion_matrix": "cnn_lesson.evaluation",
    "confusion_matrix": "cnn_lesson.evaluation",
    "mistakes_by_kind": "cnn_lesson.evaluation",
    "most_confident_mistakes": "cnn_lesson.evaluation",
    "most_confused_pairs": "cnn_lesson.evaluation",
    "per_class_accuracy": "cnn_lesson.evaluation",
    "plot_confusion_matrix": "cnn_lesson.evaluation",
    "plot_mistakes": "cnn_lesson.evaluation",
    "precision_and_recall": "cnn_lesson.evaluation",
    "predict": "cnn_lesson.evaluation",
    "layer_explorer": "cnn_lesson.feature_maps",
    "prepare_output_dir": "cnn_lesson.files",
    "LivePlot": "cnn_lesson.live_plot",
    "live_training_plot": "cnn_lesson.live_plot",
    "create_model": "cnn_lesson.model",
    "explain_parameters": "cnn_lesson.model",
    "load_image_file": "cnn_lesson.own_image",
    "predict_image_file": "cnn_lesson.own_image",
    "plot_accuracy_against_time": "cnn_lesson.plots",
    "plot_augmentations": "cnn_lesson.plots",
    "plot_convolution_example": "cnn_lesson.plots",
    "plot_first_layer_filters": "cnn_lesson.plots",
    "plot_history": "cnn_lesson.plots",
    "plot_learning_rate": "cnn_lesson.plots",
    "plot_normalization": "cnn_lesson.plots",
    "plot_overfitting": "cnn_lesson.plots",
    "plot_sample_images": "cnn_lesson.plots",
    "save_figure": "cnn_lesson.plots",
    "fast_precision": "cnn_lesson.precision",
    "load_history": "cnn_lesson.saving",
    "load_model": "cnn_lesson.saving",
    "load_trained_model": "cnn_lesson.saving",
    "save_history": "cnn_lesson.saving",
    "save_model": "cnn_lesson.saving",
    "TrainedModel": "cnn_lesson.saving",
    "Table": "cnn_lesson.tables",
    "build_model": "cnn_lesson.training",
    "compile_model": "cnn_lesson.training",
    "evaluate": "cnn_lesson.training",
    "make_dataset": "cnn_lesson.training",
    "normalize_images": "cnn_lesson.training",
    "one_cycle_schedule": "cnn_lesson.training",
    "split_validation": "cnn_lesson.training",
    "steps_per_epoch": "cnn_lesson.training",
    "take_subset": "cnn_lesson.training",
    "train": "cnn_lesson.training",
    "prediction_explorer": "cnn_lesson.widgets",
    "sample_browser": "cnn_lesson.widgets",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'cnn_lesson' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # the next use finds it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for editors and type checkers, which do not run __getattr__
    from cnn_lesson.further_ablation import ablation, plot_ablation
    from cnn_lesson.backup import ResumableTraining, resumable_training
    from cnn_lesson.checkpoints import (
        CheckpointError,
        check_accuracy,
        check_history,
        check_normalized,
        check_split,
    )
    from cnn_lesson.config import Settings, settings
    from cnn_lesson.data import (
        CLASS_NAMES,
        IMAGE_SHAPE,
        NUM_CLASSES,
        SyntheticDataWarning,
        is_synthetic,
        load_cifar10,
        source_label,
        synthetic_cifar10,
    )
    from cnn_lesson.errors import (
        CnnLessonError,
        DataError,
        LessonOrderError,
        ModelFileError,
        OutputError,
        SettingsError,
    )
    from cnn_lesson.evaluation import (
        answers_among_mistakes,
        check_confusion_matrix,
        confusion_matrix,
        mistakes_by_kind,
        most_confident_mistakes,
        most_confused_pairs,
        per_class_accuracy,
        plot_confusion_matrix,
        plot_mistakes,
        precision_and_recall,
        predict,
    )
    from cnn_lesson.feature_maps import layer_explorer
    from cnn_lesson.files import prepare_output_dir
    from cnn_lesson.live_plot import LivePlot, live_training_plot
    from cnn_lesson.model import create_model, explain_parameters
    from cnn_lesson.own_image import load_image_file, predict_image_file
    from cnn_lesson.plots import (
        plot_accuracy_against_time,
        plot_augmentations,
        plot_convolution_example,
        plot_first_layer_filters,
        plot_history,
        plot_learning_rate,
        plot_normalization,
        plot_overfitting,
        plot_sample_images,
        save_figure,
    )
    from cnn_lesson.precision import fast_precision
    from cnn_lesson.saving import (
        load_history,
        load_model,
        load_trained_model,
        save_history,
        save_model,
        TrainedModel,
    )
    from cnn_lesson.tables import Table
    from cnn_lesson.training import (
        build_model,
        compile_model,
        evaluate,
        make_dataset,
        normalize_images,
        one_cycle_schedule,
        split_validation,
        steps_per_epoch,
        take_subset,
        train,
    )
    from cnn_lesson.widgets import prediction_explorer, sample_browser

# Listed out (not sorted(_HOME)) so that linters and editors see the names used.
__all__ = [
    "ablation",
    "answers_among_mistakes",
    "build_model",
    "check_accuracy",
    "check_confusion_matrix",
    "check_history",
    "check_normalized",
    "check_split",
    "CheckpointError",
    "CLASS_NAMES",
    "CnnLessonError",
    "compile_model",
    "confusion_matrix",
    "create_model",
    "DataError",
    "evaluate",
    "explain_parameters",
    "fast_precision",
    "IMAGE_SHAPE",
    "is_synthetic",
    "layer_explorer",
    "LessonOrderError",
    "live_training_plot",
    "LivePlot",
    "load_cifar10",
    "load_history",
    "load_image_file",
    "load_model",
    "load_trained_model",
    "make_dataset",
    "mistakes_by_kind",
    "ModelFileError",
    "most_confident_mistakes",
    "most_confused_pairs",
    "normalize_images",
    "NUM_CLASSES",
    "one_cycle_schedule",
    "OutputError",
    "per_class_accuracy",
    "plot_ablation",
    "plot_accuracy_against_time",
    "plot_augmentations",
    "plot_confusion_matrix",
    "plot_convolution_example",
    "plot_first_layer_filters",
    "plot_history",
    "plot_learning_rate",
    "plot_mistakes",
    "plot_normalization",
    "plot_overfitting",
    "plot_sample_images",
    "precision_and_recall",
    "predict",
    "predict_image_file",
    "prediction_explorer",
    "prepare_output_dir",
    "resumable_training",
    "ResumableTraining",
    "sample_browser",
    "save_figure",
    "save_history",
    "save_model",
    "Settings",
    "settings",
    "SettingsError",
    "source_label",
    "split_validation",
    "steps_per_epoch",
    "synthetic_cifar10",
    "SyntheticDataWarning",
    "Table",
    "take_subset",
    "train",
    "TrainedModel",
]
