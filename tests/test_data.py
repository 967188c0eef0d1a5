"""Tests of `cnn_lesson.data`: every source form, the cache, the download, every bad input.

All offline: small copies of CIFAR-10 in its genuine formats come from `cifar_writer`,
and the download runs against a loopback HTTP server.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pickle
import socket
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cifar_writer as writer
from tests.helpers import refused
from cnn_lesson.data import (
    CLASS_NAMES,
    SyntheticDataWarning,
    UnofficialDataWarning,
    is_synthetic,
    load_cifar10,
    source_label,
    synthetic_cifar10,
)
from cnn_lesson.data import archive, download, folders
from cnn_lesson.data.safe_pickle import read_batch
from cnn_lesson.errors import DataError


# --- helpers ------------------------------------------------------------------------------

def assert_same(loaded, expected):
    (train_images, train_labels), (test_images, test_labels) = loaded
    (want_train_images, want_train_labels), (want_test_images, want_test_labels) = expected
    for got, want in ((train_images, want_train_images), (train_labels, want_train_labels),
                      (test_images, want_test_images), (test_labels, want_test_labels)):
        assert got.dtype == np.uint8
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def md5(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# --- the writer is genuine --------------------------------------------------------------

def test_writer_makes_python2_pickles_the_standard_recipe_reads(data):
    payload = writer.batch_files(data)["data_batch_1"]
    assert b"numpy.core.multiarray\n_reconstruct" in payload and b"_codecs" not in payload
    batch = pickle.loads(payload, encoding="bytes")  # how CIFAR-10's page says to read it
    assert batch[b"data"].shape == (20, 3072) and batch[b"data"].dtype == np.uint8
    assert batch[b"batch_label"] == b"training batch 1 of 5"
    images, labels = read_batch(payload, "data_batch_1")
    np.testing.assert_array_equal(images, data[0][0][:20])
    np.testing.assert_array_equal(labels, data[0][1][:20])


# --- every source form, value by value ---------------------------------------------------

def test_batches_folder(tmp_path, data, cache_dir):
    folder = writer.write_batches_folder(tmp_path, data)
    assert_same(load_cifar10(folder, cache_dir=cache_dir), data)
    assert_same(load_cifar10(tmp_path, cache_dir=cache_dir), data)  # the folder above it
    assert source_label(folder) == "CIFAR-10 (batches folder)"  # a kind, never a path


def test_archive_that_matches_the_official_checksum(tmp_path, data, cache_dir, monkeypatch):
    path = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data)
    monkeypatch.setattr(archive, "OFFICIAL_MD5", md5(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(load_cifar10(path, cache_dir=cache_dir), data)
    assert source_label(path) == "CIFAR-10 (archive)"


def test_self_made_archive_is_refused_unless_allowed(tmp_path, data, cache_dir):
    path = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data)
    message = refused(path, "does not match the official CIFAR-10 checksum", cache_dir=cache_dir)
    assert "allow_unofficial_archive=True" in message and "incomplete" in message
    with pytest.warns(UnofficialDataWarning, match="not the official CIFAR-10 archive"):
        assert_same(load_cifar10(path, cache_dir=cache_dir, allow_unofficial_archive=True), data)
    # The cached arrays of an unofficial archive do not bypass the check.
    refused(path, "does not match the official CIFAR-10 checksum", cache_dir=cache_dir)
    with pytest.warns(UnofficialDataWarning):
        load_cifar10(path, cache_dir=cache_dir, allow_unofficial_archive=True)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_image_folders(tmp_path, data, cache_dir, image_format):
    expected = writer.write_image_folders(tmp_path / "cifar", data, image_format)
    loaded = load_cifar10(tmp_path / "cifar", cache_dir=cache_dir)
    assert_same(loaded, (expected["train"], expected["test"]))
    if image_format == "PNG":  # lossless: exactly the arrays written, regrouped
        (train_images, train_labels), _ = loaded
        for label in range(10):
            np.testing.assert_array_equal(
                train_images[train_labels.ravel() == label],
                data[0][0][data[0][1].ravel() == label],
            )
    # Classes are interleaved, so any slice from the start is balanced.
    assert list(loaded[0][1][:10].ravel()) == list(range(10))
    assert source_label(tmp_path / "cifar") == "CIFAR-10 (image folders)"
    assert source_label(tmp_path / "nothing here") == "CIFAR-10 (local copy)"


def test_source_none_reads_cnn_lesson_data(tmp_path, data, cache_dir, monkeypatch):
    folder = writer.write_batches_folder(tmp_path, data)
    monkeypatch.setenv("CNN_LESSON_DATA", str(folder))
    assert_same(load_cifar10(cache_dir=cache_dir), data)
    monkeypatch.setenv("CNN_LESSON_DATA", " synthetic ")
    assert is_synthetic() and is_synthetic(None)
    monkeypatch.delenv("CNN_LESSON_DATA")
    assert not is_synthetic() and source_label() == "CIFAR-10 (official download)"


# --- the synthetic set -------------------------------------------------------------------

def test_synthetic_set_is_balanced_deterministic_and_always_labelled():
    with pytest.warns(SyntheticDataWarning):
        (train_images, train_labels), (test_images, test_labels) = synthetic_cifar10(
            seed=3, train_per_class=30, test_per_class=7
        )
    assert train_images.shape == (300, 32, 32, 3) and test_images.shape == (70, 32, 32, 3)
    assert train_images.dtype == train_labels.dtype == np.uint8 and test_labels.shape == (70, 1)
    assert np.bincount(train_labels.ravel()).tolist() == [30] * 10
    with pytest.warns(SyntheticDataWarning):
        again = synthetic_cifar10(seed=3, train_per_class=30, test_per_class=7)
    np.testing.assert_array_equal(again[0][0], train_images)
    with pytest.warns(SyntheticDataWarning):
        other = synthetic_cifar10(seed=4, train_per_class=30, test_per_class=7)
    assert not np.array_equal(other[0][0], train_images)
    assert is_synthetic("synthetic") and is_synthetic("SYNTHETIC")
    assert not is_synthetic(Path("synthetic")) and not is_synthetic("/data/cifar")
    assert "SYNTHETIC" in source_label("synthetic") and "not real" in source_label("synthetic")


def test_loading_synthetic_has_the_official_shapes_and_warns_every_time():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's once-per-line default must not hide it
        for _ in range(2):
            (train_images, train_labels), (test_images, test_labels) = load_cifar10("synthetic")
    assert len([w for w in caught if issubclass(w.category, SyntheticDataWarning)]) == 2
    assert train_images.shape == (50000, 32, 32, 3) and test_images.shape == (10000, 32, 32, 3)
    assert train_labels.shape == (50000, 1) and test_labels.dtype == np.uint8
    assert np.bincount(train_labels.ravel()).tolist() == [5000] * 10
    assert np.bincount(test_labels.ravel()).tolist() == [1000] * 10


# --- the cache ---------------------------------------------------------------------------

def test_second_load_comes_from_the_cache(tmp_path, data, cache_dir, monkeypatch):
    expected = writer.write_image_folders(tmp_path / "cifar", data, "PNG")
    load_cifar10(tmp_path / "cifar", cache_dir=cache_dir)
    entries = list((cache_dir / "arrays").glob("*.npz"))
    assert len(entries) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(folders, "read_image_folders", no_decoding)
    assert_same(load_cifar10(tmp_path / "cifar", cache_dir=cache_dir),
                (expected["train"], expected["test"]))
    monkeypatch.undo()

    # An edited source is decoded again, and its old entry is dropped.
    first = tmp_path / "cifar" / "train" / "cat" / "0000.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(first)
    os.utime(first, ns=(1, 1))
    (train_images, _), _ = load_cifar10(tmp_path / "cifar", cache_dir=cache_dir)
    assert not train_images[3].any()  # cat is class 3: the fourth image
    assert len(list((cache_dir / "arrays").glob("*.npz"))) == 1


def test_cache_dir_defaults_to_cnn_lesson_cache(tmp_path, data, monkeypatch):
    folder = writer.write_batches_folder(tmp_path / "data", data)
    monkeypatch.setenv("CNN_LESSON_CACHE", str(tmp_path / "elsewhere"))
    load_cifar10(folder)
    assert len(list((tmp_path / "elsewhere" / "arrays").glob("*.npz"))) == 1


def test_a_damaged_cache_entry_is_ignored_and_rebuilt(tmp_path, data, cache_dir):
    folder = writer.write_batches_folder(tmp_path / "data", data)
    load_cifar10(folder, cache_dir=cache_dir)
    (entry,) = (cache_dir / "arrays").glob("*.npz")
    for damage in (b"not a zip file", entry.read_bytes()[:1000]):
        entry.write_bytes(damage)
        assert_same(load_cifar10(folder, cache_dir=cache_dir), data)
        with np.load(entry) as rebuilt:
            assert rebuilt["train_images"].shape == (100, 32, 32, 3)


def test_a_well_formed_cache_entry_with_other_arrays_is_rebuilt(tmp_path, data, cache_dir):
    """A valid .npz with fewer (or no) images than were stored is not taken for the data."""
    folder = writer.write_batches_folder(tmp_path / "data", data)
    load_cifar10(folder, cache_dir=cache_dir)
    (entry,) = (cache_dir / "arrays").glob("*.npz")
    with np.load(entry) as stored:
        metadata = str(stored["metadata"])
    for count in (0, 10):
        np.savez(entry.with_suffix(""),  # np.savez adds the .npz
                 **{f"{split}_{kind}": stored_array[:count]
                    for split, arrays in (("train", data[0]), ("test", data[1]))
                    for kind, stored_array in zip(("images", "labels"), arrays)},
                 metadata=np.array(metadata))
        assert_same(load_cifar10(folder, cache_dir=cache_dir), data)


def test_a_cache_that_cannot_be_written_only_warns(tmp_path, data):
    folder = writer.write_batches_folder(tmp_path / "data", data)
    blocked = tmp_path / "a_file"
    blocked.write_text("in the way")
    with pytest.warns(UserWarning, match="Could not write the data cache"):
        assert_same(load_cifar10(folder, cache_dir=blocked / "cache"), data)


# --- the download, for real, against a loopback server ----------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve `tmp_path/served/` on 127.0.0.1; yields (base URL, folder, stop)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    stopped = []

    def stop():
        if not stopped:
            httpd.shutdown()
            httpd.server_close()
            thread.join()
            stopped.append(True)

    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, stop
    stop()


def test_download_through_keras_then_from_its_cache(server, data, cache_dir, monkeypatch):
    base, served, stop = server
    path = writer.write_archive(served / "cifar-10-python.tar.gz", data)
    monkeypatch.delenv("CNN_LESSON_DATA", raising=False)
    monkeypatch.setattr(archive, "OFFICIAL_MD5", md5(path))
    monkeypatch.setattr(download, "OFFICIAL_MD5", md5(path))
    url = f"{base}/cifar-10-python.tar.gz"
    assert_same(load_cifar10(cache_dir=cache_dir, url=url), data)
    assert (cache_dir / "downloads" / "cifar-10-python.tar.gz").read_bytes() == path.read_bytes()
    stop()
    assert_same(load_cifar10(cache_dir=cache_dir, url=url), data)


def test_download_of_a_self_made_archive_needs_the_opt_in(server, data, cache_dir, monkeypatch):
    base, served, stop = server
    monkeypatch.delenv("CNN_LESSON_DATA", raising=False)  # the root conftest sets it
    writer.write_archive(served / "cifar-10-python.tar.gz", data)
    url = f"{base}/cifar-10-python.tar.gz"
    with pytest.raises(DataError, match="Could not download CIFAR-10") as caught:
        load_cifar10(None, cache_dir=cache_dir, url=url)
    assert "hash" in str(caught.value)
    with pytest.warns(UnofficialDataWarning):
        assert_same(load_cifar10("", cache_dir=cache_dir, url=url,
                                 allow_unofficial_archive=True), data)
    stop()
    with pytest.warns(UnofficialDataWarning):
        assert_same(load_cifar10("", cache_dir=cache_dir, url=url,
                                 allow_unofficial_archive=True), data)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("where", ["offline", "http 404"])
def test_download_failure_says_what_to_do(server, cache_dir, where):
    base, _, _ = server
    url = (f"http://127.0.0.1:{_closed_port()}/cifar-10-python.tar.gz" if where == "offline"
           else f"{base}/missing.tar.gz")
    with pytest.raises(DataError) as caught:
        load_cifar10("", cache_dir=cache_dir, url=url)
    message = str(caught.value)
    for needed in (url, "CNN_LESSON_DATA", "cifar-10-python.tar.gz", "cifar-10-batches-py/",
                   "train/<class>/", "HTTPS_PROXY"):
        assert needed in message
    if where == "http 404":
        assert "404" in message


def test_a_server_that_stops_answering_is_a_failed_download_not_a_hang(cache_dir, monkeypatch):
    """The fifth hostile pass: a proxy that accepted the connection and never answered made
    the download wait forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never reads or answers
    monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT_S", 2)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/cifar-10-python.tar.gz"
    try:
        with pytest.raises(DataError, match="no answer for 2 s"):
            load_cifar10("", cache_dir=cache_dir, url=url)
    finally:
        listener.close()
    assert socket.getdefaulttimeout() is None  # restored


