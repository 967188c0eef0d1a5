"""Why validation accuracy was near chance after epoch 1: batch normalisation's momentum.

Trains lesson 3's recipe (its network, one-cycle Adam, batches of 128, the 45,000/5,000 split,
the course's seed) once per momentum of the BatchNormalization layers, and after every epoch
prints three validation accuracies:

  keras       what `fit` reports: inference mode, with the moving mean and variance
  recomputed  the same weights, with the moving statistics replaced by the average of the
              statistics of 50 training batches (dropout off): what they would be if they had
              kept up with the weights
  training    Keras' training accuracy of the epoch (the same for every momentum: momentum
              only changes the statistics used for predicting, never the training itself)

A large gap between `keras` and `recomputed` means the moving statistics lag behind the
weights. The last lines give the test accuracy of each momentum and, on one line,
`epoch1_val_accuracy ...` for each. The measurement works on a copy of the model, so it does
not disturb the training.

    python benchmarks/batchnorm_momentum.py --data DIR [--epochs 10] [--momenta 0.99,0.9]
                                            [--precision auto|float32|mixed_bfloat16]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cnn_lesson import (  # noqa: E402
    compile_model, create_model, evaluate, fast_precision, load_cifar10, make_dataset,
    one_cycle_schedule, split_validation, steps_per_epoch, train,
)
from cnn_lesson.config import DEFAULT_SEED  # noqa: E402

CALIBRATION_BATCHES = 50


def recomputed_accuracy(model: keras.Model, calibration, validation_set) -> float:
    """Validation accuracy of a copy of `model` whose moving statistics are recomputed.

    Each BatchNormalization layer's moving mean and variance become the average of the batch
    statistics over the calibration batches, with dropout off, as Keras would hold them if its
    moving average had kept up (momentum (k-1)/k at batch k is a running mean).
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    norms = [layer for layer in copy.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in copy.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    for count, (images, _) in enumerate(calibration, start=1):
        for layer in norms:
            layer.momentum = (count - 1) / count
        copy(images, training=True)
    compile_model(copy)
    return float(copy.evaluate(validation_set, verbose=0)[1])


class Measure(keras.callbacks.Callback):
    def __init__(self, calibration, validation_set):
        super().__init__()
        self.calibration, self.validation_set = calibration, validation_set
        self.rows = []

    def on_epoch_end(self, epoch, logs=None):
        recomputed = recomputed_accuracy(self.model, self.calibration, self.validation_set)
        self.rows.append((logs["accuracy"], logs["val_accuracy"], recomputed))
        print(f"  epoch {epoch + 1:2}: training {logs['accuracy']:.4f}  keras "
              f"{logs['val_accuracy']:.4f}  recomputed {recomputed:.4f}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("CNN_LESSON_DATA"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--momenta", default="0.99,0.9")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16"),
                        default="auto", help="auto: fast_precision(), as lesson 3")
    args = parser.parse_args(argv)
    momenta = [float(value) for value in args.momenta.split(",")]

    (train_images, train_labels), (test_images, test_labels) = load_cifar10(args.data)
    train_data, validation_data = split_validation(train_images, train_labels, seed=args.seed)
    calibration = list(make_dataset(*train_data, batch_size=128, shuffle=True, seed=1)
                       .take(CALIBRATION_BATCHES))
    validation_set = make_dataset(*validation_data, batch_size=128)
    precision = fast_precision() if args.precision == "auto" else args.precision
    print(f"lesson 3's recipe, {args.epochs} epochs, precision {precision}, seed {args.seed}")
    results = {}
    for momentum in momenta:
        print(f"BatchNormalization(momentum={momentum})", flush=True)
        keras.utils.set_random_seed(args.seed)
        model = create_model(precision=precision, batchnorm_momentum=momentum)
        total_steps = args.epochs * steps_per_epoch(len(train_data[0]))
        compile_model(model, learning_rate=one_cycle_schedule(total_steps))
        measure = Measure(calibration, validation_set)
        train(model, train_data, validation_data, epochs=args.epochs, seed=args.seed,
              callbacks=[measure], verbose=0)
        test_accuracy = evaluate(model, test_images, test_labels)[1]
        print(f"  test accuracy {test_accuracy:.4f}")
        results[momentum] = (measure.rows, test_accuracy)
    first = " ".join(f"momentum{m}={rows[0][1]:.4f}(recomputed {rows[0][2]:.4f})"
                     for m, (rows, _) in results.items())
    tests = " ".join(f"momentum{m}={test:.4f}" for m, (_, test) in results.items())
    print(f"epoch1_val_accuracy {first}")
    print(f"test_accuracy {tests}")
    same = all(np.allclose([r[0] for r in rows], [r[0] for r in results[momenta[0]][0]])
               for rows, _ in results.values())
    print(f"training accuracy identical across momenta: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
