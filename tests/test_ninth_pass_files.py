"""The ninth hostile pass, part B, on files and folders: a cache folder that cannot be read
(finding 4), h5py's report over two lines in a "Could not write" message (8), and the
instructors' `notebooks check|refresh` without nbval, with a broken kernel spec or a notebook
that cannot be written (10e-g), and an output folder that is a symbolic link to nothing (10h).

Permissions are tested in a subprocess run as root without capabilities (`setpriv`), where the
file modes apply as they do to any user; as another user, the subprocess runs as it is.
"""

import errno
import subprocess
import sys
import textwrap

import pytest

import cifar_writer as writer
from cnn_lesson import doctor
from cnn_lesson.data import cache, load_cifar10
from cnn_lesson.errors import OutputError
from cnn_lesson.files import atomic_path, prepare_output_dir
from tests.helpers import needs_file_modes, one_line, run_without_privileges, write_notebook

LONG_NAME = "a" * 300  # longer than a file system allows for one name (255)


@pytest.fixture
def closed_folder(tmp_path):
    """A folder that cannot be entered (mode 000); its mode is restored afterwards."""
    folder = tmp_path / "closed"
    folder.mkdir()
    folder.chmod(0)
    yield folder
    folder.chmod(0o755)


# Finding 4: a cache folder that cannot be read (another user's, or a name too long).

def test_a_cache_entry_whose_name_is_too_long_is_a_miss(tmp_path):
    assert cache.load(tmp_path / LONG_NAME / "arrays" / "x.npz") is None


def test_a_cache_folder_whose_name_is_too_long_only_costs_speed(tmp_path, data):
    source = writer.write_batches_folder(tmp_path / "cifar-10-batches-py", data)
    with pytest.warns(UserWarning, match="Could not write the data cache"):
        (train_images, _), (test_images, _) = load_cifar10(
            source, cache_dir=tmp_path / LONG_NAME / "cache")
    assert len(train_images) == 100 and len(test_images) == 20


@needs_file_modes
def test_a_cache_folder_that_cannot_be_entered_is_a_miss(closed_folder):
    entry = closed_folder / "cache" / "arrays" / "x.npz"
    result = run_without_privileges(
        "-c", "from pathlib import Path; from cnn_lesson.data import cache; "
              f"print(cache.load(Path({str(entry)!r})))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


def test_doctor_names_a_cache_folder_whose_name_is_too_long(tmp_path):
    folder = tmp_path / LONG_NAME / "cache"
    check = doctor.check_data(None, folder)
    assert check.status == doctor.PROBLEM
    assert str(folder) in check.message and "shorter" in check.message
    assert "\n" not in check.line()


@needs_file_modes
def test_doctor_names_a_cache_folder_that_cannot_be_read(closed_folder):
    folder = closed_folder / "cache"
    result = run_without_privileges("-c", textwrap.dedent(f"""
        from cnn_lesson import doctor
        print(doctor.check_data(None, {str(folder)!r}).line())
    """))
    assert result.returncode == 0, result.stderr
    line = one_line(result.stdout)
    assert line.startswith("problem") and str(folder) in line
    assert "Permission denied" in line and "chmod" in line and "CNN_LESSON_CACHE" in line


# Finding 8 (the message): h5py's report holds a newline after its time stamp.

H5PY_FULL_DISK = (
    "Can't close file (file write failed: time = Sun Nov 29 16:13:35 2026\n, filename = "
    "'/tmp/o2/.model.partial-123.h5', file descriptor = 6, errno = 28, error message = 'No "
    "space left on device', buf = 0x55d0c0de, total write size = 4096, bytes this sub-write "
    "= 4096, bytes actually written = 18446744073709551615, offset = 0)")


def test_h5pys_report_of_a_full_disk_is_one_line_with_the_reason(tmp_path):
    with pytest.raises(OutputError) as raised:
        with atomic_path(tmp_path / "model.h5"):
            raise OSError(errno.ENOSPC, H5PY_FULL_DISK)  # as h5py raises it
    message = one_line(str(raised.value))
    assert "Can't close file: No space left on device" in message
    assert "The disk is full" in message and "file descriptor" not in message
    from cnn_lesson.files import reason  # the one line, for messages built elsewhere

    assert reason(OSError(errno.ENOSPC, "No space left on device")) == "No space left on device"


def test_a_real_h5py_write_failure_is_one_line(tmp_path):
    """h5py writing past the file size limit (RLIMIT_FSIZE): its own two-line report."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import resource, signal
        import h5py, numpy as np
        from cnn_lesson.files import atomic_path
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        try:
            with atomic_path({str(tmp_path / "model.h5")!r}) as temporary:
                with h5py.File(temporary, "w") as file:
                    file["weights"] = np.zeros(1_000_000)
        except Exception as error:
            print(type(error).__name__, error)
    """)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    line = one_line(result.stdout)
    assert line.startswith("OutputError Could not write") and "File too large" in line
    assert "file descriptor" not in line
    assert not list(tmp_path.iterdir())  # no model.h5, no partial file left


