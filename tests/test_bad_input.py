"""Every input a learner controls, in its bad forms: each ends in the package's error class.

Files, folders and archive members (`load_cifar10`), images (`predict_image_file`), saved
models (`load_trained_model`), environment variables (`settings`) and the command line: each
bad form raises `DataError`, `ModelFileError` or `SettingsError` with what was wrong and what
to do (on the command line one `error:` line and exit status 1, never a traceback), quickly
and in little memory, and the learner's files are left as they were.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cifar_writer as writer
from cnn_lesson.data.safe_pickle import read_batch
from cnn_lesson.errors import DataError
from tests.helpers import refused

ROOT = Path(__file__).resolve().parent.parent
BOMB_ROWS = 100_000  # per batch file: 307 MB each once copied, 1.8 GB for the six
GENUINE_BATCH_IMAGES = 10_000  # images in each batch of the official CIFAR-10


@pytest.fixture
def data():
    return writer.make_data(per_class_per_batch=2, seed=0)


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def batches_folder(folder: Path, data, **replaced: bytes) -> Path:
    """A `cifar-10-batches-py/` folder of `data` with some files replaced."""
    files = {**writer.batch_files(data), **replaced}
    folder.mkdir(parents=True)
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return folder


def python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python with this worktree first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


# --- pickled batches: only what genuine batches hold, in bounded sizes ------------------

LOAD_AND_MEASURE = """
    import json, resource, sys, time, warnings
    from cnn_lesson.data import load_cifar10
    from cnn_lesson.errors import DataError

    warnings.simplefilter("ignore")
    results = []
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # peak after the imports
    for source in sys.argv[2:]:
        started = time.monotonic()
        try:
            load_cifar10(source, cache_dir=sys.argv[1], allow_unofficial_archive=True)
            message = None
        except DataError as error:
            message = str(error)
        results.append({
            "source": source, "message": message,
            "seconds": time.monotonic() - started,
            "grew_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
        })
    print(json.dumps(results))
"""


def test_bombs_are_refused_quickly_in_little_memory(tmp_path, data):
    """Small files that would unpack to gigabytes are refused before anything is built.

    Six pickled batches of 139 bytes each asked numpy for 100,000 images over a 1-byte
    buffer (3.8 GB, and a 1.8 GB cache file); a batch file, or an archive entry that gzip
    unpacks, far larger than a CIFAR-10 batch, was read whole.
    """
    bomb = writer.zero_stride_bomb(BOMB_ROWS)
    assert len(bomb) < 150
    bombs = dict.fromkeys(writer.BATCH_NAMES, bomb)
    pickled_folder = batches_folder(tmp_path / "pickled" / "cifar-10-batches-py", data, **bombs)
    pickled_archive = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data,
                                           {**writer.batch_files(data), **bombs})
    huge_file = batches_folder(tmp_path / "huge" / "cifar-10-batches-py", data)
    with open(huge_file / "data_batch_1", "r+b") as file:
        file.truncate(256 << 20)  # sparse: 256 MB that take no disk space
    gzip_bomb = tmp_path / "gzip-bomb.tar.gz"
    with tarfile.open(gzip_bomb, "w:gz", compresslevel=1) as archive, \
            open("/dev/zero", "rb") as zeros:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = 256 << 20  # 256 MB of zeros: about 1 MB of gzip
        archive.addfile(info, zeros)
    assert gzip_bomb.stat().st_size < 2 << 20
    sources = [pickled_folder, pickled_archive, huge_file, gzip_bomb]

    result = python(LOAD_AND_MEASURE, str(tmp_path / "cache"), *map(str, sources))
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads(result.stdout.splitlines()[-1])
    expected = ["is not a safe CIFAR-10 batch", "is not a safe CIFAR-10 batch",
                "a CIFAR-10 batch is about 31 MB", "larger than any file of CIFAR-10"]
    for outcome, wanted in zip(outcomes, expected):
        assert outcome["message"] is not None, f"{outcome['source']} was accepted"
        assert wanted in outcome["message"], outcome
        assert outcome["grew_mb"] < 64, outcome
        assert outcome["seconds"] < 30, outcome
    assert not list((tmp_path / "cache").rglob("*.npz"))


def test_a_pickle_may_not_call_numpy_ndarray(tmp_path, data, cache_dir):
    folder = batches_folder(tmp_path / "cifar-10-batches-py", data,
                            data_batch_2=writer.zero_stride_bomb(20))
    message = refused(folder, "data_batch_2 is not a safe CIFAR-10 batch", cache_dir=cache_dir)
    assert "numpy.ndarray" in message and "Get a fresh copy" in message


def test_a_genuine_batch_of_10000_images_is_read():
    images, labels = writer.make_split(GENUINE_BATCH_IMAGES // 10, seed=5)
    got_images, got_labels = read_batch(writer.batch_bytes(images, labels, b"batch"), "batch")
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def _batch(rows: int, labels=None, **extra) -> bytes:
    """A batch of `rows` zero images; `labels` (default: `rows` zeros) as given."""
    return writer.py2_pickle({b"data": np.zeros((rows, 3072), np.uint8),
                              b"labels": [0] * rows if labels is None else labels, **extra})


@pytest.mark.parametrize("payload, expected", [
    (_batch(0), "holds 0 images; a CIFAR-10 batch holds 1 to 10,000"),
    (_batch(GENUINE_BATCH_IMAGES + 1), "holds 10,001 images"),
    (_batch(3, labels=np.zeros(3, np.uint8)), "a CIFAR-10 batch holds one numpy array"),
    (_batch(3, labels=[[0] * 3] * 3), "no `labels` list of whole numbers"),
    (_batch(3, labels=[0, 1]), "has 3 images but 2 `labels`"),
    (_batch(2, labels=[0, 10]), "labels outside 0..9"),
    (b"\x80\x02}}b}b}b.", "BUILD) more than 2 times"),
    (b"\x80\x02](" + b"K\x00" * 100_001 + b"e.", "more than 100,000 pickle instructions"),
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\x00\xe1\xf5\x05"
     b"\x85U\x01b\x87R.", "numpy's own pickles start from an empty one"),
    (b"", "is damaged or not a CIFAR-10 batch"),
], ids=["no images", "10,001 images", "labels an array", "labels of lists", "too few labels",
        "label 10", "BUILD thrice", "100,001 instructions", "a non-empty start", "empty"])
def test_batches_unlike_cifar10_are_refused(payload, expected):
    """Each with its reason; none builds more than the file holds."""
    with pytest.raises(DataError, match="Get a fresh copy") as caught:
        read_batch(payload, "data_batch_1")
    assert expected in str(caught.value)


def test_an_archive_of_many_entries_is_refused(tmp_path, cache_dir):
    path = tmp_path / "many.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for number in range(1_001):
            info = tarfile.TarInfo(f"cifar-10-batches-py/notes_{number}")
            archive.addfile(info, io.BytesIO(b""))
    refused(path, "holds more than 1,000 entries", cache_dir=cache_dir,
            allow_unofficial_archive=True)
