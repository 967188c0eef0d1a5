"""The command line: `python -m cnn_lesson train`, `doctor` and `notebooks`.

`train` runs the reference lesson end to end: load CIFAR-10, plot samples, build and train
the CNN, report the test accuracy once, plot the history and save the model.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from cnn_lesson import config
from cnn_lesson.errors import shown

# The sample grid shows 25 training images and a tenth of them is held out for validation.
MIN_TRAIN_IMAGES = 50

ARTIFACTS = (
    "sample_images.png", "training_history.png", "model.keras", "model.h5", "metrics.json",
    "history.json",
)


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (also used by the benchmark script)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


MAX_EPOCHS = 1_000  # the lesson trains 10; a thousand epochs would take days on 2 cores


def epoch_count(text: str) -> int:
    """argparse type: epochs, 1 to MAX_EPOCHS (a typo such as 100000 is refused at once)."""
    value = positive_int(text)
    if value > MAX_EPOCHS:
        raise argparse.ArgumentTypeError(f"at most {MAX_EPOCHS:,} (the lesson trains 10), "
                                         f"got {value:,}")
    return value


def _seed(text: str) -> int:
    """argparse type: a seed, 0 to 4,294,967,295 (what `keras.utils.set_random_seed` takes)."""
    from cnn_lesson.errors import SettingsError

    try:
        return config.parse_seed(text, "--seed")
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _not_blank(text: str) -> str:
    """argparse type: a path that is not empty (an unset shell variable, `--output "$OUT"`,
    would otherwise mean the current folder, or start the download)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give a path (or leave the option out for "
                                         "the default)")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (bad arguments exit with status 2 and a usage message)."""
    parser = argparse.ArgumentParser(
        prog="python -m cnn_lesson",
        description="Train the course's CNN on CIFAR-10, check this computer, or re-run the "
        "lesson notebooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser(
        "train",
        help="run the reference lesson: train, evaluate, plot and save",
        description="Train the reference CNN and write sample_images.png, "
        "training_history.png, model.keras, model.h5 and metrics.json.",
    )
    train.add_argument("--epochs", type=epoch_count,
                       help=f"epochs, 1 to {MAX_EPOCHS:,} (default 10, quick mode 1)")
    train.add_argument(
        "--data",
        metavar="SOURCE",
        type=_not_blank,
        help="data source: a cifar-10-python.tar.gz, a cifar-10-batches-py folder, an image "
        "folder tree, or 'synthetic' (default: $CNN_LESSON_DATA, else the official download)",
    )
    train.add_argument("--output", metavar="DIR", type=lambda text: Path(_not_blank(text)),
                       help="output folder (default output/)")
    train.add_argument("--seed", type=_seed, help="random seed (default $CNN_LESSON_SEED or 42)")
    train.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {config.QUICK_TRAIN_IMAGES:,} training images, 1 epoch unless "
        "--epochs is given (also CNN_LESSON_QUICK=1)",
    )
    train.add_argument(
        "--fresh", action="store_true", help="discard a backup of an interrupted run and start over"
    )
    train.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16"),
        default="auto",
        help="how the layers compute: 'auto' (default) is mixed_bfloat16 on a CPU with "
        "bfloat16 instructions and no GPU, float32 elsewhere; float32 is the reference "
        "lesson's. The saved model is float32 either way.",
    )
    commands.add_parser(
        "doctor",
        help="check this computer for the course (versions, CPU, GPU, data, space, widgets)",
        description="One line per check, each ok, warning or problem with what to do. Exit "
        "status 1 when there is a problem. Downloads and writes nothing.",
    )
    notebooks = commands.add_parser(
        "notebooks", help="copy the lessons where you want them; for instructors: the student "
        "edition, re-run the lessons",
        description="copy DIR: a working copy of the five lessons in DIR; student DIR: the "
        "student edition (solutions removed and gathered in DIR/solutions/) in DIR; refresh: "
        "re-run every lesson on real data and store its outputs; check: which lessons are "
        "stale or fail (refresh and check need a checkout of the project).")
    notebooks.add_argument("action", choices=("copy", "student", "refresh", "check"))
    notebooks.add_argument("names", nargs="*",
                           help="for copy and student: DIR; for refresh and check: notebook "
                           "files (default: every lesson)")
    notebooks.add_argument("--force", action="store_true",
                           help="copy and student: overwrite files in DIR that differ from "
                           "the lessons (a learner's work)")
    return parser


def write_edition(action: str, names: Sequence[str], force: bool) -> int:
    """`notebooks copy DIR` and `notebooks student DIR`: every lesson into DIR."""
    from cnn_lesson import editions
    from cnn_lesson.notebooks import lesson_notebooks

    if len(names) != 1:
        print(f"usage: python -m cnn_lesson notebooks {action} DIR [--force]", file=sys.stderr)
        return 2
    if action == "copy":
        written = editions.copy_lessons(names[0], lesson_notebooks(), force=force)
        print(f"{len(written)} lesson(s) written to {shown(names[0])}"
              + ("" if written else " (all were there already, unchanged)")
              + ". Open them with: jupyter lab " + shown(names[0]))
        return 0
    written = editions.write_student_edition(names[0], lesson_notebooks(), force=force)
    lessons = [path for path in written if path.parent.name != "solutions"]
    print(f"Student edition: {len(lessons)} lesson(s) and {len(written) - len(lessons)} "
          f"solution notebook(s) written to {shown(names[0])}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m cnn_lesson`. Returns the exit status."""
    # Run with its output closed (`>&-`, some schedulers): Python's sys.stdout is None, and
    # Keras' progress lines write to it directly (a raw AttributeError after the first epoch).
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    try:
        arguments = build_parser().parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C before anything ran
        print("\nInterrupted before the command started: nothing was done.", file=sys.stderr)
        return 130
    from cnn_lesson.errors import CnnLessonError

    try:
        if arguments.command == "train":
            run_training(arguments)
            return 0
        if arguments.command == "doctor":
            from cnn_lesson import doctor

            return doctor.main()
        from cnn_lesson import notebooks

        if arguments.action in ("copy", "student"):
            return write_edition(arguments.action, arguments.names, arguments.force)
        return notebooks.main(arguments.action, arguments.names)
    except CnnLessonError as error:  # shown: a folder name that is not UTF-8 prints too
        print(f"error: {shown(str(error))}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `... | head`: the reader is gone; quiet, as other commands are
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE
    except OSError as error:  # the files it writes answer with an OutputError: the output
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to it
        with contextlib.suppress(OSError):
            print(f"error: Could not print the command's output ({error.strerror}): write it "
                  "to a disk with free space, or to the terminal.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        said = INTERRUPTED.get(getattr(arguments, "action", arguments.command), "Interrupted.")
        if arguments.command == "train":
            stage = getattr(arguments, "stage", "training")
            if stage == "trained" and file_digest(arguments.model_file) != arguments.model_before:
                stage = "saving"  # model.keras was written (Ctrl-C came during model.h5)
            said = INTERRUPTED_TRAINING[stage]
            if arguments.fresh:  # the same command, --fresh and all, would start over
                said = said.replace("Run the same command again", "Run it again without "
                                    "--fresh").replace(" (or add --fresh to start over)", "")
        print("\n" + said, file=sys.stderr)
        return 130


# What Ctrl-C left in `train`, by the stage it reached (`_train_and_report` sets it).
INTERRUPTED_TRAINING = {
    "training": "Interrupted. Run the same command again to continue from the last finished "
                "epoch (or add --fresh to start over).",
    "trained": "Interrupted after training, before its model was saved. Run the same command "
               "again: it restores the trained weights and saves them, without training again.",
    "saving": "Interrupted while saving: model.keras was written, metrics.json not. Run the "
              "same command again to save everything: it trains this run again.",
}
# What Ctrl-C left, by command (or `notebooks` action).
INTERRUPTED = {
    "train": INTERRUPTED_TRAINING["training"],
    "refresh": "Interrupted. The notebook being run was left as it was; those refreshed before "
               "it keep their new outputs.",
    "check": "Interrupted: no notebook was changed.",
    "copy": "Interrupted. Each lesson written so far is complete; run the same command again "
            "to write the rest.",
}
INTERRUPTED["student"] = INTERRUPTED["copy"]


def run_training(arguments: argparse.Namespace) -> dict:
    """Run the reference lesson as the command line's `train` does; return the metrics."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, also without a display
    import cnn_lesson as lesson
    from cnn_lesson.backup import holding_folder

    settings = config.settings()
    quick = arguments.quick or settings.quick
    epochs = arguments.epochs or (config.QUICK_EPOCHS if quick else config.LESSON_EPOCHS)
    seed = settings.seed if arguments.seed is None else arguments.seed
    source = arguments.data or settings.data_source
    refuse_output_in_data(arguments.output or settings.output_dir, source)
    output_dir = lesson.prepare_output_dir(arguments.output or settings.output_dir)
    # One command per folder at a time, from its first file to its last: a second one
    # refuses at once, before it loads data or writes anything.
    with holding_folder(output_dir):
        return _train_and_report(arguments, quick, epochs, seed, source, output_dir)


def refuse_output_in_data(output, source, setting: str = "--output DIR") -> None:
    """An OutputError, before anything is written, when the output folder is inside the data
    folder's `train/` or `test/`: its files would be among the images (`metrics.json` in a
    class's folder) and every later load would fail. Beside them, in the data folder itself,
    they do no harm. Used by `train` and by `notebooks refresh` (whose `setting` is
    CNN_LESSON_OUTPUT)."""
    from cnn_lesson.errors import OutputError

    if source is None or str(source).strip().lower() == "synthetic":
        return
    try:
        data = config.user_path(source, "the data source").resolve()
        folder = config.user_path(output, "the output folder").resolve()
        # the data folder itself holds train/ and test/ beside other files; inside those (or
        # where a link named so leads), the command's files would be among the images
        splits = [(data / split).resolve() for split in ("train", "test")]
        inside = data.is_dir() and any(folder == split or split in folder.parents
                                       for split in splits)
    except (OSError, RuntimeError, config.SettingsError):
        return  # the data's and the folder's own checks say what is wrong
    if inside:
        raise OutputError(f"The output folder {shown(folder)} is inside the data folder "
                          f"{shown(data)}, among its images. Choose an output folder outside "
                          f"its train/ and test/ folders ({setting}).")


IDENTITY = ("data_source", "data", "quick", "seed", "precision", "epochs")
MODEL_DIGESTS = "model digests"  # metrics.json's record of the model files it describes
LEGACY_DIGEST = "model.keras digest"  # the same, before it covered model.h5 and best_model.keras
# The trained models a run of this command can replace: its own two, and the best model so
# far that `train` keeps (lesson 3's, or the reference script's model.h5, may be there).
GUARDED_MODELS = ("model.keras", "model.h5", "best_model.keras")


def model_digests(output_dir: Path, names: Sequence[str] = GUARDED_MODELS) -> dict:
    """`file_digest` of each of `names` in `output_dir` (None: not there)."""
    return {name: file_digest(output_dir / name) for name in names}


def file_digest(path: Path) -> str | None:
    """A short hash of a file's bytes (None if it cannot be read): tells whether the
    model.keras beside a metrics.json is still the one that run saved."""
    import hashlib

    if not path.is_file():  # missing, a folder, or a pipe that would never end
        return None
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    except OSError:
        return None


def _shown_fact(key: str, value) -> str:
    """One fact of a run, as `check_replacing` shows it (the data's fingerprint as words)."""
    return "trained on other images" if key == "data" else f"{key.replace('_', ' ')} {value}"


def check_replacing(output_dir: Path, run: dict, fresh: bool) -> None:
    """Refuse, before training, to replace a trained model of another run without `--fresh`.

    The trained models are `GUARDED_MODELS`: this command's `model.keras` and `model.h5`, and
    the best model `train` keeps (a finished run's; an unfinished run's is its backup's to
    guard). A run of this command records itself in `metrics.json` (with a digest of each of
    those files, and a fingerprint of the data): the same run again replaces them (nothing is
    lost), another run is refused; the same images from another kind of source are the same
    run. A run stopped after saving `model.keras` but before `metrics.json` is recorded by its
    finished epoch log, whose last weights the model holds. Models without such a record, or
    saved since (lesson 3's,
    in the default `output/`; the reference script's `model.h5`), are only refused to a smoke
    run (quick mode or the synthetic set), which would otherwise pass for them in lesson 4; a
    full run on real data trains the same recipe, so it replaces them.

    Raises:
        OutputError: the folder holds another run's model and `fresh` is not set.
    """
    from cnn_lesson.data.synthetic import SYNTHETIC_LABEL
    from cnn_lesson.errors import OutputError

    from cnn_lesson.backup.saved import BEST_MODEL_FILE, EPOCH_LOG_FILE

    if fresh:
        return
    from cnn_lesson.backup import finish_killed_saves
    from cnn_lesson.backup.saved import BACKUP_FOLDER, holds_weights, read_saved_run

    finish_killed_saves(output_dir / BACKUP_FOLDER)  # a kill between a save's two renames
    saved = read_saved_run(output_dir)  # damaged: its own message, not "another run's model"
    # A run's best model is its backup's to guard: only the same run resumes it (or, when
    # finished, restores it). One beside a log that is not a run's (`{}`) is guarded here.
    try:
        from cnn_lesson.files import read_json

        in_a_run = isinstance(read_json(output_dir / EPOCH_LOG_FILE).get("history"), dict)
    except (OSError, ValueError, AttributeError):  # no log, or not a dict
        in_a_run = False
    guarded = [name for name in GUARDED_MODELS if not (in_a_run and name == BEST_MODEL_FILE)]
    present = [name for name in guarded if (output_dir / name).exists()]
    if not present:
        return
    from cnn_lesson.files import closed_to_us

    closed = closed_to_us([output_dir / name for name in (*present, "metrics.json")])
    if closed is not None:  # not "a model that no metrics.json describes"
        raise OutputError(
            f"{shown(closed)} cannot be read (permission denied), so this command cannot tell "
            "which run the models there are. Nothing was changed: make it readable (e.g. "
            "`chmod u+r` on it), then run again.")
    try:
        from cnn_lesson.files import read_json  # a pipe or a folder is a ValueError

        metrics = read_json(output_dir / "metrics.json")
        recorded = {key: metrics[key] for key in IDENTITY}
        digests = metrics.get(MODEL_DIGESTS) or {  # metrics.json of an earlier version
            "model.keras": metrics[LEGACY_DIGEST], **model_digests(output_dir, guarded[1:])}
        if {name: digests[name] for name in guarded} != model_digests(output_dir, guarded):
            recorded = None  # a model was saved since, e.g. by lesson 3
    except (OSError, ValueError, KeyError, TypeError):
        recorded = None
    # A run of this command stopped after saving model.keras but before metrics.json: its
    # finished epoch log says which run the model is (its weights are the log's last ones).
    logged = recorded is None and saved is not None and saved.finished \
        and saved.weights is not None and _run_of_log(saved) is not None \
        and holds_weights(output_dir / "model.keras", saved.weights)
    if logged:
        recorded = {key: saved.run.get(name) for key, name in _logged_as().items()}
    smoke = run["quick"] or run["data_source"] == SYNTHETIC_LABEL
    # Without a record, a full run replaces only the course's own network (lesson 3's, the
    # reference script's), never a model of the user's own that has one of these names.
    foreign = [name for name in present if not is_course_model(output_dir / name)]
    if (recorded is not None and _compared(recorded) == _compared(run)) \
            or (recorded is None and not smoke and not foreign) \
            or _this_runs_backup(saved, output_dir, run, recorded is None):
        return
    if recorded is None and foreign and not smoke:
        raise OutputError(
            f"{output_dir} holds {', '.join(foreign)}, which this command would replace but "
            "which hold another network than the course's (create_model's), perhaps a model "
            "of your own. To keep it, choose another folder with --output; to replace it, "
            "add --fresh.")
    if recorded is None:
        theirs = "a model that no metrics.json of this command describes, such as lesson 3's"
        differ = [key for key in IDENTITY if key != "data"]
    else:
        differ = [key for key in IDENTITY if recorded[key] != run[key]]
        theirs = ("its epoch log says " if logged else "metrics.json says ") + ", ".join(
            _shown_fact(key, recorded[key]) for key in differ)
    ours = ", ".join(_shown_fact(key, run[key]) for key in differ if key != "data")
    raise OutputError(
        f"{output_dir} already holds a trained model ({', '.join(present)}) of another run "
        f"({theirs}; this run: "
        f"{ours or 'the same settings'}{', other images' if 'data' in differ else ''}). To "
        "keep it, choose another folder with --output; to replace it, add --fresh."
    )


def _logged_as() -> dict[str, str]:
    """The names `check_replacing` gives a run's facts (metrics.json's) in the epoch log."""
    from cnn_lesson.backup.saved import COMMAND_DATA  # keras: imported when a run is judged

    return {"data_source": "data source", "data": COMMAND_DATA, "quick": "quick",
            "seed": "seed", "precision": "precision", "epochs": "epochs"}


def _compared(run: dict) -> dict:
    """A run's facts as they tell runs apart: not the kind of source (`data_source`), since
    the same images may come from an archive, a batches folder or image folders; `data`,
    their fingerprint, compares the images themselves (as the backup does)."""
    return {key: value for key, value in run.items() if key != "data_source"}


def _run_of_log(saved) -> dict | None:
    """The command's run facts of a saved run (`read_saved_run`), named as in metrics.json;
    None for a run the command did not make (lesson 3's, a Python `train`)."""
    from cnn_lesson.backup.saved import COMMAND_DATA

    if COMMAND_DATA not in saved.run:
        return None
    return _compared({key: saved.run.get(name) for key, name in _logged_as().items()})


def _this_runs_backup(saved, output_dir: Path, run: dict, unrecorded: bool) -> bool:
    """Whether the folder's backup (`saved`, read by `read_saved_run`) is this very
    command's, with these settings (data, quick mode, seed, precision, epochs), so that its
    models are this run's to replace: an unfinished run, or a finished one whose model was
    never saved, while `metrics.json` still describes the models it replaces (replacing
    them was agreed when it started, with `--fresh` or as the same run); or, when no
    `metrics.json` describes the models (`unrecorded`), a finished run stopped after it saved
    `model.keras` (its weights are those the run ended with) but before `metrics.json`."""
    if saved is None or _run_of_log(saved) != _compared(run):
        return False
    if not saved.finished:
        return True
    if saved.weights is None:
        return False
    from cnn_lesson.backup.saved import holds_weights

    saved_since = holds_weights(output_dir / "model.keras", saved.weights)
    return saved_since if unrecorded else not saved_since


def is_course_model(path: Path) -> bool:
    """Whether the model file at `path` holds the course's network: `create_model`'s name,
    and its layers in order with their sizes (read from the file's configuration, without
    building it), so that a variant such as `create_model(filters=(8, 8, 8))` is not."""
    import zipfile

    from cnn_lesson.files import is_regular_file
    from cnn_lesson.model import MODEL_NAME

    if not is_regular_file(path):
        return False
    try:
        if path.suffix == ".h5":
            import h5py

            with h5py.File(path, "r") as file:
                config = json.loads(file.attrs["model_config"])
        else:
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
        return (config["config"]["name"] == MODEL_NAME
                and _layer_sizes(config["config"]) == _course_layer_sizes())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError,
            zipfile.BadZipFile):
        return False


@functools.cache
def _course_layer_sizes() -> list:
    """`_layer_sizes` of `create_model()`, built once for every file `is_course_model` reads."""
    from cnn_lesson.model import create_model

    return _layer_sizes(create_model().get_config())


# What tells one network from another in a layer's configuration (not its name or dtype).
_SIZES = ("batch_shape", "filters", "kernel_size", "strides", "padding", "activation", "units",
          "pool_size", "rate", "momentum", "use_bias")


def _layer_sizes(config: dict) -> list:
    """The class and sizes of each layer of a Sequential model's configuration, as JSON
    gives them back (lists, not tuples)."""
    return json.loads(json.dumps(
        [(layer["class_name"], {key: layer["config"].get(key) for key in _SIZES})
         for layer in config["layers"]], default=str))


def _written_by_the_course(path: Path) -> bool:
    """Whether `path`, one of the ARTIFACTS, looks like a file this course writes: PNGs that
    matplotlib wrote, JSON holding a training history, an HDF5 or zip (Keras) model file."""
    import zipfile

    from PIL import Image

    if not path.is_file():  # a folder, or a pipe that would never end
        return False
    try:
        if path.suffix == ".png":
            with Image.open(path) as picture:  # matplotlib signs the PNGs it writes
                return "matplotlib" in str(picture.info.get("Software", "")).lower()
        if path.suffix == ".json":
            from cnn_lesson.files import read_json

            content = read_json(path)
            history = content if path.name == "history.json" else content.get("history")
            return isinstance(history, dict) and "loss" in history
        if path.suffix == ".h5":
            with path.open("rb") as file:
                return file.read(8) == b"\x89HDF\r\n\x1a\n"
        return zipfile.is_zipfile(path)
    except (OSError, ValueError, AttributeError, Image.DecompressionBombError):
        return False  # unreadable, not JSON, not a dict, a picture too large to be ours


def check_foreign_files(output_dir: Path, fresh: bool) -> None:
    """Refuse, before anything is written, to replace files of the names this command writes
    that the course did not write (another program's `metrics.json`, a photo called
    `sample_images.png`), unless `fresh`.

    Raises:
        OutputError: such files are there and `fresh` is not set.
    """
    from cnn_lesson.errors import OutputError

    foreign = [name for name in ARTIFACTS if not fresh and (output_dir / name).exists()
               and not _written_by_the_course(output_dir / name)]
    if foreign:
        raise OutputError(
            f"{output_dir} holds {', '.join(foreign)}, which this command would replace but "
            "which the course did not write (or which cannot be read). To keep them, choose "
            "another folder with --output; to replace them, add --fresh.")


def _train_and_report(arguments: argparse.Namespace, quick: bool, epochs: int, seed: int,
                      source, output_dir: Path) -> dict:
    """`run_training`'s work, in an output folder it holds."""
    import keras
    import matplotlib.pyplot as plt

    import cnn_lesson as lesson
    from cnn_lesson.files import write_json
    from cnn_lesson.saving import save_history

    started = time.perf_counter()

    (train_images, train_labels), (test_images, test_labels) = lesson.load_cifar10(source)
    label = lesson.source_label(source)
    if len(train_images) < MIN_TRAIN_IMAGES:
        raise lesson.DataError(
            f"The data ({label}) holds {len(train_images)} training images; the lesson needs "
            f"at least {MIN_TRAIN_IMAGES} (CIFAR-10 has 50,000). Add images, or point --data "
            "at the full CIFAR-10."
        )
    print(f"Data: {shown(label)}: {len(train_images):,} training and {len(test_images):,} test "
          "images")
    precision = lesson.fast_precision() if arguments.precision == "auto" else arguments.precision
    # Before the first file is written: a refused run leaves the folder as it found it.
    from cnn_lesson.backup.saved import COMMAND_DATA, data_fingerprint

    data = data_fingerprint(train_images, train_labels) + data_fingerprint(test_images,
                                                                           test_labels)
    from cnn_lesson.files import refuse_folders_in_the_way

    # a folder named model.keras is no model to guard, of another network or any other
    refuse_folders_in_the_way(output_dir, (*ARTIFACTS, *GUARDED_MODELS))
    check_replacing(output_dir, {"data_source": label, "data": data, "quick": quick,
                                 "seed": seed, "precision": precision, "epochs": epochs},
                    arguments.fresh)
    check_foreign_files(output_dir, arguments.fresh)
    # Drawn now, saved once training has run: a run refused by `train` (another run's or a
    # damaged backup) leaves the folder as it found it.
    samples = lesson.plot_sample_images(train_images, train_labels, seed=seed, title=label)
    plt.close(samples)

    train_data, validation_data = lesson.split_validation(
        train_images, train_labels, seed=seed,
        max_train_images=config.QUICK_TRAIN_IMAGES if quick else None,
    )
    print(f"Training on {len(train_data[0]):,} images for {epochs} epoch(s), validating on "
          f"{len(validation_data[0]):,}" + (" (quick mode)." if quick else "."))

    print(f"Precision: {precision}")
    keras.utils.set_random_seed(seed)
    model = lesson.create_model(precision=precision)
    model.summary()
    total_steps = epochs * lesson.steps_per_epoch(len(train_data[0]))
    lesson.compile_model(model, learning_rate=lesson.one_cycle_schedule(total_steps))
    history = lesson.train(
        model, train_data, validation_data, epochs=epochs, seed=seed,
        output_dir=output_dir, fresh=arguments.fresh,
        run={"data source": label, COMMAND_DATA: data, "quick": quick},
        keep_unsaved=True,  # it saves every run it finishes: one stopped first is kept
    )
    arguments.model_file = output_dir / "model.keras"  # before the stage: Ctrl-C reads both
    arguments.model_before = file_digest(arguments.model_file)
    arguments.stage = "trained"  # what Ctrl-C from here on left (`INTERRUPTED_TRAINING`)
    lesson.save_figure(samples, output_dir / "sample_images.png")
    test_loss, test_accuracy = lesson.evaluate(model, test_images, test_labels)
    print(f"Test accuracy: {test_accuracy:.4f}")

    figure = lesson.plot_history(history, title=f"Training history ({label})",
                                 path=output_dir / "training_history.png")
    plt.close(figure)
    lesson.save_model(model, output_dir)
    arguments.stage = "saving"
    save_history(history, output_dir)
    metrics = {
        "data_source": label,
        "data": data,
        MODEL_DIGESTS: model_digests(output_dir),
        "quick": quick,
        "seed": seed,
        "precision": precision,
        "epochs": len(history.history["loss"]),
        "history": history.history,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_json(output_dir / "metrics.json", metrics)
    print("Wrote " + ", ".join(shown(output_dir / name) for name in ARTIFACTS))
    return metrics
