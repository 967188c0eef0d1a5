"""Every input a learner controls, in its bad forms: each ends in the package's error class.

Files, folders and archive members (`load_cifar10`), images (`predict_image_file`), saved
models (`load_trained_model`), environment variables (`settings`) and the command line: each
bad form raises `DataError`, `ModelFileError` or `SettingsError` with what was wrong and what
to do (on the command line one `error:` line and exit status 1, never a traceback), quickly
and in little memory, and the learner's files are left as they were.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cifar_writer as writer
from cnn_lesson.config import settings
from cnn_lesson.data import load_cifar10
from cnn_lesson.data.safe_pickle import read_batch
from cnn_lesson.errors import DataError, SettingsError
from cnn_lesson.own_image import load_image_file, predict_image_file
from tests.helpers import each_refused, refused

ROOT = Path(__file__).resolve().parent.parent
BOMB_ROWS = 100_000  # per batch file: 307 MB each once copied, 1.8 GB for the six
GENUINE_BATCH_IMAGES = 10_000  # images in each batch of the official CIFAR-10


def batches_folder(folder: Path, data, **replaced: bytes) -> Path:
    """A `cifar-10-batches-py/` folder of `data` with some files replaced."""
    files = {**writer.batch_files(data), **replaced}
    folder.mkdir(parents=True)
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return folder


def python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python with this worktree first on the path."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}
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


# --- helpers for images -----------------------------------------------------------------

def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels: 70 bytes, never decodable."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def image_bytes(mode: str, image_format: str, size=(32, 32), **save) -> bytes:
    buffer = io.BytesIO()
    if mode == "I;16":
        picture = Image.fromarray(np.full(size[::-1], 40_000, np.uint16))
    else:
        picture = Image.new(mode, size)
    picture.save(buffer, format=image_format, **save)
    return buffer.getvalue()


def animated_gif(size=(32, 32)) -> bytes:
    frames = [Image.new("RGB", size, colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


def valid_png() -> bytes:
    return image_bytes("RGB", "PNG")


def symlink_loop(path: Path) -> Path:
    path.symlink_to(path.name)  # points at itself
    return path


@contextlib.contextmanager
def unreadable(path: Path):
    """`path` with no permissions inside the block; its mode is restored after it."""
    mode = path.stat().st_mode
    path.chmod(0)
    try:
        yield path
    finally:
        path.chmod(mode)


ROOT_READS_EVERYTHING = pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads every file: run as an unprivileged user")


# --- image folders -----------------------------------------------------------------------

@pytest.fixture
def image_folders(tmp_path, data):
    writer.write_image_folders(tmp_path / "cifar", data)
    return tmp_path / "cifar"


BAD_IMAGES = {  # name: (file's bytes, what the message says)
    "zero bytes": (b"", "cannot be read as an image"),
    "truncated PNG": (valid_png()[:60], "cannot be read as an image"),
    "truncated JPEG": (image_bytes("RGB", "JPEG")[:300], "cannot be read as an image"),
    "text": (b"hello, not a picture", "cannot be read as an image"),
    "decompression bomb": (png_claiming(100_000, 100_000), "far larger than a 32x32 image"),
    "CMYK JPEG": (image_bytes("CMYK", "JPEG"), "is 32x32 CMYK; CIFAR-10 images must be"),
    "16-bit PNG": (image_bytes("I;16", "PNG"), "is 32x32 I;16; CIFAR-10 images must be"),
    "palette with transparency": (image_bytes("P", "PNG", transparency=0), "is 32x32 P;"),
    "animated GIF": (animated_gif(), "is a GIF image; only PNG and JPEG are read"),
}


@pytest.mark.parametrize("kind", BAD_IMAGES)
def test_bad_images_in_a_class_folder(image_folders, cache_dir, kind):
    payload, expected = BAD_IMAGES[kind]
    (image_folders / "train" / "cat" / "0001.png").write_bytes(payload)
    message = refused(image_folders, expected, cache_dir=cache_dir)
    assert "0001.png" in message


def test_folder_with_no_classes(tmp_path, cache_dir):
    (tmp_path / "train").mkdir()
    (tmp_path / "test").mkdir()
    refused(tmp_path, "missing class folders: airplane, automobile", cache_dir=cache_dir)


def test_class_with_no_images(image_folders, cache_dir):
    for file in (image_folders / "test" / "dog").iterdir():
        file.unlink()
    refused(image_folders, "dog holds no images; each class needs at least one",
            cache_dir=cache_dir)


def test_a_folder_named_like_an_image(image_folders, cache_dir):
    (image_folders / "train" / "cat" / "9999.png").mkdir()
    refused(image_folders, "9999.png is not a PNG or JPEG image", cache_dir=cache_dir)


def test_symlink_loops(image_folders, cache_dir, tmp_path):
    loop = symlink_loop(image_folders / "train" / "cat" / "9999.png")
    refused(image_folders, "9999.png is a symbolic link to nothing (a loop",
            cache_dir=cache_dir)
    loop.unlink()
    cat = image_folders / "test" / "cat"
    for file in cat.iterdir():
        file.unlink()
    cat.rmdir()
    symlink_loop(cat)
    refused(image_folders, "cat is a symbolic link to nothing", cache_dir=cache_dir)
    refused(symlink_loop(tmp_path / "data"), "data (from CNN_LESSON_DATA or `source=`) is a "
            "symbolic link to nothing", cache_dir=cache_dir)


def test_one_folder_through_symbolic_links_is_refused(image_folders, cache_dir):
    """A test folder linked to the training folder would measure memorised images; a class
    folder linked to another would give the same images two labels."""
    import shutil

    shutil.rmtree(image_folders / "test")
    (image_folders / "test").symlink_to(image_folders / "train", target_is_directory=True)
    refused(image_folders, "The test accuracy would be measured on training images",
            cache_dir=cache_dir)
    (image_folders / "test").unlink()
    shutil.copytree(image_folders / "train", image_folders / "test")
    shutil.rmtree(image_folders / "train" / "dog")
    (image_folders / "train" / "dog").symlink_to("cat", target_is_directory=True)
    message = refused(image_folders, "are the same folder", cache_dir=cache_dir)
    assert "training images" not in message  # two classes of one split, not a leak


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_one_image_file_through_links_is_refused(image_folders, cache_dir, link):
    """The third hostile pass: only folders were compared, so a test image linked to a
    training image (even under another class) loaded."""
    training_image = sorted((image_folders / "train" / "cat").iterdir())[0]
    linked = image_folders / "test" / "dog" / "linked.png"
    linked.symlink_to(training_image) if link == "symbolic" else os.link(training_image, linked)
    refused(image_folders, "are the same file on the disk, through a link. The test accuracy "
            "would be measured on training images", cache_dir=cache_dir)
    linked.unlink()
    linked = image_folders / "train" / "dog" / "linked.png"
    linked.symlink_to(training_image) if link == "symbolic" else os.link(training_image, linked)
    message = refused(image_folders, "are the same file on the disk", cache_dir=cache_dir)
    assert "training images" not in message  # two classes of one split, not a leak


def test_non_utf8_file_names(image_folders, cache_dir):
    """Names in another encoding (e.g. Latin-1 from an old archive) load; in messages they
    show as \\xe9 escapes, so the message can be printed anywhere."""
    cat = os.fsencode(image_folders / "train" / "cat")
    with open(os.path.join(cat, b"caf\xe9.png"), "wb") as file:
        file.write(valid_png())
    (train_images, _), _ = load_cifar10(image_folders, cache_dir=cache_dir)
    assert len(train_images) == 101
    with open(os.path.join(cat, b"caf\xe9.txt"), "wb") as file:
        file.write(b"notes")
    message = refused(image_folders, "caf\\xe9.txt is not a PNG or JPEG image",
                      cache_dir=cache_dir)
    message.encode("utf-8")  # no lone surrogates


@ROOT_READS_EVERYTHING
def test_unreadable_class_folder_and_image(image_folders, cache_dir):
    cat = image_folders / "train" / "cat"
    with unreadable(cat):
        refused(image_folders, "cat cannot be listed: you cannot read it (permission denied)",
                cache_dir=cache_dir)
    image = cat / "0000.png"
    with unreadable(image):
        message = refused(image_folders, "0000.png cannot be read: you cannot read it",
                          cache_dir=cache_dir)
        assert "chmod" in message


@ROOT_READS_EVERYTHING
def test_unreadable_archive_and_data_folder(tmp_path, data, cache_dir):
    path = writer.write_archive(tmp_path / "cifar-10-python.tar.gz", data)
    with unreadable(path):
        refused(path, "cannot be read ([Errno 13] Permission denied", cache_dir=cache_dir)
    folder = writer.write_batches_folder(tmp_path / "batches", data)
    with unreadable(folder / "test_batch"):
        refused(folder, "test_batch cannot be read ([Errno 13]", cache_dir=cache_dir)
    closed = tmp_path / "closed"
    writer.write_image_folders(closed / "cifar", data)
    with unreadable(closed):
        with pytest.raises(DataError, match="cannot be read: permission denied"):
            load_cifar10(closed / "cifar", cache_dir=cache_dir)


# --- load_cifar10's arguments ------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    (5, "source must be a path (text or a pathlib.Path) or 'synthetic', not int 5"),
    (["data"], "not list"),
    ("data\0name", "is not a usable path"),
    ("x" * 5000, "is not a usable path"),
], ids=["a number", "a list", "a NUL character", "a name too long"])
def test_bad_sources(source, expected, cache_dir):
    with pytest.raises(DataError) as caught:
        load_cifar10(source, cache_dir=cache_dir)
    assert expected in str(caught.value)


@pytest.mark.parametrize("seed", [-1, "1", 1.5, None])
def test_bad_seeds_of_the_synthetic_set(seed):
    with pytest.raises(SettingsError, match="use a whole number of at least 0"):
        load_cifar10("synthetic", seed=seed)


def test_bad_cache_dir(data, tmp_path):
    folder = writer.write_batches_folder(tmp_path, data)
    with pytest.raises(DataError, match="cache_dir must be a folder's path or None, not int"):
        load_cifar10(folder, cache_dir=5)


# --- the settings (environment variables) ------------------------------------------------

@pytest.mark.parametrize("name, value, allowed", [
    ("CNN_LESSON_SEED", "abc", "a whole number from 0 to 4,294,967,295"),
    ("CNN_LESSON_SEED", "-1", "a whole number from 0 to 4,294,967,295"),
    ("CNN_LESSON_SEED", "4294967296", "a whole number from 0 to 4,294,967,295"),
    ("CNN_LESSON_SEED", "1e3", "a whole number from 0 to 4,294,967,295"),
    ("CNN_LESSON_QUICK", "maybe", "use 1 (on) or 0 (off)"),
    ("CNN_LESSON_QUICK", "2", "use 1 (on) or 0 (off)"),
])
def test_bad_settings_name_the_variable_and_the_allowed_values(name, value, allowed):
    with pytest.raises(SettingsError) as caught:
        settings({name: value})
    assert isinstance(caught.value, ValueError)  # what the settings raised before
    assert f"{name}={value!r}" in str(caught.value) and allowed in str(caught.value)


def test_the_largest_seed_is_accepted():
    assert settings({"CNN_LESSON_SEED": " 4294967295 "}).seed == 4_294_967_295


# --- the command line: one `error:` line, never a traceback -------------------------------

def run_cli(*args, env=None):
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    environment.pop("CNN_LESSON_QUICK", None)
    return subprocess.run([sys.executable, "-m", "cnn_lesson", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=300)


def tiny_image_folders(root: Path, bad: bytes | None = None) -> Path:
    """One 32x32 image per class and split; `bad` replaces train/cat's."""
    for split in ("train", "test"):
        for class_name in writer.CLASS_NAMES:
            (root / split / class_name).mkdir(parents=True)
            (root / split / class_name / "0.png").write_bytes(valid_png())
    if bad is not None:
        (root / "train" / "cat" / "0.png").write_bytes(bad)
    return root


