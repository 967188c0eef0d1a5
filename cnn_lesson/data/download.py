"""The official download, through Keras' `get_file` and its cache.

The archive lands in `<cache_dir>/downloads/cifar-10-python.tar.gz` and is checked against
the official MD5 there; Keras only ever deletes or replaces a file in that folder of ours,
never a file a user placed somewhere. Any failure (offline, proxy, SSL, HTTP error, a
damaged download) becomes one `DataError` that names the URL and the ways around it.

Used by lesson 1 (`01_the_data.ipynb`) when `CNN_LESSON_DATA` is unset.
"""

from __future__ import annotations

import socket
from pathlib import Path

from cnn_lesson.data.archive import ARCHIVE_NAME, OFFICIAL_MD5
from cnn_lesson.data.classes import LOCAL_FORMS
from cnn_lesson.config import user_path
from cnn_lesson.errors import DataError

# The file `keras.datasets.cifar10` downloads: the official archive, mirrored by Google.
CIFAR10_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/cifar-10-python.tar.gz"
OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
DOWNLOADS = "downloads"
DOWNLOAD_TIMEOUT_S = 60  # seconds without a byte before the download counts as failed


def download_failed_message(url: str, reason: str) -> str:
    """The one message for every way the download can fail."""
    return (
        f"Could not download CIFAR-10 from {url} ({reason}).\n"
        "If this computer is offline, behind a proxy (set HTTPS_PROXY) or a firewall, or "
        "its SSL certificates are not trusted, get the data another way (another computer, "
        f"a USB stick, {OFFICIAL_URL}) and point the course at it with the environment "
        "variable CNN_LESSON_DATA (or `load_cifar10(source=...)`, the command line's "
        "--data). It may be:\n" + LOCAL_FORMS
    )


def download_archive(url: str, cache_dir: Path, check_hash: bool) -> Path:
    """Download the archive once (later calls find it in the cache) and return its path.

    Args:
        url: where from (the official mirror; tests use a loopback server).
        cache_dir: the course's cache folder; the archive goes in its `downloads/`.
        check_hash: compare with the official MD5 (False only for a self-made archive,
            with `allow_unofficial_archive=True`).

    Raises:
        DataError: the download failed or the file is not the official archive.
    """
    from keras.utils import get_file  # imported here: keras is slow to import

    cache_dir = user_path(cache_dir, "cache_dir", DataError)
    # Keras' get_file reads through urllib without a timeout: a server or proxy that stops
    # answering waited forever. The default timeout reaches urllib's sockets; restored after.
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        # Keras falls back to /tmp/.keras when the folder is missing or not writable.
        (cache_dir / DOWNLOADS).mkdir(parents=True, exist_ok=True)
        path = get_file(
            fname=ARCHIVE_NAME,
            origin=url,
            file_hash=OFFICIAL_MD5 if check_hash else None,
            hash_algorithm="md5",
            cache_dir=str(cache_dir),
            cache_subdir=DOWNLOADS,
        )
    except Exception as error:  # urllib, ssl, OSError, Keras' own Exception/ValueError
        reason = f"{type(error).__name__}: {error}"
        if isinstance(error, TimeoutError) or "timed out" in str(error):
            reason += f" (no answer for {DOWNLOAD_TIMEOUT_S} s)"
        raise DataError(download_failed_message(url, reason)) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return Path(path)
