"""`python -m cnn_lesson doctor`: is this computer ready for the course, and if not, why not.

One line per check, each `ok`, `warning` or `problem` with what to do. A learner runs it
before lesson 1 or when something fails, and pastes its output into a bug report. It reads
the machine (versions, CPU flags, GPUs, folders) and never downloads or writes anything.

Each check is a small function that takes what it looks at as arguments (with the real
machine as default), so that tests can hand it any machine.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"

SUPPORTED_PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13))
INSTALL = "pip install -r requirements.txt"
# Only the instructors' `notebooks check` uses these; a learner's install from the wheel has none.
INSTRUCTOR_TOOLS = {"nbval"}

# The versions requirements.txt pins (tests/test_doctor.py checks that they agree with it).
TESTED_VERSIONS = {
    "tensorflow": "2.21.0",
    "keras": "3.15.1",
    "numpy": "2.4.6",
    "matplotlib": "3.11.2",
    "pillow": "13.0.0",
    "h5py": "3.14.0",
    "jupyterlab": "4.6.6",
    "ipykernel": "7.4.0",
    "ipywidgets": "8.1.9",
    "nbformat": "5.11.1",
    "nbclient": "0.11.0",
    "nbval": "0.11.0",
}
# Python 3.10 gets the newest release that still supports it.
TESTED_ON_PYTHON_310 = {
    "keras": "3.12.4",
    "numpy": "2.2.6",
    "matplotlib": "3.10.9",
    "pillow": "12.3.0",
    "ipykernel": "7.3.0",
}
# ipywidgets' major version -> the jupyterlab_widgets major version that draws its widgets.
WIDGETS_FRONTEND = {"7": "1", "8": "3"}
ENOUGH_SPACE = 1_000_000_000  # models, plots and the backup of an interrupted run, with room


@dataclass(frozen=True)
class Check:
    """The result of one check: its status, what it looked at, and what to do.

    Attributes:
        status: "ok", "warning" (works, but not as tested or not as fast) or "problem"
            (something the course needs is missing or broken).
        name: what was checked, e.g. "Python" or "tensorflow".
        message: what was found and, unless all is well, what to do.
    """

    status: str
    name: str
    message: str

    def line(self) -> str:
        """The check as one line of the doctor's report."""
        return f"{self.status:<8} {self.name}: {self.message}"


def installed_version(distribution: str) -> str | None:
    """The installed version of a package (by its pip name), or None when it is missing."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def tested_versions(python: tuple[int, int] | None = None) -> dict[str, str]:
    """The package versions tested together on a Python (those requirements.txt installs).

    Args:
        python: (major, minor); default the running Python.

    Returns:
        pip names to versions.
    """
    python = tuple(python or sys.version_info[:2])
    versions = dict(TESTED_VERSIONS)
    if python < (3, 11):
        versions.update(TESTED_ON_PYTHON_310)
    return versions


def check_python(version: Sequence[int] | None = None) -> Check:
    """Whether the course is tested on this Python (3.10 to 3.13)."""
    version = tuple(version or sys.version_info[:3])
    text = ".".join(str(part) for part in version)
    first, last = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    supported = f"{first[0]}.{first[1]} to {last[0]}.{last[1]}"
    if tuple(version[:2]) in SUPPORTED_PYTHONS:
        return Check(OK, "Python", f"{text} (the course is tested on {supported})")
    if tuple(version[:2]) > last:
        why = "TensorFlow publishes no wheel for it yet"
    else:
        why = "TensorFlow and Keras 3 no longer support it"
    return Check(PROBLEM, "Python", f"{text} is not supported: {why}. Install Python "
                 f"{last[0]}.{last[1]} (any of {supported}), make a virtual environment with "
                 f"it, and run {INSTALL} there.")


def check_packages(
    installed: Callable[[str], str | None] = installed_version,
    python: tuple[int, int] | None = None,
) -> list[Check]:
    """Each package of the learner's install against the version tested on this Python.

    Args:
        installed: gives the installed version of a pip name, or None when missing.
        python: (major, minor); default the running Python.

    Returns:
        One check per package: ok (the tested version), warning (another version: it may
        work, but was not tested) or problem (not installed).
    """
    checks = []
    for name, tested in tested_versions(python).items():
        found = installed(name)
        if found is None and name in INSTRUCTOR_TOOLS:
            checks.append(Check(OK, name, f"not installed, and not needed for the lessons: only "
                                f"the instructors' `notebooks check` uses it ({INSTALL})"))
        elif found is None:
            checks.append(Check(PROBLEM, name, f"not installed: run {INSTALL}"))
        elif found == tested:
            checks.append(Check(OK, name, found))
        else:
            checks.append(Check(WARNING, name, f"{found} installed, the course is tested with "
                                f"{tested}: {INSTALL} installs it"))
    return checks


def cpu_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> set[str] | None:
    """The CPU's feature flags from Linux's /proc/cpuinfo, or None where it cannot be read."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return flags


