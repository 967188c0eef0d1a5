"""cnn_lesson: the helper package of the CIFAR-10 CNN course.

`__all__` below is the whole surface the lesson notebooks use; each name's docstring says
which lesson uses it.
"""

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

__all__ = [
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