# --- bad input: a clear DataError, and the user's files untouched ------------------------

def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="There is no file or folder at") as caught:
        load_cifar10(tmp_path / "nowhere")
    assert "CNN_LESSON_DATA" in str(caught.value) and "cifar-10-python.tar.gz" in str(caught.value)


def test_folder_that_is_no_form_of_cifar10(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    refused(tmp_path, "is not CIFAR-10 in a form the course reads")


def test_truncated_archive(tmp_path, data, cache_dir):
    path = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refused(path, "does not match the official CIFAR-10 checksum", cache_dir=cache_dir)
    message = refused(path, "is truncated or corrupt", cache_dir=cache_dir,
                      allow_unofficial_archive=True)
    assert "Download it again" in message


def test_a_file_that_is_not_an_archive(tmp_path, cache_dir):
    path = tmp_path / "cifar.tar.gz"
    path.write_bytes(b"<html>404 Not Found</html>")
    refused(path, "is truncated or corrupt", cache_dir=cache_dir, allow_unofficial_archive=True)


def test_archive_without_a_batch(tmp_path, data, cache_dir):
    files = writer.batch_files(data)
    del files["data_batch_4"]
    path = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data, files)
    refused(path, "has no cifar-10-batches-py/data_batch_4", cache_dir=cache_dir,
            allow_unofficial_archive=True)


