"""TFRecord framing with CRC32C (Castagnoli), the container of TensorBoard event files.

Each record is: uint64 length, masked CRC32C of those 8 bytes, the data, masked CRC32C of the data,
all little-endian.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

_POLY = 0x82F63B78  # CRC-32C (Castagnoli), bit-reversed


def _table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc32c(data: bytes) -> int:
    """The CRC-32C (Castagnoli) checksum of ``data``.

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _TABLE  # a local: this loop runs once per byte written
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotated right by 15 bits plus a constant, so CRCs of CRCs stay well mixed.

    Example:
        >>> masked_crc32c(b"") == ((0 >> 15) | (0 << 17)) + 0xA282EAD8
        True
    """
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


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
