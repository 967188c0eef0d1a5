import json
import os
from collections import namedtuple

import pytest

from cnn_lesson import files
from cnn_lesson.errors import OutputError
from cnn_lesson.files import atomic_path, prepare_output_dir, write_json


def test_prepare_output_dir_creates_missing_folders(tmp_path):
    folder = prepare_output_dir(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_a_file_where_the_folder_should_be(tmp_path):
    (tmp_path / "out").write_text("precious")
    with pytest.raises(OutputError, match="is a file"):
        prepare_output_dir(tmp_path / "out")
    assert (tmp_path / "out").read_text() == "precious"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    with pytest.raises(OutputError, match="Cannot write"):
        prepare_output_dir(folder)


def test_unwritable_folder_simulated(tmp_path, monkeypatch):
    def refuse(self, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.Path, "write_bytes", refuse)
    with pytest.raises(OutputError, match="Permission denied"):
        prepare_output_dir(tmp_path)


def test_full_disk_is_reported_before_training(tmp_path, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(files.shutil, "disk_usage", lambda _: Usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(OutputError, match="only 1.0 MB free"):
        prepare_output_dir(tmp_path)


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("{broken")
            raise RuntimeError("crash while writing")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 2}


def test_disk_full_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"v": 1})
    with pytest.raises(OutputError, match="unchanged"):
        with atomic_path(target) as temporary:
            temporary.write_text("{par")
            raise OSError(28, "No space left on device")
    assert json.loads(target.read_text()) == {"v": 1}


# Hostile test, items A and B: every failed write says what was wrong, by its errno.

def test_a_file_given_as_the_folder_gets_output_error_not_a_raw_traceback(tmp_path):
    (tmp_path / "model.keras").write_text("precious")
    with pytest.raises(OutputError, match="A part of the path is a file, not a folder"):
        write_json(tmp_path / "model.keras" / "metrics.json", {"v": 1})
    assert (tmp_path / "model.keras").read_text() == "precious"


def test_a_folder_where_the_file_should_be_is_named(tmp_path):
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(OutputError, match=r"metrics.json is a folder: move it away") as refused:
        write_json(tmp_path / "metrics.json", {"v": 1})
    assert "disk space" not in str(refused.value)
    assert (tmp_path / "metrics.json").is_dir()


@pytest.mark.parametrize("number, advice", [
    (28, "The disk is full"),
    (13, "not writable"),
    (30, "not writable"),
    (36, "too long"),
    (5, "Free some disk space"),  # EIO: the generic advice
])
def test_a_failed_write_advises_by_its_errno(tmp_path, number, advice):
    with pytest.raises(OutputError, match=advice):
        with atomic_path(tmp_path / "metrics.json"):
            raise OSError(number, os.strerror(number))


def test_an_over_long_output_folder_is_an_output_error(tmp_path):
    with pytest.raises(OutputError,
                       match="File name too long. The path or a name in it is too long"):
        prepare_output_dir(tmp_path / ("c" * 300))


def test_atomic_writes_reach_the_disk_before_the_rename(tmp_path, monkeypatch):
    """A power cut soon after a rename can leave an empty file where the old version was,
    unless the new one was on the disk first: each temporary file is synced before its
    rename, and the folder after it (the last known leftover of the fourth hostile pass)."""
    from cnn_lesson import backup
    from cnn_lesson.model import create_model
    from cnn_lesson.training import compile_model, train
    from tests.helpers import random_images

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(source, target):
        events.append(("replace", str(source)))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_path(tmp_path / "model.keras") as temporary:
        temporary.write_bytes(b"a model")
    assert events == [("fsync", str(temporary)), ("replace", str(temporary)),
                      ("fsync", str(tmp_path))]

    events.clear()
    images, labels = random_images(40)
    model = compile_model(create_model())
    train(model, (images[:32], labels[:32]), (images[32:], labels[32:]), epochs=1,
          verbose=0, output_dir=tmp_path / "run")
    backup_dir = str(tmp_path / "run" / backup.BACKUP_FOLDER)
    replaced = [path for kind, path in events if kind == "replace"
                and path.startswith(backup_dir + "/.partial-")]
    assert len(replaced) == 2  # the weights and the epoch number of the one epoch
    for path in replaced:  # each synced before its rename, the folder after both
        assert events.index(("fsync", path)) < events.index(("replace", path))
    assert events.index(("fsync", backup_dir)) > max(
        events.index(("replace", path)) for path in replaced)
