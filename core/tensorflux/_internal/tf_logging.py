"""``tf.logging``: TF 1.x's logging functions on the standard ``logging`` module's "tensorflux" logger.

Example:
    >>> import tensorflux as tf
    >>> tf.logging.set_verbosity(tf.logging.INFO)
    >>> tf.logging.get_verbosity() == tf.logging.INFO
    True
"""

from __future__ import annotations

import logging as _logging
import sys
import threading
from typing import Any

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARN
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_LOGGER_NAME = "tensorflux"
_logger_lock = threading.Lock()
_log_counts: dict[tuple, int] = {}


def get_logger() -> _logging.Logger:
    """The "tensorflux" logger; like TF's, it writes ``LEVEL:tensorflux:message`` to stderr unless the root
    logger already has handlers.

    Example:
        >>> import tensorflux as tf
        >>> tf.logging.get_logger().name
        'tensorflux'
    """
    logger = _logging.getLogger(_LOGGER_NAME)
    with _logger_lock:
        if not getattr(logger, "_tensorflux_configured", False):
            logger._tensorflux_configured = True
            if not _logging.getLogger().handlers:
                handler = _logging.StreamHandler(sys.stderr)
                handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT))
                logger.addHandler(handler)
    return logger


def _at_caller(kwargs: dict) -> dict:
    # Records name the user's line, not this module's.
    kwargs.setdefault("stacklevel", 2)
    return kwargs


def log(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log ``msg % args`` at ``level``. Example: ``tf.logging.log(tf.logging.INFO, "step %d", 10)``."""
    get_logger().log(level, msg, *args, **_at_caller(kwargs))


def debug(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at DEBUG. Example: ``tf.logging.debug("batch %s", shape)``."""
    get_logger().debug(msg, *args, **_at_caller(kwargs))


def info(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at INFO. Example: ``tf.logging.info("step %d loss %.3f", step, loss)``."""
    get_logger().info(msg, *args, **_at_caller(kwargs))


def warning(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at WARN. Example: ``tf.logging.warning("falling back to %s", device)``."""
    get_logger().warning(msg, *args, **_at_caller(kwargs))


warn = warning


def error(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at ERROR. Example: ``tf.logging.error("bad input %r", x)``."""
    get_logger().error(msg, *args, **_at_caller(kwargs))


def fatal(msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at FATAL (which does not exit, as in TF's Python logging). Example: ``tf.logging.fatal("boom")``."""
    get_logger().critical(msg, *args, **_at_caller(kwargs))


def vlog(level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
    """Log at ``level`` (TF's verbose log). Example: ``tf.logging.vlog(1, "detail")``."""
    get_logger().log(level, msg, *args, **_at_caller(kwargs))


def log_if(level: int, msg: Any, condition: bool, *args: Any) -> None:
    """Log ``msg % args`` at ``level`` only when ``condition`` holds.

    Example:
        >>> import tensorflux as tf
        >>> tf.logging.log_if(tf.logging.DEBUG, "never shown", False)
    """
    if condition:
        get_logger().log(level, msg, *args)


def _next_count(depth: int = 2) -> int:
    # One counter per calling line, so every log_every_n call site keeps its own rhythm.
    frame = sys._getframe(depth)
    key = (frame.f_code.co_filename, frame.f_lineno)
    with _logger_lock:
        count = _log_counts.get(key, 0)
        _log_counts[key] = count + 1
    return count


def log_every_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Log on the 1st, (n+1)th, (2n+1)th ... call from the same line.

    Example:
        >>> import tensorflux as tf
        >>> for step in range(3):
        ...     tf.logging.log_every_n(tf.logging.DEBUG, "step %d", 2, step)
    """
    log_if(level, msg, not (_next_count() % n), *args)


def log_first_n(level: int, msg: Any, n: int, *args: Any) -> None:
    """Log only on the first ``n`` calls from the same line.

    Example:
        >>> import tensorflux as tf
        >>> tf.logging.log_first_n(tf.logging.DEBUG, "first", 1)
    """
    log_if(level, msg, _next_count() < n, *args)


def get_verbosity() -> int:
    """The logger's effective level. Example: ``tf.logging.get_verbosity() == tf.logging.WARN``."""
    return get_logger().getEffectiveLevel()


def set_verbosity(v: int) -> None:
    """Show messages at level ``v`` and above.

    Example:
        >>> import tensorflux as tf
        >>> tf.logging.set_verbosity(tf.logging.ERROR)
        >>> tf.logging.get_verbosity()
        40
    """
    get_logger().setLevel(v)


def flush() -> None:
    """Flush the logger's handlers. Example: ``tf.logging.flush()``."""
    for handler in get_logger().handlers:
        handler.flush()
