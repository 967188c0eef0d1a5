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

VARIANTS = ("lesson5", "no-whitening", "ema", "smoothing-0.2", "sgd", "bn-no-scale", "dirac")
SEED = 42


def _build(variant: str, train_data, total_steps: int):
    """Lesson 5's compiled network, with `variant`'s change."""
    import keras

    from cnn_lesson.further import (FURTHER_PEAK_LEARNING_RATE, LABEL_SMOOTHING,
                                    SmoothedSparseCrossentropy, create_further_model,
                                    whitening_filters)
    from cnn_lesson.training import one_cycle_schedule

    whitening = None if variant == "no-whitening" else whitening_filters(train_data[0])
    model = create_further_model(whitening=whitening)
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
    else:
        optimizer = keras.optimizers.Adam(
            one_cycle_schedule(total_steps, FURTHER_PEAK_LEARNING_RATE),
            use_ema=variant == "ema", ema_momentum=0.99)
    smoothing = 0.2 if variant == "smoothing-0.2" else LABEL_SMOOTHING
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
    total_steps = FURTHER_EPOCHS * steps_per_epoch(len(train_data[0]), FURTHER_BATCH_SIZE)
    model = _build(variant, train_data, total_steps)
    history = train(model, train_data, validation_data, epochs=FURTHER_EPOCHS,
                    batch_size=FURTHER_BATCH_SIZE, seed=SEED)
    validation_accuracy = evaluate(model, *validation_data)[1]  # the final weights (EMA's too)
    test_accuracy = evaluate(model, test_images, test_labels)[1]
    scaled = test_images.astype("float32") / 255
    summed = (model.predict(scaled, batch_size=256, verbose=0)
              + model.predict(scaled[:, :, ::-1], batch_size=256, verbose=0))
    return {"variant": variant, "seconds": history.seconds,
            "validation": validation_accuracy, "test": test_accuracy,
            "test_mirror": float(np.mean(summed.argmax(axis=1) == test_labels.ravel())),
            "epoch_val_accuracy": history.history["val_accuracy"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="data source (default: $CNN_LESSON_DATA)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    data = arguments.data or os.environ.get("CNN_LESSON_DATA") or None
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
