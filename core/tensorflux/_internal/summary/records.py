"""TFRecord framing with CRC32C (Castagnoli), the container of TensorBoard event files.

Each record is: uint64 length, masked CRC32C of those 8 bytes, the data, masked CRC32C of the data,
all little-endian.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from .. import crc32c as _crc32c


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum of ``data`` (core's one implementation, ``_internal/crc32c.py``).

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    return _crc32c.value(data)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotated right by 15 bits plus a constant, so CRCs of CRCs stay well mixed.

    Example:
        >>> masked_crc32c(b"") == ((0 >> 15) | (0 << 17)) + 0xA282EAD8
        True
    """
    return _crc32c.mask(_crc32c.value(data))


def encode_record(data: bytes) -> bytes:
    """One TFRecord holding ``data``.

    Example:
        >>> len(encode_record(b"abc"))
        19
    """
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def write_record(stream: BinaryIO, data: bytes) -> None:
    """Append one TFRecord holding ``data`` to ``stream``.

    Example:
        >>> import io
        >>> buf = io.BytesIO()
        >>> write_record(buf, b"event")
        >>> buf.getvalue()[:8]
        b'\\x05\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    stream.write(encode_record(data))
