"""The few settings of the course, read once from the environment.

    CNN_LESSON_DATA    where CIFAR-10 comes from (see `cnn_lesson.data.load_cifar10`);
                       unset means the official download through Keras.
    CNN_LESSON_QUICK   1 for a smoke run: a 2,000-image subset and 1 epoch, same code path.
    CNN_LESSON_OUTPUT  the folder lessons write to (default: `output/` in the project root of a
                       checkout; with the package installed from a wheel, `output/` in the
                       current folder, which is the lesson's own folder in a notebook).
    CNN_LESSON_SEED    the random seed (default 42).

Every lesson calls `settings()` once in its setup cell and passes the values on from there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cnn_lesson.arguments import checked
from cnn_lesson.errors import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A checkout (or an editable install of one) has the project's files around the package; a
# wheel installs only the package, into site-packages, where nothing may be written.
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "notebooks").is_dir()
DEFAULT_OUTPUT = PROJECT_ROOT / "output"
DEFAULT_SEED = 42
MAX_SEED = 2**32 - 1  # numpy's legacy seed, which `keras.utils.set_random_seed` sets, is 32-bit
QUICK_TRAIN_IMAGES = 2_000
QUICK_EPOCHS = 1
LESSON_EPOCHS = 10

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """What a run of the course uses: data source, quick mode, output folder, seed."""

    data_source: str | None
    quick: bool
    output_dir: Path
    seed: int

    @property
    def epochs(self) -> int:
        """The lesson's number of epochs: 10, or 1 in quick mode."""
        return self.training_epochs(LESSON_EPOCHS)

    def training_epochs(self, full_run: int) -> int:
        """`full_run` epochs, or 1 in quick mode (lesson 5 and the exercises use it)."""
        return QUICK_EPOCHS if self.quick else full_run

    def training_images(self, full_run: int | None = None) -> int | None:
        """At most `full_run` training images (None: all), and at most 2,000 in quick mode."""
        if not self.quick:
            return full_run
        return QUICK_TRAIN_IMAGES if full_run is None else min(full_run, QUICK_TRAIN_IMAGES)

    @property
    def max_train_images(self) -> int | None:
        """How many training images `train` may use: all (None), or 2,000 in quick mode."""
        return QUICK_TRAIN_IMAGES if self.quick else None


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(
        f"{name}={value!r} is not understood: use 1 (on) or 0 (off) (true/false, yes/no and "
        "on/off work too), or unset it."
    )


def parse_seed(text: str, name: str = "CNN_LESSON_SEED") -> int:
    """A random seed from text: a whole number from 0 to 4,294,967,295.

    Used by `settings` and the command line's `--seed`.

    Raises:
        SettingsError: `text` is not such a number; the message names `name`.
    """
    try:
        seed = int(text.strip())
    except ValueError:
        seed = None
    if seed is None or not 0 <= seed <= MAX_SEED:
        unset = f", or unset it for {DEFAULT_SEED}" if name.startswith("CNN_LESSON") else ""
        raise SettingsError(
            f"{name}={text!r} is not a seed: use a whole number from 0 to {MAX_SEED:,} "
            f"(without commas){unset}."
        )
    return seed


@checked
def settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the course's settings from the environment.

    Used in the setup cell of every lesson and by the command line.

    Args:
        environ: the environment to read (default `os.environ`); tests pass a dict.

    Returns:
        The `Settings`.

    Raises:
        SettingsError: a variable holds a value that means nothing here (also a ValueError).
    """
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if isinstance(name, str) and name.startswith("CNN_LESSON_") \
                and not isinstance(value, str):
            raise SettingsError(f"{name}={value!r}: environment values are text, as in "
                                "os.environ; pass strings such as '42'.")
    seed_text = env.get("CNN_LESSON_SEED", "").strip()
    output = env.get("CNN_LESSON_OUTPUT", "").strip()
    return Settings(
        data_source=env.get("CNN_LESSON_DATA", "").strip() or None,
        quick=_parse_bool("CNN_LESSON_QUICK", env.get("CNN_LESSON_QUICK", "")),
        output_dir=user_path(output, "CNN_LESSON_OUTPUT") if output else default_output(),
        seed=parse_seed(seed_text) if seed_text else DEFAULT_SEED,
    )


def default_output() -> Path:
    """The output folder when CNN_LESSON_OUTPUT is unset: the checkout's `output/`, or, for a
    package installed from a wheel, `output/` in the current folder."""
    return DEFAULT_OUTPUT if IN_CHECKOUT else Path.cwd() / "output"


def user_path(value: str | os.PathLike, what: str, error: type[Exception] = SettingsError) -> Path:
    """`Path(value).expanduser()`, with `error` instead of Python's RuntimeError for a `~name`
    that names no user (a typo such as `~cifar` for `~/cifar`) or a home folder Python
    cannot find.

    Args:
        value: the path as the user gave it.
        what: what it is, for the message: "CNN_LESSON_OUTPUT", "--output", "the data source".
        error: the package's error class to raise (a SettingsError, DataError, OutputError).
    """
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"{what} must be a path (text or a pathlib.Path), not "
                    f"{type(value).__name__} {value!r:.60}.")
    if "\0" in str(os.fspath(value)):
        raise error(f"{what} {str(value)!r:.80} is not a usable path: it holds a NUL character, "
                    "which no file name can.")
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise error(
            f"{what} {str(value)!r} starts with ~, which Python could not turn into a home "
            "folder (~name means the home folder of the user called name): write the path in "
            "full, or start it with ~/ for your own home folder."
        ) from None


def whole_number(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """`value` as an int, or a SettingsError (also a ValueError) naming the argument: for the
    counts and seeds the package's functions take (`2.5` images, `"10"` steps, `True`)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum \
            or (maximum is not None and value > maximum):
        limits = (f"of at least {minimum:,}" if maximum is None
                  else f"from {minimum:,} to {maximum:,}")
        raise SettingsError(f"{name}={value!r}: use a whole number {limits}.")
    return int(value)


def share(name: str, value, example: float) -> float:
    """`value` as a float from 0 up to (not including) 1, or a SettingsError (also a
    ValueError) naming the argument: for the fractions the package's functions take."""
    import numbers

    # numbers.Real: numpy's float32 too (np.float32(0.1) was refused before)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise SettingsError(f"{name}={value!r}: use a share from 0 up to (not including) 1, "
                            f"such as {example}.")
    return float(value)