def check_cpu(flags: set[str] | None) -> Check:
    """Which of the instructions that make training faster the CPU has (AVX2, AVX-512, bfloat16).

    Args:
        flags: from `cpu_flags`; None when unknown (not Linux).
    """
    if flags is None:
        return Check(OK, "CPU", "features unknown (no /proc/cpuinfo on this system); "
                     "TensorFlow's wheels need AVX, which every x86-64 CPU since 2011 has")
    names = {"AVX2": {"avx2"}, "AVX-512": {"avx512f"}, "bfloat16": {"avx512_bf16", "amx_bf16"}}
    has = [name for name, wanted in names.items() if wanted & flags]
    lacks = [name for name in names if name not in has]
    found = f"has {', '.join(has) or 'none of AVX2, AVX-512, bfloat16'}"
    if lacks:
        found += f"; lacks {', '.join(lacks)}"
    if flags and not {"avx", "asimd"} & flags:
        return Check(PROBLEM, "CPU", f"{found}, and no AVX: TensorFlow's wheels need it. "
                     "Use another computer (or a hosted notebook service).")
    if "bfloat16" not in has:
        return Check(OK, "CPU", f"{found}: training computes in float32 (lesson 3 takes about "
                     "4-8 minutes on 2 cores)")
    return Check(OK, "CPU", f"{found}: training can use bfloat16 mixed precision")


def check_precision(pick: Callable[[], str] | None = None) -> Check:
    """Which precision `--precision auto` (and lessons 3 and 5) will use here.

    Args:
        pick: returns the precision; default `cnn_lesson.precision.fast_precision`.
    """
    try:
        if pick is None:
            from cnn_lesson.precision import fast_precision as pick
        chosen = pick()
    except Exception as error:  # TensorFlow missing or broken: reported by its own check
        return Check(PROBLEM, "precision", f"cannot tell ({type(error).__name__}: {error}); "
                     f"run {INSTALL}")
    return Check(OK, "precision", f"`auto` picks {chosen}")


def check_gpus(list_gpus: Callable[[], Sequence[object]] | None = None) -> Check:
    """The GPUs TensorFlow sees (none is fine: the course is made for CPUs).

    Args:
        list_gpus: returns TensorFlow's GPU devices; default
            `tf.config.list_physical_devices("GPU")`.
    """
    try:
        if list_gpus is None:
            import tensorflow as tf

            def list_gpus():
                return tf.config.list_physical_devices("GPU")
        gpus = list(list_gpus())
    except Exception as error:
        return Check(PROBLEM, "GPU", f"TensorFlow does not load ({type(error).__name__}: "
                     f"{error}); run {INSTALL}")
    if not gpus:
        return Check(OK, "GPU", "none seen by TensorFlow: the lessons train on the CPU, as "
                     "they are made to")
    names = ", ".join(getattr(gpu, "name", str(gpu)) for gpu in gpus)
    return Check(OK, "GPU", f"{len(gpus)} seen by TensorFlow ({names})")


