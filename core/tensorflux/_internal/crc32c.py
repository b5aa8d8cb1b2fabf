"""CRC-32C (Castagnoli), the checksum of TFRecord files, LevelDB tables and TensorFlow's tensor bundles, in numpy.

Small inputs go through a table, a byte at a time. Large ones are cut into many equal lanes whose CRCs
advance together, 8 bytes per step through 16-bit tables (so each numpy operation spans every lane), and
are then joined pairwise: the CRC register is linear over GF(2), so joining two lanes shifts the first
over the second's length with a precomputed 32x32 bit matrix.

TensorFlow stores CRCs *masked* (rotated and offset, so a CRC of data holding CRCs stays well mixed):
:func:`mask` and :func:`unmask`.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

_POLY = 0x82F63B78  # Castagnoli's polynomial, bit-reflected
_MASK_DELTA = 0xA282EAD8
_LANES = 1 << 14  # at most this many lanes
_LANE_BYTES = 256  # at least this many bytes per lane
_MIN_WIDE = 4096  # shorter inputs take the plain loop, which is faster there
_STEP = 1 << 12  # lane bytes transposed at once: keeps the working set in cache


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_T8 = _byte_table()
_T8_LIST = _T8.tolist()


@functools.lru_cache(maxsize=1)
def _word_tables() -> np.ndarray:
    """``T[k][v]``: the register after the 16-bit value ``v`` is fed in, followed by ``2 * k`` zero bytes."""
    v = np.arange(1 << 16, dtype=np.uint32)
    reg = v
    for _ in range(2):  # the two bytes of v
        reg = _T8[reg & 0xFF] ^ (reg >> 8)
    tables = [reg]
    for _ in range(3):  # each further table: two more zero bytes
        for _ in range(2):
            reg = _T8[reg & 0xFF] ^ (reg >> 8)
        tables.append(reg)
    return np.stack(tables)


def _loop(reg: int, data: bytes | memoryview) -> int:
    table = _T8_LIST
    for b in bytes(data):
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


# -- the register's shift over zero bytes, as a 32x32 bit matrix (column k: the image of bit k) ----------------
def _apply(matrix: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """``matrix`` applied to every uint32 of ``vec``."""
    bits = (vec[:, None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    return np.bitwise_xor.reduce(np.where(bits, matrix, np.uint32(0)), axis=1).astype(np.uint32)


@functools.lru_cache(maxsize=64)
def _shift_matrix(nbytes: int) -> np.ndarray:
    """The register's map over ``nbytes`` zero bytes (for a power-of-two ``nbytes``, or any, by squaring)."""
    if nbytes == 1:
        bits = np.uint32(1) << np.arange(32, dtype=np.uint32)
        return (_T8[bits & 0xFF] ^ (bits >> 8)).astype(np.uint32)
    half = _shift_matrix(nbytes // 2)
    out = _apply(half, half)
    if nbytes % 2:
        out = _apply(_shift_matrix(1), out)
    return out


@functools.lru_cache(maxsize=256)
def _shift_tables(nbytes: int) -> np.ndarray:
    """Four 256-entry tables, one per byte of the register, that shift it over ``nbytes`` zero bytes."""
    matrix = _shift_matrix(nbytes)
    b = np.arange(256, dtype=np.uint32)
    return np.stack([_apply(matrix, b << np.uint32(8 * k)) for k in range(4)])


def _shift(tables: np.ndarray, reg: np.ndarray) -> np.ndarray:
    return (tables[0][reg & 0xFF] ^ tables[1][(reg >> 8) & 0xFF] ^ tables[2][(reg >> 16) & 0xFF]
            ^ tables[3][reg >> 24])


def _lanes(reg: int, block: np.ndarray) -> int:
    """The register after ``block`` (uint8, a power of two rows of equal length, a multiple of 8) is fed in row order."""
    tables = _word_tables()
    t0, t1, t2, t3 = tables[3], tables[2], tables[1], tables[0]
    lanes, width = block.shape
    regs = np.zeros(lanes, dtype=np.uint32)
    regs[0] = reg
    halves = regs.view(np.uint16)  # the registers' low and high 16 bits, interleaved
    low = 0 if sys.byteorder == "little" else 1
    lo, hi, tmp = np.empty(lanes, np.uint16), np.empty(lanes, np.uint16), np.empty(lanes, np.uint32)
    for start in range(0, width, _STEP):
        # Column-major words of this stretch of every lane: each step below reads contiguous memory.
        words = np.ascontiguousarray(block[:, start:start + _STEP].view("<u2").T)
        for j in range(0, words.shape[0], 4):  # 8 bytes per lane: the first 4 meet the register
            np.bitwise_xor(words[j], halves[low::2], out=lo)
            np.bitwise_xor(words[j + 1], halves[1 - low::2], out=hi)
            np.take(t0, lo, out=regs)
            np.bitwise_xor(regs, np.take(t1, hi, out=tmp), out=regs)
            np.bitwise_xor(regs, np.take(t2, words[j + 2], out=tmp), out=regs)
            np.bitwise_xor(regs, np.take(t3, words[j + 3], out=tmp), out=regs)
    length = width
    while lanes > 1:  # join neighbours: shift the left one over the right one's length
        regs = _shift(_shift_tables(length), regs[0::2]) ^ regs[1::2]
        lanes //= 2
        length *= 2
    return int(regs[0])


def extend(crc: int, data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The CRC-32C of the bytes whose CRC is ``crc``, followed by ``data`` (``extend(0, d)`` is ``value(d)``).

    Example:
        >>> hex(extend(value(b"1234"), b"56789"))
        '0xe3069283'
    """
    view = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else data.reshape(-1).view(np.uint8)
    reg = (crc ^ 0xFFFFFFFF) & 0xFFFFFFFF
    n = len(view)
    if n >= _MIN_WIDE:
        arr = np.frombuffer(view, dtype=np.uint8) if not isinstance(view, np.ndarray) else view
        lanes = min(_LANES, 1 << ((n // _LANE_BYTES).bit_length() - 1))  # a power of two
        width = (n // lanes) // 8 * 8
        head = width * lanes
        reg = _lanes(reg, arr[:head].reshape(lanes, width))
        view = memoryview(arr[head:])
    return _loop(reg, view) ^ 0xFFFFFFFF


def value(data: bytes | bytearray | memoryview | np.ndarray) -> int:
    """The CRC-32C of ``data``.

    Example:
        >>> hex(value(b"123456789"))
        '0xe3069283'
    """
    return extend(0, data)


def mask(crc: int) -> int:
    """TensorFlow's masked form of a CRC, as stored in tables and bundle entries.

    Example:
        >>> unmask(mask(0x12345678)) == 0x12345678
        True
    """
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """The CRC a masked CRC stands for (the inverse of :func:`mask`).

    Example:
        >>> hex(unmask(mask(0xE3069283)))
        '0xe3069283'
    """
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
