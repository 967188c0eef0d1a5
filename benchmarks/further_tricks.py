"""What each speed-record trick buys lesson 5's recipe: one trick changed at a time (issue 16).

    python benchmarks/further_tricks.py --data DIR                       # every variant
    python benchmarks/further_tricks.py --data DIR --variants lesson5,no-whitening,ema

Each variant trains lesson 5's network with the going-further recipe (`train_further`'s
network, schedule, loss, batch size and epochs, seed 42, the same held-out validation images)
with one thing changed, in its own process, one after the other. Variants:

  lesson5        the recipe as lesson 5 trains it (whitened first convolution included)
  no-whitening   the first convolution trained like the others, from random weights
  ema            the weights averaged over the last ~100 steps (Keras' `use_ema=True`,
                 momentum 0.99), the average used at the end
  smoothing-0.2  label smoothing 0.2 instead of 0.1
  sgd            Nesterov SGD (momentum 0.9, peak learning rate 0.2, weight decay 5e-4)
                 instead of Adam
  bn-no-scale    batch normalisation without its learned scale (gamma)
  dirac          every 3x3 convolution after the first starts as the identity (a Dirac
                 delta per filter, as far as the channels allow) instead of random weights
  batch-128      batches of 128 with the peak learning rate halved (0.002)
  batch-512      batches of 512 with the peak learning rate doubled (0.008)

and the ablation: lesson 5's recipe with one of its own tricks taken out.

  no-augmentation  no random flips and shifts in front of the network
  no-residual      no residual block (its convolution and the shortcut around it)
  no-smoothing     label smoothing 0 instead of 0.1
  constant-rate    Adam at its default constant learning rate (0.001) instead of the
                   one-cycle schedule
  float32          every layer computes in float32 instead of mixed bfloat16

(`lesson5`'s test accuracy without the mirror is the ablation of the test-time mirror.)

`--speed JSON` adds to a `--save` file each variant's training speed, timed apart from the
training runs: the training step of each variant on random images (a few untimed steps, then
the median of `--rounds` timings of `--steps` batches, the variants taking turns in each
round), in one process. Run it on an otherwise idle machine: a training
run's own seconds also count whatever else the machine did meanwhile.

Prints, for each: validation and test accuracy, the test accuracy with the mirror image
(lesson 5's test-time augmentation), the seconds of training, and the gains over `lesson5`
in points. The machine is shared: the seconds are only comparable within one invocation, and
the accuracies do not depend on the load (the same seed gives the same figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TRICKS = ("ema", "smoothing-0.2", "sgd", "bn-no-scale", "dirac", "batch-128", "batch-512")
# The batch size of each variant, and the peak learning rate that goes with it (the rule
# lesson 5 teaches: the rate in proportion to the batch).
BATCHES = {"batch-128": (128, 2e-3), "batch-512": (512, 8e-3)}
ABLATION = ("no-whitening", "no-augmentation", "no-residual", "no-smoothing", "constant-rate",
            "float32")
VARIANTS = ("lesson5", *ABLATION, *TRICKS)
SEED = 42


def _build(variant: str, train_data, total_steps: int):
    """Lesson 5's compiled network, with `variant`'s change."""
    import keras

    from cnn_lesson.further import (FURTHER_PEAK_LEARNING_RATE, LABEL_SMOOTHING,
                                    SmoothedSparseCrossentropy, create_further_model,
                                    whitening_filters)
    from cnn_lesson.training import one_cycle_schedule

    whitening = None if variant == "no-whitening" else whitening_filters(train_data[0])
    model = create_further_model(whitening=whitening, augment=variant != "no-augmentation",
                                 residual_convs=0 if variant == "no-residual" else 1,
                                 precision="float32" if variant == "float32" else None)
    if variant == "bn-no-scale":  # the same network from its config, without gamma
        config = model.get_config()
        for layer in config["layers"]:
            if layer["class_name"] == "BatchNormalization":
                layer["config"]["scale"] = False
        model = keras.Model.from_config(config)
        if whitening is not None:
            model.get_layer("stage1_conv").set_weights([whitening])
    if variant == "dirac":
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D) and layer.trainable:
                kernel = layer.get_weights()[0]
                middle = kernel.shape[0] // 2
                for channel in range(min(kernel.shape[2], kernel.shape[3])):
                    kernel[:, :, channel, channel] = 0.0
                    kernel[middle, middle, channel, channel] = 1.0
                layer.set_weights([kernel])
    if variant == "sgd":
        optimizer = keras.optimizers.SGD(one_cycle_schedule(total_steps, 0.2), momentum=0.9,
                                         nesterov=True, weight_decay=5e-4)
    elif variant == "constant-rate":
        optimizer = keras.optimizers.Adam()  # Keras' default: 0.001 throughout
    else:
        peak = BATCHES.get(variant, (None, FURTHER_PEAK_LEARNING_RATE))[1]
        optimizer = keras.optimizers.Adam(one_cycle_schedule(total_steps, peak),
                                          use_ema=variant == "ema", ema_momentum=0.99)
    smoothing = {"smoothing-0.2": 0.2, "no-smoothing": 0.0}.get(variant, LABEL_SMOOTHING)
    model.compile(optimizer=optimizer, loss=SmoothedSparseCrossentropy(smoothing),
                  metrics=["accuracy"])
    return model


def run_variant(variant: str, data: str | None) -> dict:
    """Train one variant in this process; its figures."""
    import keras
    import numpy as np

    from cnn_lesson import evaluate, load_cifar10, split_validation
    from cnn_lesson.further import FURTHER_BATCH_SIZE, FURTHER_EPOCHS
    from cnn_lesson.training import steps_per_epoch, train

    (train_images, train_labels), (test_images, test_labels) = load_cifar10(data)
    train_data, validation_data = split_validation(train_images, train_labels, seed=SEED)
    keras.utils.set_random_seed(SEED)
    batch_size = BATCHES.get(variant, (FURTHER_BATCH_SIZE,))[0]
    total_steps = FURTHER_EPOCHS * steps_per_epoch(len(train_data[0]), batch_size)
    model = _build(variant, train_data, total_steps)
    history = train(model, train_data, validation_data, epochs=FURTHER_EPOCHS,
                    batch_size=batch_size, seed=SEED)
    validation_accuracy = evaluate(model, *validation_data)[1]  # the final weights (EMA's too)
    test_accuracy = evaluate(model, test_images, test_labels)[1]
    scaled = test_images.astype("float32") / 255
    summed = (model.predict(scaled, batch_size=256, verbose=0)
              + model.predict(scaled[:, :, ::-1], batch_size=256, verbose=0))
    return {"variant": variant, "seconds": history.seconds,
            "validation": validation_accuracy, "test": test_accuracy,
            "test_mirror": float(np.mean(summed.argmax(axis=1) == test_labels.ravel())),
            "epoch_val_accuracy": history.history["val_accuracy"]}


def speeds(variants: list[str], steps: int, rounds: int) -> dict[str, float]:
    """Images per second of each variant's training step, on random images: the median of
    `rounds` timings of `steps` batches, the variants taking turns in each round (so that a
    slow spell of the machine falls on all of them, not on one)."""
    import statistics
    import time

    import keras
    import numpy as np

    from cnn_lesson.further import FURTHER_BATCH_SIZE

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    images = rng.integers(0, 256, (FURTHER_BATCH_SIZE, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, (FURTHER_BATCH_SIZE, 1))
    batch = images.astype("float32") / 255
    models = {variant: _build(variant, (images, labels), total_steps=rounds * steps + 3)
              for variant in variants}
    for model in models.values():
        for _ in range(3):  # not timed: TensorFlow prepares the step here
            model.train_on_batch(batch, labels)
    timings: dict[str, list[float]] = {variant: [] for variant in variants}
    for _ in range(rounds):
        for variant, model in models.items():
            started = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(batch, labels)
            timings[variant].append(steps * FURTHER_BATCH_SIZE / (time.perf_counter() - started))
    return {variant: statistics.median(values) for variant, values in timings.items()}


def add_speeds(path: Path, steps: int, rounds: int = 3) -> None:
    """Time each variant of a `--save` file (`speeds`) and write its images per second there."""
    figures = json.loads(path.read_text())
    measured = speeds([result["variant"] for result in figures["variants"]], steps, rounds)
    for result in figures["variants"]:
        result["images_per_second"] = round(measured[result["variant"]], 1)
        print(f"{result['variant']:<16} {result['images_per_second']:8.1f} images/s", flush=True)
    figures["speed"] = (f"training step on random images: the median of {rounds} timings of "
                        f"{steps} batches, the variants taking turns, the machine otherwise idle")
    path.write_text(json.dumps(figures, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="data source (default: $CNN_LESSON_DATA)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--save", type=Path, metavar="JSON",
                        help="also write the figures there (lesson 5 ships them as "
                             "cnn_lesson/further_tricks.json)")
    parser.add_argument("--speed", type=Path, metavar="JSON",
                        help="time each variant of a --save file on its own and add its "
                             "images per second there (no training)")
    parser.add_argument("--steps", type=int, default=20, help="timed batches per variant "
                                                              "and round (with --speed)")
    parser.add_argument("--rounds", type=int, default=3, help="timings per variant, whose "
                                                              "median counts (with --speed)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    data = arguments.data or os.environ.get("CNN_LESSON_DATA") or None
    if arguments.speed:
        add_speeds(arguments.speed, arguments.steps, arguments.rounds)
        return 0
    if arguments.child:
        arguments.child_result.write_text(json.dumps(run_variant(arguments.child, data)))
        return 0
    variants = [name.strip() for name in arguments.variants.split(",") if name.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(VARIANTS)}")
    results = []
    for variant in variants:
        print(f"--- {variant} ---", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            result_path = Path(folder) / "result.json"
            command = [sys.executable, __file__, "--child", variant, "--child-result",
                       str(result_path)] + (["--data", data] if data else [])
            if subprocess.run(command, check=False).returncode != 0:
                raise SystemExit(f"the {variant} variant failed")
            results.append(json.loads(result_path.read_text()))
    base = next((r for r in results if r["variant"] == "lesson5"), None)
    print(f"\n{'variant':<14} {'validation':>10} {'test':>7} {'+mirror':>8} {'seconds':>8}"
          + ("  gain over lesson5 (test, +mirror)" if base else ""))
    for r in results:
        gains = "" if base is None else (
            f"  {100 * (r['test'] - base['test']):+.2f} "
            f"{100 * (r['test_mirror'] - base['test_mirror']):+.2f}")
        print(f"{r['variant']:<14} {r['validation']:>10.4f} {r['test']:>7.4f} "
              f"{r['test_mirror']:>8.4f} {r['seconds']:>8.0f}{gains}")
    if arguments.save:
        save_figures(arguments.save, variants, results)
        print(f"figures written to {arguments.save}")
    return 0


def save_figures(path: Path, variants: list[str], results: list[dict]) -> None:
    """Write the figures as `cnn_lesson.further_ablation.ablation` reads them (lesson 5's table)."""
    path.write_text(json.dumps(
        {"command": "python benchmarks/further_tricks.py --variants " + ",".join(variants),
         "machine": f"{os.cpu_count()} CPU cores", "seed": SEED, "variants": results},
        indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
