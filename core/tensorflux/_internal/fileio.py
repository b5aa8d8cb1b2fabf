"""Crash-safe file writes: every file is written to a temporary sibling, flushed, then renamed into place.

A process killed mid-write leaves either the old file or the new one, never a torn one; at worst a
hidden ``.<name>.tmp-*`` file remains beside it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator

TEMP_MARK = ".tmp-"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit, fsync it and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.

    Example:
        >>> import os, tempfile
        >>> from tensorflux.extend import atomic_write
        >>> target = os.path.join(tempfile.mkdtemp(), "weights.bin")
        >>> with atomic_write(target) as f:
        ...     _ = f.write(b"\\x00\\x01")
        >>> open(target, "rb").read()
        b'\\x00\\x01'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}{TEMP_MARK}", dir=directory)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_write`."""
    with atomic_write(path) as f:
        f.write(data)


def _fsync_dir(directory: str) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
