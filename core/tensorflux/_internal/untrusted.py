"""Guards shared by every reader of files and graphs that come from outside (see docs/hardening.md).

Two rules: a size a file claims is checked against the bytes it really holds (and, where a format lets a few
bytes stand for many, against ``TENSORFLUX_MAX_EXPANDED_BYTES``) before anything is allocated; and whatever a
crafted input provokes in a parser leaves it as one of the library's own errors, naming the file.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from . import config
from .errors import DataLossError, InvalidArgumentError, OpError, ResourceExhaustedError

LIMIT_VAR = "TENSORFLUX_MAX_EXPANDED_BYTES"


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An InvalidArgumentError that is also a TypeError: a value of the wrong kind in a graph or file.

    Callers that caught TypeError from the importers before those raised the library's errors still do.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.untrusted import InvalidArgumentTypeError
        >>> issubclass(InvalidArgumentTypeError, (tf.errors.InvalidArgumentError, TypeError))
        True
    """


def check_expansion(nbytes: int, present: int, what: str) -> None:
    """Raise InvalidArgumentError naming ``what`` if decoding ``present`` bytes into ``nbytes`` exceeds the limit.

    ``nbytes`` up to ``present`` is always allowed: those bytes are already in memory.

    Example:
        >>> from tensorflux._internal.untrusted import check_expansion
        >>> check_expansion(4 * 10, 4, "node 'c'")
        >>> try:
        ...     check_expansion(4 * 10**12, 4, "node 'c'")
        ... except ValueError as e:
        ...     print(str(e)[:39])
        node 'c': decoding would expand 4 bytes
    """
    limit = config.max_expanded_bytes()
    if nbytes > max(present, limit):
        raise InvalidArgumentError(
            f"{what}: decoding would expand {present} bytes into {nbytes}, over the limit of {limit} bytes; if the "
            f"file is trusted, raise the limit with the environment variable {LIMIT_VAR} (e.g. {LIMIT_VAR}=8G)")


def _named(what: str, exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if what in text else f"{what}: {text}"


@contextlib.contextmanager
def parsing(what: str, corrupt: type = DataLossError, invalid: type = InvalidArgumentError) -> Iterator[None]:
    """Turn any exception a crafted input provokes inside the block into a library error naming ``what``.

    The library's own errors pass through; MemoryError becomes ResourceExhaustedError; ValueError
    becomes ``invalid`` (TypeError becomes :class:`InvalidArgumentTypeError` when ``invalid`` is
    InvalidArgumentError); anything else (a protobuf DecodeError, RecursionError, OSError, a tokenizer
    error...) becomes ``corrupt``.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.untrusted import parsing
        >>> try:
        ...     with parsing("file 'x.pb'"):
        ...         raise RecursionError("maximum recursion depth exceeded")
        ... except tf.errors.DataLossError as e:
        ...     print(e)
        file 'x.pb' is corrupt or truncated: RecursionError: maximum recursion depth exceeded
    """
    try:
        yield
    except OpError:
        raise
    except MemoryError:
        raise ResourceExhaustedError(f"{what}: out of memory while decoding it (its claimed sizes were within "
                                     f"{LIMIT_VAR}; lower it, or free memory)") from None
    except TypeError as exc:
        cls = InvalidArgumentTypeError if invalid is InvalidArgumentError else invalid
        raise cls(_named(what, exc)) from exc
    except ValueError as exc:
        raise invalid(_named(what, exc)) from exc
    except Exception as exc:  # noqa: BLE001 - the point: no other type may leave a parser
        raise corrupt(f"{what} is corrupt or truncated: {type(exc).__name__}: {exc}") from exc
