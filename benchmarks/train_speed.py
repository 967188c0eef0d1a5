"""Training speed and memory: the seed's reference recipe against the package's pipeline.

    python benchmarks/train_speed.py --epochs 1                 # a quick check
    python benchmarks/train_speed.py --epochs 10 --data /work/data
    python benchmarks/train_speed.py --recipes reference,further --epochs 10

Each recipe runs in its own subprocess, one after the other, so that its peak resident
memory (`ru_maxrss` of that process) is its own, and it does not share the CPU with the
other. Recipes:

  reference  exactly what the seed script did: `train_images / 255.0` (float64 arrays),
             `create_model()` with Keras' default batch normalisation momentum (0.99),
             `Adam()` with its default learning rate, Keras' default batch
             of 32, `model.fit(train_images, train_labels, epochs=N,
             validation_data=(test_images, test_labels))` on all 50,000 training images.
  package    the package's pipeline on the same model, as lesson 3 runs it: `split_validation`
             (45,000 training images, 5,000 held out), `train` (a `tf.data` pipeline, uint8
             until the model, batches of 128), a one-cycle learning rate, and the layers
             computing in `fast_precision()` (bfloat16 on CPUs that have it).
  further    lesson 5's going-further recipe (`cnn_lesson.further.train_further`); it trains
             for its own number of epochs (`--further-epochs`, default FURTHER_EPOCHS).

Prints images per second, seconds per epoch, peak resident memory and test accuracy for
each recipe, then the ratios; the last line is `throughput_ratio=X memory_ratio=Y`
(package over reference; `nan` when one of the two was not run). The per-epoch figures go to
a JSON file (default `<output folder>/train_speed.json`): seconds of training and validation
accuracy at the end of each epoch, as the package's `train` records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cnn_lesson.cli import positive_int  # the same argument check as the command line

RECIPES = ("reference", "package", "further")
DEFAULT_RECIPES = "reference,package"


def _recipes(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in RECIPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown recipe(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(RECIPES)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/train_speed.py",
        description="Compare the seed's reference training recipe with the package's pipeline "
        "(and lesson 5's going-further recipe): images/s, s/epoch, peak memory, test accuracy.",
    )
    parser.add_argument("--epochs", type=positive_int, default=1,
                        help="epochs of the reference and package recipes (default 1)")
    parser.add_argument("--data", metavar="SOURCE",
                        help="data source, as for `python -m cnn_lesson train --data` "
                        "(default: $CNN_LESSON_DATA)")
    parser.add_argument("--recipes", type=_recipes, default=_recipes(DEFAULT_RECIPES),
                        help=f"comma-separated, run in this order, from {', '.join(RECIPES)} "
                        f"(default {DEFAULT_RECIPES})")
    parser.add_argument("--further-epochs", type=positive_int,
                        help="epochs of the further recipe (default: its own, FURTHER_EPOCHS)")
    parser.add_argument("--max-images", type=positive_int, metavar="N",
                        help="use at most N training and N test images (smoke tests)")
    parser.add_argument("--threads", metavar="INTER,INTRA",
                        help="set TensorFlow's inter- and intra-op thread pools, e.g. 1,2 "
                        "(default: TensorFlow's choice)")
    parser.add_argument("--precision", choices=("float32", "mixed_bfloat16"),
                        help="how the package and further recipes compute (default: "
                        "`fast_precision()`, as the lessons do); the reference is float32")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="where to write the figures (default <output>/train_speed.json)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--child", choices=RECIPES, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    return parser


# --- in the child process: one recipe ------------------------------------------------------

def _load(source: str | None, max_images: int | None):
    from cnn_lesson import load_cifar10

    (train_images, train_labels), (test_images, test_labels) = load_cifar10(source)
    if max_images:
        train_images, train_labels = train_images[:max_images], train_labels[:max_images]
        test_images, test_labels = test_images[:max_images], test_labels[:max_images]
    return (train_images, train_labels), (test_images, test_labels)


def run_recipe(arguments: argparse.Namespace) -> dict:
    """Run one recipe in this process and return its figures."""
    import tensorflow as tf

    if arguments.threads:
        inter, intra = (int(part) for part in arguments.threads.split(","))
        tf.config.threading.set_inter_op_parallelism_threads(inter)
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    import keras

    (train_images, train_labels), (test_images, test_labels) = _load(
        arguments.data, arguments.max_images
    )
    keras.utils.set_random_seed(arguments.seed)
    recipe = arguments.child
    if recipe == "reference":
        from cnn_lesson import create_model, resumable_training
        from cnn_lesson.model import REFERENCE_BATCHNORM_MOMENTUM

        # The seed script, line for line: float64 copies, default Adam, default batch (32),
        # the test set as validation data.
        train_images, test_images = train_images / 255.0, test_images / 255.0
        model = create_model(batchnorm_momentum=REFERENCE_BATCHNORM_MOMENTUM)  # Keras' default
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        progress = resumable_training(None)  # no backup: it only records each epoch's time
        started = time.perf_counter()
        history = model.fit(train_images, train_labels, epochs=arguments.epochs,
                            validation_data=(test_images, test_labels),
                            callbacks=progress.callbacks, verbose=2)
        seconds = time.perf_counter() - started
        history = progress.finish(history)
        test_accuracy = float(model.evaluate(test_images, test_labels, verbose=0)[1])
        epochs, trained_on, batch_size = arguments.epochs, len(train_images), 32
        precision = "float32"
    else:
        from cnn_lesson import evaluate, fast_precision, split_validation

        precision = arguments.precision or fast_precision()  # as lessons 3 and 5 do

        train_data, validation_data = split_validation(train_images, train_labels,
                                                       seed=arguments.seed)
        trained_on = len(train_data[0])
        if recipe == "package":
            from cnn_lesson import (build_model, create_model, one_cycle_schedule,
                                    steps_per_epoch, train)
            from cnn_lesson.training import BATCH_SIZE

            epochs, batch_size = arguments.epochs, BATCH_SIZE
            model = build_model(
                lambda: create_model(precision=precision),
                learning_rate=one_cycle_schedule(epochs * steps_per_epoch(trained_on, batch_size)),
            )
            history = train(model, train_data, validation_data, epochs=epochs,
                            batch_size=batch_size, seed=arguments.seed)
        else:
            from cnn_lesson.further import FURTHER_BATCH_SIZE, FURTHER_EPOCHS, train_further

            epochs = arguments.further_epochs or FURTHER_EPOCHS
            batch_size = FURTHER_BATCH_SIZE
            model, history = train_further(train_data, validation_data, epochs=epochs,
                                           batch_size=batch_size, seed=arguments.seed,
                                           precision=precision)
        seconds = history.seconds
        test_accuracy = evaluate(model, test_images, test_labels)[1]
    return {
        "recipe": recipe,
        "epochs": epochs,
        "batch_size": batch_size,
        "precision": precision,
        "training_images": trained_on,
        "parameters": int(model.count_params()),
        "seconds": seconds,
        "seconds_per_epoch": seconds / epochs,
        "images_per_second": trained_on * epochs / seconds,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "test_accuracy": test_accuracy,
        "epoch_seconds": history.history["seconds"],
        "epoch_val_accuracy": history.history["val_accuracy"],
        "validation": "test set (as the seed did)" if recipe == "reference"
        else "held-out 10% of the training images",
    }


# --- in the parent process: run each recipe, compare ---------------------------------------

def _run_child(recipe: str, arguments: argparse.Namespace, argv: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        result_path = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), *argv,
                   "--child", recipe, "--child-result", str(result_path)]
        load_before = os.getloadavg()[0]
        completed = subprocess.run(command, check=False)
        if completed.returncode != 0:
            raise SystemExit(f"the {recipe} recipe failed (exit status {completed.returncode})")
        result = json.loads(result_path.read_text(encoding="utf-8"))
    result["load_before"], result["load_after"] = load_before, os.getloadavg()[0]
    return result


def _table(results: list[dict]) -> str:
    header = (f"{'recipe':<10} {'epochs':>6} {'batch':>5} {'precision':>14} {'images/s':>9} "
              f"{'s/epoch':>8} {'peak MB':>8} {'test acc':>8} {'load':>9}")
    rows = [header]
    for r in results:
        rows.append(
            f"{r['recipe']:<10} {r['epochs']:>6} {r['batch_size']:>5} {r['precision']:>14} "
            f"{r['images_per_second']:>9.0f} {r['seconds_per_epoch']:>8.1f} "
            f"{r['peak_memory_mb']:>8.0f} {r['test_accuracy']:>8.4f} "
            f"{r['load_before']:>4.1f}/{r['load_after']:<4.1f}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = build_parser().parse_args(argv)
    if arguments.data is None:
        arguments.data = os.environ.get("CNN_LESSON_DATA") or None
    if arguments.child:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        result = run_recipe(arguments)
        arguments.child_result.write_text(json.dumps(result), encoding="utf-8")
        return 0

    from cnn_lesson import config

    child_argv = [part for part in argv]
    if arguments.data and "--data" not in argv:
        child_argv += ["--data", arguments.data]
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU "
          f"core(s), Python {platform.python_version()}; load average "
          f"{os.getloadavg()[0]:.1f} at the start; data: {arguments.data or 'official download'}")
    results = []
    for recipe in arguments.recipes:
        print(f"\n--- {recipe} ---", flush=True)
        results.append(_run_child(recipe, arguments, child_argv))

    print("\n" + _table(results))
    by_name = {r["recipe"]: r for r in results}
    throughput = memory = float("nan")
    if "reference" in by_name and "package" in by_name:
        reference, package = by_name["reference"], by_name["package"]
        throughput = package["images_per_second"] / reference["images_per_second"]
        memory = package["peak_memory_mb"] / reference["peak_memory_mb"]
    if "reference" in by_name and "further" in by_name:
        reference, further = by_name["reference"], by_name["further"]
        print(f"further vs reference: {further['test_accuracy']:.4f} test accuracy in "
              f"{further['seconds']:.0f} s, against {reference['test_accuracy']:.4f} in "
              f"{reference['seconds']:.0f} s (time ratio "
              f"{further['seconds'] / reference['seconds']:.2f})")

    json_path = arguments.json or config.settings().output_dir / "train_speed.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "data": arguments.data or "official download",
        "max_images": arguments.max_images,
        "threads": arguments.threads,
        "recipes": results,
    }, indent=1), encoding="utf-8")
    print(f"figures written to {json_path}")
    print(f"throughput_ratio={throughput:.2f} memory_ratio={memory:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
