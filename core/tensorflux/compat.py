"""``tf.compat``: ``tf.compat.v1`` is this module itself (graph mode is the only mode), plus text helpers.

Example:
    >>> import tensorflux as tf
    >>> tf.compat.v1.placeholder is tf.placeholder
    True
"""

from __future__ import annotations

import sys
from typing import Any

v1 = sys.modules[__name__.rpartition(".")[0]]


def as_bytes(bytes_or_text: Any, encoding: str = "utf-8") -> bytes:
    """``str`` encoded to bytes; bytes pass through.

    Example:
        >>> import tensorflux as tf
        >>> tf.compat.as_bytes("hi")
        b'hi'
    """
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    raise TypeError(f"as_bytes: expected bytes or str, got {type(bytes_or_text).__name__}: {bytes_or_text!r}")


def as_text(bytes_or_text: Any, encoding: str = "utf-8") -> str:
    """Bytes decoded to ``str``; str passes through.

    Example:
        >>> import tensorflux as tf
        >>> tf.compat.as_text(b"hi")
        'hi'
    """
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text).decode(encoding)
    raise TypeError(f"as_text: expected bytes or str, got {type(bytes_or_text).__name__}: {bytes_or_text!r}")


as_str = as_text