def test_batches_folder_without_a_batch(tmp_path, data, cache_dir):
    folder = writer.write_batches_folder(tmp_path, data)
    (folder / "test_batch").unlink()
    refused(folder, "has no test_batch", cache_dir=cache_dir)


def test_damaged_batch_file(tmp_path, data, cache_dir):
    folder = writer.write_batches_folder(tmp_path, data)
    payload = (folder / "data_batch_2").read_bytes()
    (folder / "data_batch_2").write_bytes(payload[: len(payload) // 2])
    refused(folder, "data_batch_2 is damaged or not a CIFAR-10 batch", cache_dir=cache_dir)


class _WritesAFile:
    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


@pytest.mark.parametrize("how", ["builtins.open", "os.system", "numpy.load"])
@pytest.mark.parametrize("container", ["folder", "archive"])
def test_a_booby_trapped_pickle_never_runs(tmp_path, data, cache_dir, how, container):
    victim = tmp_path / "created_by_the_pickle"
    call, args = {
        "builtins.open": (open, (str(victim), "w")),
        "os.system": (os.system, (f"touch {victim}",)),
        "numpy.load": (np.save, (str(victim), np.zeros(1))),
    }[how]
    trap = pickle.dumps({b"data": _WritesAFile(call, args), b"labels": []}, protocol=2)
    files = writer.batch_files(data)
    files["data_batch_3"] = trap
    if container == "folder":
        source = tmp_path / "cifar-10-batches-py"
        source.mkdir()
        for name, payload in files.items():
            (source / name).write_bytes(payload)
    else:
        source = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data, files)
    message = refused(source, "is not a safe CIFAR-10 batch", cache_dir=cache_dir,
                      allow_unofficial_archive=True)
    assert "references `" in message and "nothing in it ran" in message
    assert not victim.exists() and not victim.with_suffix(".npy").exists()


def test_a_pickle_asking_for_object_arrays_is_refused(tmp_path, data, cache_dir):
    folder = writer.write_batches_folder(tmp_path, data)
    trap = writer.py2_pickle({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0]})
    (folder / "data_batch_1").write_bytes(trap.replace(b"U\x02u1", b"U\x02O8"))
    refused(folder, "CIFAR-10 holds only uint8", cache_dir=cache_dir)