def check_data(source: str | None, cache_dir: str | os.PathLike) -> Check:
    """Where the lessons' data will come from, and whether it is there. Downloads nothing.

    Args:
        source: `CNN_LESSON_DATA` (None: the official download).
        cache_dir: the course's cache folder (where the download is kept).
    """
    from cnn_lesson.data.archive import ARCHIVE_NAME
    from cnn_lesson.data.download import CIFAR10_URL, DOWNLOADS
    from cnn_lesson.config import user_path
    from cnn_lesson.data.sources import _kind, is_synthetic
    from cnn_lesson.errors import DataError

    if source is None:
        archive = Path(cache_dir) / DOWNLOADS / ARCHIVE_NAME
        try:
            downloaded = archive.is_file()
        except OSError as error:  # a folder on the way that cannot be entered, a long name
            return _cache_problem(Path(cache_dir), error)
        if downloaded:
            return _archive_size_check(archive, f"the official download, already in {archive}")
        return Check(OK, "data", f"the official download, still to do: lesson 1 fetches "
                     f"about 170 MB from {CIFAR10_URL} into {archive.parent}. Offline? Set "
                     "CNN_LESSON_DATA to a copy of CIFAR-10 (see the README)")
    if is_synthetic(source):
        return Check(WARNING, "data", "CNN_LESSON_DATA=synthetic: the generated stand-in, not "
                     "CIFAR-10. Unset CNN_LESSON_DATA or point it at real data")
    try:
        kind, where = _kind(user_path(source, "CNN_LESSON_DATA", DataError))
    except DataError as error:
        first = str(error).splitlines()[0]
        return Check(PROBLEM, "data", f"CNN_LESSON_DATA={source}: {first}")
    names = {"archive": "an archive", "batches": "a batches folder",
             "folders": "an image-folder tree"}
    text = f"CNN_LESSON_DATA={source}: {names[kind]} at {where}"
    return _archive_size_check(Path(where), text) if kind == "archive" else Check(OK, "data", text)


def _cache_problem(cache_dir: Path, error: OSError) -> Check:
    """A problem line for a cache folder that cannot be read, where the download is kept."""
    import errno

    from cnn_lesson.files import reason

    todo = ("set CNN_LESSON_CACHE to a shorter path"
            if error.errno == errno.ENAMETOOLONG else
            "make it readable (e.g. `chmod -R u+rwX` on it), or set CNN_LESSON_CACHE to a "
            "folder of your own")
    return Check(PROBLEM, "data", f"the official download, but the cache folder {cache_dir}, "
                 f"where it is kept, cannot be read ({reason(error)}): {todo}")


def _archive_size_check(archive: Path, text: str) -> Check:
    """ok for an archive of the official size; a warning for another size (a download cut
    short, or another file): loading checks its checksum and says what to do."""
    from cnn_lesson.data.archive import OFFICIAL_SIZE

    try:
        size = archive.stat().st_size
    except OSError:
        return Check(PROBLEM, "data", f"{text}, but it cannot be read")
    if size == OFFICIAL_SIZE:
        return Check(OK, "data", text)
    return Check(WARNING, "data", f"{text}, but it is {size:,} bytes where the official "
                 f"archive has {OFFICIAL_SIZE:,}: a download cut short, or another file. "
                 "Loading it checks its checksum and says what to do")