@pytest.mark.parametrize("case", ["seed variable", "bomb image", "too few images"])
def test_cli_bad_input_is_one_error_line(tmp_path, case):
    args, env = ["train", "--quick", "--output", str(tmp_path / "out")], {}
    if case == "seed variable":
        args += ["--data", "synthetic"]
        env["CNN_LESSON_SEED"] = "abc"
        expected = "error: CNN_LESSON_SEED='abc' is not a seed"
    elif case == "bomb image":
        folder = tiny_image_folders(tmp_path / "data", bad=png_claiming(100_000, 100_000))
        args += ["--data", str(folder)]
        expected = "0.png claims to be far larger than a 32x32 image"
    else:
        args += ["--data", str(tiny_image_folders(tmp_path / "data"))]
        expected = "holds 10 training images; the lesson needs at least 50"
    result = run_cli(*args, env={**env, "CNN_LESSON_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Epoch" not in result.stdout


@pytest.mark.parametrize("seed", ["-1", "4294967296", "abc"])
def test_cli_seed_out_of_range_is_a_usage_error(seed):
    result = run_cli("train", "--seed", seed)
    assert result.returncode == 2 and "usage:" in result.stderr
    assert "--seed" in result.stderr and "0 to 4,294,967,295" in result.stderr
    assert "unset it" not in result.stderr  # that advice is for CNN_LESSON_SEED


# --- the learner's own picture (lesson 4) --------------------------------------------------

@pytest.mark.parametrize("kind, payload, expected", [
    ("zero bytes", b"", "is not an image that can be read"),
    ("truncated PNG", image_bytes("RGB", "PNG", size=(300, 200))[:200],
     "is not an image that can be read"),
    ("truncated JPEG", image_bytes("RGB", "JPEG", size=(300, 200))[:400],
     "is not an image that can be read"),
    ("decompression bomb", png_claiming(100_000, 100_000), "is too large to open safely"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 20 else "")
def test_bad_picture_files(tmp_path, kind, payload, expected):
    file = tmp_path / "photo.png"
    file.write_bytes(payload)
    with pytest.raises(DataError, match=expected):
        load_image_file(file)
    assert file.read_bytes() == payload


@pytest.mark.parametrize("mode, image_format, save", [
    ("CMYK", "JPEG", {}), ("P", "PNG", {"transparency": 0}), ("RGB", "GIF", {}),
    ("LA", "PNG", {}), ("1", "BMP", {}),
])
def test_pictures_in_unusual_modes_are_read(tmp_path, mode, image_format, save):
    file = tmp_path / f"photo.{image_format.lower()}"
    file.write_bytes(image_bytes(mode, image_format, size=(48, 40), **save))
    image = load_image_file(file)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8


def test_an_animated_gif_gives_its_first_frame(tmp_path):
    file = tmp_path / "anim.gif"
    file.write_bytes(animated_gif(size=(40, 40)))
    image = load_image_file(file)
    assert image[..., 0].min() > 200 and image[..., 1].max() < 60  # red


def test_a_16_bit_picture_is_scaled_not_clipped_to_white(tmp_path):
    file = tmp_path / "grey16.png"
    file.write_bytes(image_bytes("I;16", "PNG", size=(40, 40)))  # 40,000 of 65,535
    image = load_image_file(file)
    assert abs(int(image.mean()) - round(40_000 / 257)) <= 1


def test_bad_picture_paths(tmp_path):
    with pytest.raises(DataError, match="must be a file name"):
        load_image_file(5)
    with pytest.raises(DataError, match="is a folder, not an image file"):
        load_image_file(tmp_path)
    with pytest.raises(DataError, match="No file at"):
        load_image_file(tmp_path / "missing.jpg")
    with pytest.raises(DataError, match="symbolic link to nothing"):
        load_image_file(symlink_loop(tmp_path / "loop.jpg"))
    with pytest.raises(DataError, match="is not a usable path: it holds a NUL character"):
        load_image_file("photo\0.jpg")
    with pytest.raises(DataError, match="/dev/zero is not a regular file"):
        load_image_file("/dev/zero")  # it used to be called a folder


@ROOT_READS_EVERYTHING
def test_an_unreadable_picture(tmp_path):
    file = tmp_path / "photo.png"
    file.write_bytes(valid_png())
    with unreadable(file):
        with pytest.raises(DataError, match="cannot be read: permission denied"):
            load_image_file(file)


@pytest.fixture(scope="module")
def model():
    from cnn_lesson.model import create_model

    return create_model()


@pytest.mark.parametrize("arguments, expected", [
    ({"top": 0}, "top=0: use a whole number from 1 to 10"),
    ({"top": -1}, "top=-1"),
    ({"top": 11}, "top=11"),
    ({"top": "3"}, "top='3'"),
    ({"class_names": "cat"}, "class_names must be a list of names"),
    ({"class_names": ["cat", "dog"], "top": 2}, "gives 10 probabilities but class_names has 2 names"),
], ids=["top 0", "top -1", "top 11", "top text", "names a string", "two names"])
def test_bad_arguments_of_predict_image_file(tmp_path, model, arguments, expected):
    file = tmp_path / "photo.png"
    file.write_bytes(valid_png())
    with pytest.raises(SettingsError) as caught:
        predict_image_file(model, file, **arguments)
    assert expected in str(caught.value)


def test_predict_image_file_names_the_model_it_needs(tmp_path, model):
    from cnn_lesson.saving import TrainedModel

    trained = TrainedModel(model, {}, tmp_path, False, "")
    with pytest.raises(SettingsError, match=r"a trained Keras model \(pass its `.model`\)"):
        predict_image_file(trained, tmp_path / "photo.png")


# --- lesson 4's saved model ---------------------------------------------------------------

def test_load_trained_model_refuses_bad_arguments_before_any_training(tmp_path):
    from cnn_lesson.errors import OutputError
    from cnn_lesson.saving import load_trained_model

    train_data = writer.make_split(5, seed=0)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    with pytest.raises(OutputError, match="is a file, not the output folder"):
        load_trained_model(a_file, train_data)
    with pytest.raises(OutputError, match="must be a folder's path, not NoneType"):
        load_trained_model(None, train_data)
    for seed in (-1, 2**32, "1"):
        with pytest.raises(SettingsError, match="seed="):
            load_trained_model(tmp_path, train_data, seed=seed)
    with pytest.raises(SettingsError, match="quick_images=0"):
        load_trained_model(tmp_path, train_data, quick_images=0)
    for bad in (None, (np.zeros((3, 28, 28)), np.zeros(3, int)),
                (train_data[0], train_data[1] + 10), (train_data[0][:0], train_data[1][:0])):
        with pytest.raises(DataError, match="train_data"):
            load_trained_model(tmp_path, bad)
    assert a_file.read_text() == "keep me" and not (tmp_path / "stand_in").exists()


def test_damaged_saved_model_files(tmp_path):
    from cnn_lesson.errors import ModelFileError
    from cnn_lesson.saving import load_history, load_model

    (tmp_path / "model.keras").mkdir()
    with pytest.raises(ModelFileError, match="is a folder, not a saved model"):
        load_model(tmp_path / "model.keras")
    (tmp_path / "history.json").write_text(json.dumps({"accuracy": "high"}))
    with pytest.raises(ModelFileError, match="'accuracy' is not a list of numbers"):
        load_history(tmp_path)


@ROOT_READS_EVERYTHING
def test_an_unreadable_saved_model(tmp_path):
    from cnn_lesson.errors import ModelFileError
    from cnn_lesson.saving import load_model

    file = tmp_path / "model.keras"
    file.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    with unreadable(file):
        with pytest.raises(ModelFileError, match="cannot be read .*Permission denied"):
            load_model(file)


def test_a_tilde_naming_no_user_is_our_error_not_a_runtime_error(tmp_path, monkeypatch):
    """`~cifar` for `~/cifar`: Python's expanduser raises RuntimeError("Could not determine
    home directory"), which reached every setup cell and command before."""
    from cnn_lesson.cli import main
    from cnn_lesson.data.cache import default_cache_dir

    typo = "~nosuchuser_cnn/cifar"
    with pytest.raises(SettingsError, match="CNN_LESSON_OUTPUT"):
        settings({"CNN_LESSON_OUTPUT": typo})
    with pytest.raises(DataError, match="starts with ~"):
        load_cifar10(typo)
    with pytest.raises(DataError, match="starts with ~"):
        load_cifar10("synthetic-not", cache_dir=typo)
    with pytest.raises(SettingsError, match="CNN_LESSON_CACHE"):
        default_cache_dir({"CNN_LESSON_CACHE": typo})
    with pytest.raises(DataError, match="starts with ~"):
        load_image_file(typo + ".png")
    monkeypatch.setenv("CNN_LESSON_OUTPUT", typo)
    assert main(["train", "--quick", "--data", "synthetic"]) == 1
    monkeypatch.delenv("CNN_LESSON_OUTPUT")
    assert main(["train", "--quick", "--data", "synthetic", "--output", typo]) == 1


def test_labels_that_are_not_class_numbers_get_a_data_error():
    from cnn_lesson.evaluation import confusion_matrix, per_class_accuracy

    for bad in (None, ["cat", "dog"], [1.5, 2.0], 3):
        with pytest.raises(DataError, match="Labels must be an array of class numbers"):
            per_class_accuracy(bad, [1, 2])
    # Whole-valued floats (e.g. from a float array of labels) are class numbers.
    assert confusion_matrix(np.array([[1.0], [2.0]]), [1, 2])[2, 2] == 1


def test_save_figure_without_a_figure_or_a_path():
    import matplotlib.pyplot as plt
    from cnn_lesson.plots import save_figure

    with pytest.raises(DataError, match="save_figure needs a matplotlib Figure, not NoneType"):
        save_figure(None, "plot.png")
    figure = plt.figure()
    try:
        with pytest.raises(SettingsError, match="must be a file name such as 'plot.png'"):
            save_figure(figure, None)
    finally:
        plt.close(figure)


def test_saving_into_a_missing_folder_or_a_files_path_says_what_to_pass(tmp_path):
    """The hostile pass: a missing folder was blamed on the disk ("free some disk space"),
    and `save_model(model, "output/model.keras")` advised moving the trained model away."""
    from cnn_lesson.errors import OutputError
    from cnn_lesson.model import create_model
    from cnn_lesson.saving import save_history, save_model

    model = create_model()
    with pytest.raises(OutputError, match="Its folder does not exist: create it first") as error:
        save_model(model, tmp_path / "missing")
    assert "disk" not in str(error.value)
    with pytest.raises(OutputError, match="Its folder does not exist"):
        save_history({"loss": [1.0], "accuracy": [0.5]}, tmp_path / "missing")
    trained = tmp_path / "model.keras"
    trained.write_bytes(b"the learner's trained model")
    for call in (lambda: save_model(model, trained), lambda: save_history({}, trained)):
        with pytest.raises(SettingsError, match="takes the folder to save into, such as "):
            call()
    assert trained.read_bytes() == b"the learner's trained model"
    for bad in (None, "abc", {"loss": [object()]}):
        with pytest.raises(SettingsError, match="save_history needs the History"):
            save_history(bad, tmp_path)
    with pytest.raises(OutputError, match="too long"):  # a raw OSError on Python 3.11
        save_history({"loss": [1.0], "accuracy": [0.5]}, tmp_path / ("x" * 300))


def test_predict_on_images_of_another_size_says_so_before_tensorflow():
    from cnn_lesson.evaluation import predict
    from cnn_lesson.model import create_model

    images = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(DataError, match=r"shape \(16, 32, 3\) each; this model takes \(32, 32, 3\)"):
        predict(create_model(), images[:, :16])  # a long TensorFlow graph trace before


def test_bad_arguments_of_the_result_functions_are_settings_errors():
    """They were plain ValueErrors (not caught by `except CnnLessonError`), one saying
    "between 0 and -1"."""
    from cnn_lesson.errors import CnnLessonError
    from cnn_lesson.evaluation import confusion_matrix, per_class_accuracy
    from cnn_lesson.precision import check_precision

    with pytest.raises(SettingsError, match="num_classes=0: use a whole number from 1 to 1,000"):
        confusion_matrix([1], [1], num_classes=0)
    with pytest.raises(DataError, match=r"from 0 to 0 \(for 1 classes, e.g. class_names"):
        per_class_accuracy([1, 2], [1, 2], class_names=["a"])
    with pytest.raises(CnnLessonError, match="precision must be one of"):
        check_precision("mixed_float16")


def test_the_hostile_passs_bad_arguments_get_a_message_that_names_them(tmp_path):
    """Each of these ended in a raw AttributeError, TypeError, ZeroDivisionError or
    IndexError from Keras, matplotlib or numpy (the second hostile pass)."""
    import matplotlib.pyplot as plt

    import cnn_lesson as lesson
    from cnn_lesson.errors import OutputError

    images, labels = writer.make_split(3, seed=0)
    model = lesson.create_model()
    probabilities = np.full((len(labels), 10), 0.1)
    cases = [
        (lambda: lesson.synthetic_cifar10(0, 10**9, 1), SettingsError,
         "train_per_class=1000000000: use a whole number from 1 to 50,000"),  # killed the kernel
        (lambda: lesson.compile_model(None), SettingsError, "compile_model needs a Keras model"),
        (lambda: lesson.compile_model(model, learning_rate=float("nan")), SettingsError,
         "learning_rate=nan"),
        (lambda: lesson.build_model(lambda: None), SettingsError, "it must end with `return model`"),
        (lambda: lesson.prepare_output_dir(None), OutputError, "must be a path (text or a pathlib"),
        (lambda: lesson.plot_learning_rate("adam", 10), SettingsError,
         "or a positive number such as 1e-3 for a constant rate"),
        (lambda: lesson.plot_sample_images(images, labels, rows=0), SettingsError, "rows=0"),
        (lambda: lesson.plot_mistakes(images, labels, (labels.ravel() + 1) % 10, columns=0),
         SettingsError, "columns=0"),
        (lambda: lesson.most_confident_mistakes(labels, labels.ravel() + 1, probabilities[:3]),
         SettingsError, "expected one row per image"),
    ]
    each_refused(cases)
    plt.close("all")


def test_a_constant_learning_rate_can_be_plotted():
    """Lesson 3's exercise trains at a constant 1e-3; plotting it used to raise
    "'float' object is not callable"."""
    import matplotlib.pyplot as plt

    from cnn_lesson.plots import plot_learning_rate

    figure = plot_learning_rate(1e-3, 20, steps_per_epoch=10)
    (line,) = figure.axes[0].lines
    assert set(line.get_ydata()) == {1e-3} and figure.axes[0].get_title() == "Constant learning rate"
    plt.close(figure)


def test_checkpoints_refuse_epochs_as_text_and_a_nan_accuracy():
    from cnn_lesson.checkpoints import CheckpointError, check_history
    from cnn_lesson.evaluation import check_confusion_matrix, confusion_matrix

    with pytest.raises(CheckpointError, match="needs the number of epochs trained, such as "
                       "lesson.epochs, not '1'"):
        check_history({"loss": [1.0]}, "1")  # said "holds 1 epoch(s), but 1 were trained"
    labels = np.arange(10)
    with pytest.raises(CheckpointError, match="the test accuracy measured above is nan"):
        check_confusion_matrix(confusion_matrix(labels, labels), labels, float("nan"))


def test_more_bad_arguments_of_the_hostile_pass_name_what_to_pass(tmp_path, monkeypatch):
    import keras
    import matplotlib.pyplot as plt

    import cnn_lesson as lesson

    monkeypatch.chdir(tmp_path)  # "unused" would be made here
    images = np.zeros((3, 32, 32, 3), np.uint8)
    model = lesson.create_model()
    cases = [
        (lambda: lesson.resumable_training("unused", run=[1, 2]), SettingsError,
         "run must map names to facts"),
        (lambda: lesson.normalize_images("abc"), DataError, "needs pixel values from 0 to 255"),
        (lambda: lesson.layer_explorer(model, images[0, :16]), SettingsError,
         "Pass one image of shape (32, 32, 3), not shape (16, 32, 3)"),
        (lambda: lesson.plot_normalization(images, index=999), SettingsError,
         "index=999: there are 3 images, so use 0 to 2"),
        (lambda: lesson.plot_history({"loss": [1.0, 2.0], "accuracy": [0.1]}), SettingsError,
         "lists have different lengths"),
        (lambda: lesson.explain_parameters(keras.Sequential([keras.layers.Dense(2)])),
         SettingsError, "The model is not built yet"),
        (lambda: lesson.plot_first_layer_filters(None), SettingsError,
         "needs a Keras model (create_model()), not NoneType"),
        (lambda: lesson.most_confused_pairs("x"), SettingsError, "Pass the confusion matrix"),
        (lambda: lesson.mistakes_by_kind(np.eye(3)), SettingsError, "of shape (3, 3)"),
    ]
    each_refused(cases)
    assert not Path("unused").exists()
    plt.close("all")


def test_the_last_raw_errors_of_the_second_hostile_pass():
    """Each of these ended in a raw TypeError, AttributeError or ValueError from Python,
    matplotlib, Keras or numpy (the tail of the second hostile pass)."""
    import matplotlib.pyplot as plt

    import cnn_lesson as lesson
    from cnn_lesson.tables import Table

    images, labels = writer.make_split(3, seed=0)
    probabilities = np.full((len(labels), 10), 0.1)
    cases = [
        (lambda: Table(None), SettingsError, "A Table is made of rows: dicts with the same keys"),
        (lambda: Table([{"a": 1}, {"b": 2}]), SettingsError, "the same keys in the same order"),
        (lambda: lesson.fast_precision(None), SettingsError,
         "fast_precision(cpuinfo=None): cpuinfo takes text or a path, not NoneType"),
        (lambda: settings({"CNN_LESSON_SEED": None}), SettingsError,
         "CNN_LESSON_SEED=None: environment values are text"),
        (lambda: lesson.plot_overfitting([1, 2]), SettingsError,
         "plot_overfitting(histories=[1, 2]): histories takes a dict, not list"),
        (lambda: lesson.plot_overfitting({"run": {"loss": [1.0]}}), SettingsError,
         "plot_overfitting ('run'): the history has no 'accuracy'"),
        (lambda: lesson.plot_accuracy_against_time("abc"), SettingsError,
         "Each run must be (label, seconds, accuracies), as runs_to_compare gives them"),
        (lambda: lesson.plot_accuracy_against_time([("a", "b")]), SettingsError,
         "Each run must be (label, seconds, accuracies)"),
        (lambda: lesson.plot_accuracy_against_time([("a", 3.0, 0.5)]), SettingsError,
         "a: the seconds and the accuracies must be lists, one number per epoch"),
        (lambda: lesson.plot_augmentations(images[0], count=0), SettingsError, "count=0"),
        (lambda: lesson.plot_augmentations(images), DataError,
         "plot_augmentations needs one uint8 colour image of shape (32, 32, 3)"),
        (lambda: lesson.plot_convolution_example(np.zeros((5, 5))), DataError,
         "this is ndarray of shape (5, 5), type float64"),
        (lambda: lesson.live_training_plot(False, {"loss": "abc"}), SettingsError,
         "live_training_plot: the history's 'loss' is 'abc': each metric needs a list of numbers"),
        (lambda: lesson.prediction_explorer(None, images, labels, probabilities=probabilities[:2]),
         SettingsError, "of shape (2, 10); expected one row per image (30)"),
        (lambda: lesson.prediction_explorer(None, images, labels, probabilities="x"),
         SettingsError, "The probabilities (str 'x') cannot be read as numbers"),
        (lambda: lesson.most_confident_mistakes(labels, labels, probabilities, count=2.0),
         SettingsError, "count=2.0: use a whole number"),
    ]
    each_refused(cases)
    plt.close("all")


def test_one_label_check_for_data_plots_results_and_widgets():
    """Whole-valued float labels are class numbers everywhere (plot_sample_images refused
    them), and a count that does not match the images is a DataError everywhere (it was a
    SettingsError in the widgets and the confusion matrix)."""
    import matplotlib.pyplot as plt

    import cnn_lesson as lesson
    from cnn_lesson.training import make_dataset

    images, labels = writer.make_split(3, seed=0)
    as_floats = labels.astype(np.float32)
    figure = lesson.plot_sample_images(images, as_floats, rows=2, columns=2)
    assert {axis.get_title() for axis in figure.axes} <= set(lesson.CLASS_NAMES)
    lesson.sample_browser(images, as_floats)
    assert lesson.confusion_matrix(as_floats, labels).trace() == len(labels)
    for call in (lambda: lesson.plot_sample_images(images, labels[:29], rows=2, columns=2),
                 lambda: lesson.sample_browser(images, labels[:29]),
                 lambda: lesson.prediction_explorer(None, images, labels[:29],
                                                    probabilities=np.eye(10)[labels.ravel()]),
                 lambda: make_dataset(images, labels[:29])):
        with pytest.raises(DataError, match="30 images but 29 labels"):
            call()
    for call in (lambda: lesson.plot_sample_images(images, labels + 10, rows=2, columns=2),
                 lambda: lesson.confusion_matrix(labels, labels + 10),
                 lambda: lesson.sample_browser(images, labels + 10),
                 lambda: make_dataset(images, labels + 10)):
        with pytest.raises(DataError, match="class numbers from 0 to 9"):
            call()
    plt.close("all")


# --- the fifth hostile pass: links, pipes and streams --------------------------------------

@pytest.mark.parametrize("how", ["symbolic link", "copy"])
def test_a_batch_that_is_another_batch_is_refused(tmp_path, data, cache_dir, how):
    """A test batch that was a link to (or a copy of) a training batch trained and tested on
    the same images, silently; image folders already refused this."""
    folder = writer.write_batches_folder(tmp_path / "batches", data)
    (folder / "test_batch").unlink()
    if how == "copy":
        (folder / "test_batch").write_bytes((folder / "data_batch_1").read_bytes())
    else:
        (folder / "test_batch").symlink_to(folder / "data_batch_1")
    refused(folder, "The batches data_batch_1 and test_batch hold the same images. The test "
            "accuracy would be measured on training images.", cache_dir=cache_dir)


def test_notebooks_copy_refuses_a_pipe_in_a_lessons_place_before_writing(tmp_path):
    out = tmp_path / "lessons"
    out.mkdir()
    os.mkfifo(out / "01_the_data.ipynb")
    result = subprocess.run([sys.executable, "-m", "cnn_lesson", "notebooks", "student",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "is a pipe or device, where the lessons need a file" in (
        result.stderr), result.stderr[-2000:]
    assert sorted(path.name for path in out.iterdir()) == ["01_the_data.ipynb"]  # nothing else


def test_the_command_survives_a_folder_name_that_is_not_utf8_and_a_closed_pipe(tmp_path):
    """A name such as b'v\\xff' crashed every print that named the folder, under a strict
    UTF-8 stdout; a reader gone (`| head -1`) ended training with a BrokenPipeError."""
    folder = os.path.join(os.fsencode(tmp_path), b"v\xff")
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "cnn_lesson", "train", "--quick", "--data", "synthetic",
               "--epochs", "1", "--output", folder]
    result = subprocess.run(command, capture_output=True, timeout=300, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert b"Wrote " in result.stdout and b"v\\xff" in result.stdout

    process = subprocess.Popen([*command[:-1], os.path.join(os.fsencode(tmp_path), b"pipe")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    process.stdout.readline()
    process.stdout.close()  # `| head -1`
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 141 and b"Traceback" not in errors, errors[-2000:]


def test_a_cameras_jpeg_with_more_than_one_picture_is_read_as_a_jpeg(tmp_path, cache_dir):
    """Phone cameras write JPEGs that Pillow calls MPO; they were refused as 'a MPO image'."""
    picture = Image.new("RGB", (32, 32), (10, 20, 30))
    buffer = io.BytesIO()
    picture.save(buffer, format="MPO", save_all=True, append_images=[picture])
    folder = tiny_image_folders(tmp_path / "data", bad=buffer.getvalue())
    (train_images, train_labels), _ = load_cifar10(folder, cache_dir=cache_dir)
    assert any(np.abs(image.astype(int) - (10, 20, 30)).max() <= 3  # JPEG rounds a little
               for image in train_images)