def test_missing_class_folder(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data)
    for file in (tmp_path / "test" / "frog").iterdir():
        file.unlink()
    (tmp_path / "test" / "frog").rmdir()
    message = refused(tmp_path, "missing class folders: frog", cache_dir=cache_dir)
    assert "airplane, automobile" in message


def test_extra_class_folder(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data)
    (tmp_path / "train" / "Cats").mkdir()
    refused(tmp_path, "unexpected entries: Cats", cache_dir=cache_dir)


def test_missing_split(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data)
    (tmp_path / "test").rename(tmp_path / "testing")
    refused(tmp_path, "has no `test/` folder", cache_dir=cache_dir)


def test_a_file_that_is_not_an_image_in_a_class_folder(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data)
    (tmp_path / "train" / "dog" / "notes.txt").write_text("hello")
    (tmp_path / "train" / "dog" / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    refused(tmp_path, "notes.txt is not a PNG or JPEG image", cache_dir=cache_dir)


@pytest.mark.parametrize(
    "size, mode, expected",
    [((64, 64), "RGB", "is 64x64 RGB"), ((32, 32), "RGBA", "is 32x32 RGBA"),
     ((32, 32), "L", "is 32x32 L")],
)
def test_image_of_the_wrong_size_or_mode(tmp_path, data, cache_dir, size, mode, expected):
    writer.write_image_folders(tmp_path, data)
    Image.new(mode, size).save(tmp_path / "test" / "ship" / "0000.png")
    message = refused(tmp_path, expected, cache_dir=cache_dir)
    assert "must be 32x32 RGB" in message and "0000.png" in message


def test_unreadable_image(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data, "JPEG")
    broken = tmp_path / "train" / "horse" / "0001.jpg"
    broken.write_bytes(broken.read_bytes()[:200])
    refused(tmp_path, "0001.jpg cannot be read as an image", cache_dir=cache_dir)


def test_a_gif_is_not_read(tmp_path, data, cache_dir):
    writer.write_image_folders(tmp_path, data)
    Image.new("RGB", (32, 32)).save(tmp_path / "train" / "deer" / "0000.png", format="GIF")
    refused(tmp_path, "is a GIF image; only PNG and JPEG", cache_dir=cache_dir)


# --- the real data, when CI provides it ----------------------------------------------------

@pytest.mark.realdata
def test_real_cifar10(tmp_path, monkeypatch):
    source = os.environ.get("CNN_LESSON_DATA", "").strip()
    if not source or source.lower() == "synthetic":
        pytest.skip("CNN_LESSON_DATA does not point at the real CIFAR-10")
    first = load_cifar10(source, cache_dir=tmp_path)

    # The second load must come from the cache, not decode the images again (which takes
    # about 8 s; a wall-clock bound here was flaky on a busy machine).
    def no_decoding(*args, **kwargs):
        raise AssertionError("the second load decoded the source instead of using the cache")

    for module, name in ((folders, "read_image_folders"), (archive, "read_archive"),
                         (archive, "read_batches_folder")):
        monkeypatch.setattr(module, name, no_decoding)
    (train_images, train_labels), (test_images, test_labels) = load_cifar10(
        source, cache_dir=tmp_path
    )
    np.testing.assert_array_equal(train_images, first[0][0])
    np.testing.assert_array_equal(test_labels, first[1][1])
    assert train_images.shape == (50000, 32, 32, 3) and test_images.shape == (10000, 32, 32, 3)
    assert train_labels.shape == (50000, 1) and test_labels.shape == (10000, 1)
    for array in (train_images, train_labels, test_images, test_labels):
        assert array.dtype == np.uint8
    assert np.bincount(train_labels.ravel(), minlength=10).tolist() == [5000] * 10
    assert np.bincount(test_labels.ravel(), minlength=10).tolist() == [1000] * 10
    assert len(CLASS_NAMES) == 10


@pytest.mark.parametrize("how", ["-c", "stdin", "-m"])
def test_the_synthetic_warning_works_from_python_c_stdin_and_modules(how, tmp_path):
    """`python -c`, a piped script and `python -m` load the synthetic set with its warning.

    Their `__main__` has no source a loader can give; warnings must not ask for it (an
    ImportError crashed every load that warns, even under `-W ignore`).
    """
    import subprocess
    import sys

    code = "import cnn_lesson as L; print(L.load_cifar10('synthetic')[0][0].shape)"
    env = {**os.environ, "CNN_LESSON_CACHE": str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    if how == "-c":
        command, stdin = [sys.executable, "-c", code], None
    elif how == "stdin":
        command, stdin = [sys.executable, "-"], code
    else:
        (tmp_path / "load_it.py").write_text(code)
        command, stdin = [sys.executable, "-m", "load_it"], None
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(50000, 32, 32, 3)" in result.stdout
    assert "SyntheticDataWarning" in result.stderr


def test_the_synthetic_warning_points_at_the_learners_line():
    """Not at the package's frames, `@checked`'s wrapper included: in a notebook the warning
    names the cell that asked for the synthetic set."""
    import cnn_lesson as lesson

    with pytest.warns(lesson.SyntheticDataWarning) as caught:
        lesson.synthetic_cifar10(1, 1)
    assert [warning.filename for warning in caught] == [__file__]