def _existing_parent(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def check_output(folder: str | os.PathLike,
                 disk_usage: Callable[[Path], object] = shutil.disk_usage) -> Check:
    """Whether the output folder can be written, and the free space on its disk.

    Args:
        folder: the output folder (it may not exist yet: its nearest parent is checked).
        disk_usage: `shutil.disk_usage` or a stand-in with a `.free` attribute.
    """
    from cnn_lesson.files import MIN_FREE_BYTES, broken_link

    try:
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            return Check(PROBLEM, "output", f"{folder} is a file, not a folder: set "
                         "CNN_LESSON_OUTPUT (or --output) to a folder")
        link = broken_link(folder)
        if link is not None:
            return Check(PROBLEM, "output", f"{folder} {'is' if link == folder else 'lies under'}"
                         " a symbolic link to nothing (a disk not mounted?) or a loop: "
                         f"{link}. Mount that disk, or fix or remove the link, or set "
                         "CNN_LESSON_OUTPUT (or --output) to another folder")
        where = _existing_parent(folder)
    except (OSError, RuntimeError) as error:  # a name too long; ~nosuchuser
        return Check(PROBLEM, "output", f"{folder} cannot be used ({error}): set "
                     "CNN_LESSON_OUTPUT (or --output) to a folder you can write to")
    if not where.is_dir():
        return Check(PROBLEM, "output", f"{folder} lies under {where}, which is a file: set "
                     "CNN_LESSON_OUTPUT (or --output) to a folder")
    if not os.access(where, os.W_OK):
        return Check(PROBLEM, "output", f"cannot write to {where}: set CNN_LESSON_OUTPUT "
                     "(or --output) to a folder you can write to")
    free = disk_usage(where).free
    size = f"{free / 1e9:.1f} GB" if free >= ENOUGH_SPACE else f"{free / 2**20:.0f} MB"
    text = f"{folder}, {size} free"
    if free < MIN_FREE_BYTES:
        return Check(PROBLEM, "output", f"{text}; the lessons need at least "
                     f"{MIN_FREE_BYTES / 2**20:.0f} MB: free some space or choose another "
                     "folder with CNN_LESSON_OUTPUT")
    if free < ENOUGH_SPACE:
        return Check(WARNING, "output", f"{text}; models, plots and the download need about "
                     "1 GB: free some space or choose another folder with CNN_LESSON_OUTPUT")
    return Check(OK, "output", text)


def check_widgets(installed: Callable[[str], str | None] = installed_version) -> Check:
    """Whether JupyterLab will draw the lessons' widgets (ipywidgets matches jupyterlab_widgets).

    Args:
        installed: gives the installed version of a pip name, or None when missing.
    """
    widgets, frontend = installed("ipywidgets"), installed("jupyterlab_widgets")
    if widgets is None or frontend is None:
        missing = "ipywidgets" if widgets is None else "jupyterlab_widgets"
        return Check(PROBLEM, "widgets", f"{missing} is not installed: the explorers show as "
                     f"text. Run {INSTALL}, then restart JupyterLab")
    needed = WIDGETS_FRONTEND.get(widgets.split(".")[0])
    if needed is None or frontend.split(".")[0] != needed:
        wanted = f"jupyterlab_widgets {needed}.x" if needed else "a matching jupyterlab_widgets"
        return Check(PROBLEM, "widgets", f"ipywidgets {widgets} needs {wanted}, found "
                     f"{frontend}: the explorers show as text. Run {INSTALL}, then restart "
                     "JupyterLab")
    return Check(OK, "widgets", f"ipywidgets {widgets} with jupyterlab_widgets {frontend}: "
                 "JupyterLab draws them")


def run_checks() -> list[Check]:
    """Every check on this computer, in the order the report prints them."""
    from cnn_lesson import config
    from cnn_lesson.data.cache import default_cache_dir

    try:
        settings = config.settings()
        data_source, output_dir = settings.data_source, settings.output_dir
        setting_checks = []
    except ValueError as error:  # a CNN_LESSON_* variable that means nothing
        setting_checks = [Check(PROBLEM, "settings", str(error))]
        data_source = os.environ.get("CNN_LESSON_DATA", "").strip() or None
        output = os.environ.get("CNN_LESSON_OUTPUT", "").strip()  # the one that was set
        try:
            output_dir = config.user_path(output, "CNN_LESSON_OUTPUT") if output \
                else config.default_output()
        except ValueError:  # itself the variable that means nothing: reported above
            output_dir = None
    try:
        cache_dir = default_cache_dir()
    except ValueError as error:  # CNN_LESSON_CACHE=~nosuchuser (a SettingsError)
        setting_checks.append(Check(PROBLEM, "settings", str(error)))
        cache_dir = Path(os.devnull)  # the download's place is unknown: reported as missing
    checks = [check_python(), *check_packages(), check_widgets(), check_cpu(cpu_flags()),
              check_precision(), check_gpus(), *setting_checks,
              check_data(data_source, cache_dir)]
    if output_dir is not None:
        checks.append(check_output(output_dir))
    return checks


def report(checks: Sequence[Check]) -> tuple[str, int]:
    """The report's text and the exit status: 1 when any check found a problem, else 0."""
    lines = [check.line() for check in checks]
    problems = sum(check.status == PROBLEM for check in checks)
    warnings = sum(check.status == WARNING for check in checks)
    lines.append(f"{problems} problem(s), {warnings} warning(s). Paste this report into a bug "
                 "report.")
    return "\n".join(lines), int(problems > 0)


def main() -> int:
    """Entry point of `python -m cnn_lesson doctor`: print the report, return the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up lines are noise here
    text, status = report(run_checks())
    print(text)
    return status
