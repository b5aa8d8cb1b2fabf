"""A minimal PNG encoder (8-bit, no interlacing), so image summaries need no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np

# PNG colour type by channel count: grayscale, grayscale + alpha, RGB, RGBA.
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    # The CRC covers the chunk type and data, not the length (PNG spec, section 5.3).
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray, compression: int = 6) -> bytes:
    """Encode an ``[height, width, channels]`` uint8 array (1 to 4 channels) as PNG bytes.

    Example:
        >>> import numpy as np
        >>> encode_png(np.zeros([2, 3, 3], np.uint8))[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"encode_png: expected an image of shape [height, width, 1..4], got shape {list(image.shape)}")
    if image.dtype != np.uint8:
        raise TypeError(f"encode_png: expected uint8 pixels, got {image.dtype}")
    height, width, channels = image.shape
    if height == 0 or width == 0:
        raise ValueError(f"encode_png: PNG needs a height and width of at least 1, got shape {list(image.shape)}")
    # Every scanline starts with its filter type; 0 (none) keeps the encoder trivial and zlib does the rest.
    rows = np.zeros((height, 1 + width * channels), np.uint8)
    rows[:, 1:] = image.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), compression))
            + _chunk(b"IEND", b""))
