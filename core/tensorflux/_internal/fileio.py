"""Crash-safe file writes and cross-process locks for files that several writers share.

Every file is written to a temporary sibling, flushed, then renamed into place, so a process killed
mid-write leaves either the old file or the new one, never a torn one. The temporary file's name
(``.<name>.tmp-<host>-<pid>-<random>``) records its writer, so a later write of the same file can
remove the temporaries of writers that no longer exist (:func:`remove_stale_temps`).

:func:`path_lock` serializes writers of one path: a lock per path within the process, plus an
advisory ``flock`` on a hidden lock file beside it across processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
from typing import IO, Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock; only threads of one process are serialized there
    fcntl = None  # type: ignore[assignment]

TEMP_MARK = ".tmp-"
LOCK_SUFFIX = ".lock"
# Only letters and digits, so the '-' separators of a temporary file's tag stay unambiguous.
_HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def temp_prefix(path: str | os.PathLike) -> str:
    """The name start of this process's temporaries for ``path``: ``.<name>.tmp-<host>-<pid>-``.

    Example:
        >>> import os
        >>> from tensorflux._internal.fileio import temp_prefix
        >>> temp_prefix("/ckpt/model.index").startswith(".model.index.tmp-")
        True
        >>> temp_prefix("/ckpt/model.index").endswith(f"-{os.getpid()}-")
        True
    """
    return f".{os.path.basename(os.fspath(path))}{TEMP_MARK}{_HOST}-{os.getpid()}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a pid we cannot judge: assume it is still writing
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[str]:
    """Delete the temporaries of ``path`` whose writer is provably gone; return the paths deleted.

    A temporary is stale only when its tag names this host and a pid that no longer exists (a
    writer killed mid-write). Temporaries of live processes, of other hosts (a shared file system)
    and untagged ones (written before tags existed) are left alone: their writer may still be writing.

    Example:
        >>> import os, tempfile
        >>> from tensorflux._internal.fileio import remove_stale_temps
        >>> d = tempfile.mkdtemp()
        >>> open(os.path.join(d, ".m.index.tmp-otherhost-1-x"), "w").close()
        >>> remove_stale_temps(os.path.join(d, "m.index"))
        []
    """
    path = os.fspath(path)
    return _remove_stale(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}{TEMP_MARK}")


def remove_stale_temps_in(directory: str | os.PathLike) -> list[str]:
    """Like :func:`remove_stale_temps`, for every file of ``directory``: a killed save's temporaries go even when
    nothing saves that same file again (a checkpoint prefix carries its step number).

    Example:
        >>> import os, tempfile
        >>> from tensorflux._internal.fileio import remove_stale_temps_in
        >>> remove_stale_temps_in(tempfile.mkdtemp())
        []
    """
    return _remove_stale(os.fspath(directory), ".")


def _remove_stale(directory: str, start: str) -> list[str]:
    try:
        names = os.listdir(directory or ".")
    except OSError:
        return []
    tag = f"{TEMP_MARK}{_HOST}-"
    removed = []
    for name in names:
        if not name.startswith(start) or tag not in name:
            continue
        pid_text = name.rsplit(tag, 1)[1].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        stale = os.path.join(directory, name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)
            removed.append(stale)
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on a clean exit, fsync it and rename it over ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was. Temporaries of
    ``path`` left by killed writers are removed first (see :func:`remove_stale_temps`).

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
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), dir=directory)
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
    """Write ``data`` to ``path`` through :func:`atomic_write`.

    Example:
        >>> import os, tempfile
        >>> from tensorflux._internal.fileio import write_bytes_atomic
        >>> target = os.path.join(tempfile.mkdtemp(), "state")
        >>> write_bytes_atomic(target, b"ok")
        >>> open(target, "rb").read()
        b'ok'
    """
    with atomic_write(path) as f:
        f.write(data)


class _PathLock:
    """One path's lock in this process: a reentrant thread lock, and the flock held while depth > 0."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.users = 0
        self.fd: int | None = None


_registry_lock = threading.Lock()
_registry: dict[str, _PathLock] = {}


def lock_file_path(path: str | os.PathLike) -> str:
    """The hidden lock file that :func:`path_lock` uses for ``path``: ``.<name>.lock`` beside it.

    Example:
        >>> from tensorflux._internal.fileio import lock_file_path
        >>> lock_file_path("/ckpt/model")
        '/ckpt/.model.lock'
    """
    path = os.path.abspath(os.fspath(path))
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}{LOCK_SUFFIX}")


@contextlib.contextmanager
def path_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` (any path, e.g. a checkpoint prefix) inside the block.

    Threads of this process and processes on this host that lock the same path take turns; the same
    thread may nest it. Across processes it is an advisory ``flock`` on :func:`lock_file_path`, which
    the kernel releases if the holder dies, and which is deleted when the last holder leaves, so no
    lock file outlives a save. The lock is released when the block raises, too.

    Example:
        >>> import os, tempfile
        >>> from tensorflux._internal.fileio import path_lock
        >>> prefix = os.path.join(tempfile.mkdtemp(), "model")
        >>> with path_lock(prefix), path_lock(prefix):  # reentrant in one thread
        ...     pass
    """
    lock_path = lock_file_path(path)
    with _registry_lock:
        entry = _registry.setdefault(lock_path, _PathLock())
        entry.users += 1
    try:
        with entry.thread_lock:
            if entry.depth == 0 and fcntl is not None:
                entry.fd = _flock(lock_path)
            entry.depth += 1
            try:
                yield
            finally:
                entry.depth -= 1
                if entry.depth == 0 and entry.fd is not None:
                    fd, entry.fd = entry.fd, None
                    _unflock(lock_path, fd)
    finally:
        with _registry_lock:
            entry.users -= 1
            if entry.users == 0:
                del _registry[lock_path]


def _flock(lock_path: str) -> int:
    """Open and flock ``lock_path``, retrying until the locked file is the one at that path."""
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # The previous holder unlinks the file before unlocking; a waiter that opened it before
            # then holds a lock on a file nobody else will open, so it must start again.
            now = os.stat(lock_path)
            mine = os.fstat(fd)
        except FileNotFoundError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        if (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            return fd
        os.close(fd)


def _unflock(lock_path: str, fd: int) -> None:
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)  # while still locked, so no waiter can take this file afterwards
    finally:
        os.close(fd)  # closing drops the flock


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