# Findings 10e-g: the instructors' notebooks commands.

def refresh_settings(tmp_path) -> dict[str, str]:
    """Settings `refresh` accepts: full mode, a local data file, folders in tmp_path."""
    data = tmp_path / "cifar-10-python.tar.gz"
    data.write_bytes(b"not read: the notebooks here never load data")
    return {"CNN_LESSON_QUICK": "0", "CNN_LESSON_DATA": str(data),
            "CNN_LESSON_OUTPUT": str(tmp_path / "out"),
            "CNN_LESSON_CACHE": str(tmp_path / "cache")}


def notebooks_command(*arguments) -> int:
    from cnn_lesson.cli import main

    return main(["notebooks", *map(str, arguments)])


def test_check_without_nbval_says_so_instead_of_stale(tmp_path, monkeypatch, capsys):
    notebook = write_notebook(tmp_path / "ok.ipynb", "print(1)")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:nbval")  # as if nbval were not installed
    assert notebooks_command("check", notebook) == 1
    out, err = capsys.readouterr()
    assert "stale" not in out
    line = one_line(err)
    assert "nbval is missing" in line and "pip install -r requirements-dev.txt" in line


@pytest.mark.parametrize("spec", ["{bad", "[]"], ids=["not JSON", "not a spec"])
def test_refresh_with_a_broken_kernel_spec_is_one_line(tmp_path, monkeypatch, capsys, spec):
    for name, value in refresh_settings(tmp_path).items():
        monkeypatch.setenv(name, value)
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(spec)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = write_notebook(tmp_path / "nbs" / "ok.ipynb", "print(1)")
    before = notebook.read_bytes()
    assert notebooks_command("refresh", notebook) == 1
    line = one_line(capsys.readouterr().err)
    assert f"{kernel / 'kernel.json'} is broken" in line and "ipykernel install" in line
    assert notebook.read_bytes() == before


@needs_file_modes
@pytest.mark.parametrize("read_only", ["folder", "file"])
def test_refresh_refuses_a_notebook_it_cannot_write_before_running_any(tmp_path, read_only):
    ran = tmp_path / "ran"
    first = write_notebook(tmp_path / "writable" / "a_first.ipynb", f"open({str(ran)!r}, 'w')")
    second = write_notebook(tmp_path / "nbs" / "b_second.ipynb", "print(1)")
    before = second.read_bytes()
    settings = {**refresh_settings(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    (second.parent if read_only == "folder" else second).chmod(0o555)
    try:
        result = run_without_privileges("-m", "cnn_lesson", "notebooks", "refresh", str(first),
                                        str(second), env=settings)
    finally:
        second.parent.chmod(0o755)
        second.chmod(0o644)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "Nothing was run" in line and "Permission denied" in line
    assert "chmod u+w" in line and "--output" not in line and "CNN_LESSON_OUTPUT" not in line
    assert not ran.exists()  # the first notebook, which could be written, did not run either
    assert second.read_bytes() == before


# Finding 10h: an output folder that is a symbolic link to nothing, or a loop.

@pytest.mark.parametrize("case", ["to nothing", "loop", "under one"])
def test_an_output_folder_that_is_a_link_to_nothing_is_named(tmp_path, case):
    link = tmp_path / "output"
    if case == "loop":
        (tmp_path / "other").symlink_to(link)
        link.symlink_to(tmp_path / "other")
    else:
        link.symlink_to(tmp_path / "unmounted disk")
    folder = link / "run" if case == "under one" else link
    with pytest.raises(OutputError) as raised:
        prepare_output_dir(folder)
    message = one_line(str(raised.value))
    assert "symbolic link to nothing (a disk not mounted?) or a loop" in message
    assert str(link) in message and "File exists" not in message
    check = doctor.check_output(folder)
    assert check.status == doctor.PROBLEM and "symbolic link to nothing" in check.message


def test_a_working_link_is_still_a_fine_output_folder(tmp_path):
    (tmp_path / "disk").mkdir()
    (tmp_path / "output").symlink_to(tmp_path / "disk")
    assert prepare_output_dir(tmp_path / "output" / "run").is_dir()
    assert doctor.check_output(tmp_path / "output").status != doctor.PROBLEM

