"""A plot of accuracy and loss that redraws itself after every epoch of training.

Used by lesson 3 (`03_training.ipynb`): `train(..., callbacks=[live_training_plot()])`.
"""

from __future__ import annotations

import io
from typing import Mapping, Sequence

import keras
import numpy as np
from IPython import get_ipython
from IPython.display import Image as DisplayImage
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cnn_lesson.arguments import checked


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich output shows), False in a terminal or script."""
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


# As `plot_history` draws them: colour-blind-safe tab10 blue and orange, and a second cue.
STYLES = ({"color": "tab:blue", "marker": "o", "linestyle": "-"},
          {"color": "tab:orange", "marker": "s", "linestyle": "--"})


class LivePlot(keras.callbacks.Callback):
    """A Keras callback that redraws accuracy and loss after every epoch, in place.

    In a notebook it shows one picture when training starts and replaces it after each epoch
    (through a display handle, so the last picture stays in the saved notebook). In a terminal
    or a script it shows nothing and prints nothing; either way `.history` keeps every epoch.

    Used by lesson 3 (`03_training.ipynb`): `train(..., callbacks=[live_training_plot()])`.

    Args:
        show: True or False: draw in the notebook or not; None (the default) draws only
            inside a Jupyter kernel.
        history: metrics of earlier epochs to draw first (e.g. a resumed run's history).
        title: the figure's title.

    Attributes:
        history: `{"accuracy": [...], "val_accuracy": [...], "loss": [...], ...}` so far.
        epochs: the epoch number (1-based) of each entry; a resumed fit starts after the last
            one done, and a repeated epoch replaces the one drawn before.
        draw_count: how many times it drew; `png`: the last drawing as PNG bytes.
    """

    def __init__(self, show: bool | None = None,
                 history: Mapping[str, Sequence[float]] | None = None,
                 title: str = "Training progress"):
        super().__init__()
        self.show = show
        self.title = title
        self.draw_count = 0
        self.png: bytes | None = None
        self._handle = None
        self.show_earlier_epochs(history or {})

    # `show` is a flag: "no" is true and drew. @checked refuses it, in a message that names
    # the class a learner calls rather than "__init__".
    __init__.__name__ = "LivePlot"
    __init__ = checked(__init__)

    def show_earlier_epochs(self, history: Mapping[str, Sequence[float]]) -> None:
        """Start from the metrics of epochs done before, replacing what the plot holds.

        `train` calls this when it resumes an interrupted run from its backup, so that the
        plot shows the whole run and not only the epochs after the interruption.
        """
        from cnn_lesson.plots import history_values  # pyplot only when one is drawn

        self.history = {key: [float(v) for v in values] for key, values in
                        history_values(history, "live_training_plot", needed=()).items()
                        if key != "learning_rate"}
        self.epochs = list(range(1, len(next(iter(self.history.values()), [])) + 1))

    def on_train_begin(self, logs=None):
        if self.show if self.show is not None else _in_notebook():
            self._handle = display(DisplayImage(data=self._draw()), display_id=True)
        else:
            self._handle = None

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number in self.epochs:  # the same epoch again (a resume or a second fit): replace
            keep = self.epochs.index(number)
            self.epochs = self.epochs[:keep]
            self.history = {key: values[:keep] for key, values in self.history.items()}
        self.epochs.append(number)
        logs = {key: float(value) for key, value in (logs or {}).items()
                if np.ndim(value) == 0 and key != "learning_rate"}
        for key in set(logs) | set(self.history):  # a metric missing this epoch gets a gap
            values = self.history.setdefault(key, [np.nan] * (len(self.epochs) - 1))
            values.append(logs.get(key, np.nan))
        if self._handle is not None:
            self._handle.update(DisplayImage(data=self._draw()))

    def _draw(self) -> bytes:
        """Accuracy (left) and loss (right), training and validation, as PNG bytes."""
        figure = Figure(figsize=(10, 3.6))  # not pyplot: no second copy shown at cell end
        for axis, metric in zip(figure.subplots(1, 2), ("accuracy", "loss")):
            for prefix, label, style in (("", "training", STYLES[0]),
                                         ("val_", "validation", STYLES[1])):
                if prefix + metric in self.history:
                    axis.plot(self.epochs, self.history[prefix + metric], **style,
                              label=f"{label} {metric}")
            axis.set_xlabel("Epoch")
            axis.set_ylabel(metric.capitalize())
            axis.set_title(f"{metric.capitalize()} per epoch")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.grid(alpha=0.3)
            if self.epochs:
                axis.legend()
        figure.suptitle(self.title if self.epochs else f"{self.title}: waiting for epoch 1")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        self.png = buffer.getvalue()
        self.draw_count += 1
        return self.png


@checked
def live_training_plot(show: bool | None = None,
                       history: Mapping[str, Sequence[float]] | None = None) -> LivePlot:
    """A callback that redraws accuracy and loss after each epoch (see `LivePlot`).

    Used by lesson 3: `history = train(model, ..., callbacks=[live_training_plot()])`.
    """
    return LivePlot(show=show, history=history)
