"""LevelDB's immutable sorted table (SSTable) layout, as TensorFlow's tensor bundles use it for ``<prefix>.index``.

A table is data blocks of sorted key/value entries, an empty meta-index block, an index block (one entry
per data block: a key at least the block's last key and below the next block's first, and the block's
``BlockHandle``), then a 48-byte footer (the two blocks' handles, zero padded, and a magic number).

In a block each entry stores how many leading bytes its key shares with the previous key, then the rest;
every ``restart_interval``-th entry shares nothing (a restart point), and the block ends with those
points' offsets and their count (little-endian uint32s). Every block is followed by a 5-byte trailer:
its compression type (0: none; TensorFlow writes bundles uncompressed) and the masked CRC-32C of the
block and that type byte.

Reading checks every size against the bytes present and every checksum, and raises DataLossError
naming the file; nothing is allocated beyond the file's own size.
"""

from __future__ import annotations

import struct

from ... import crc32c
from ...errors import DataLossError

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
TRAILER_SIZE = 5
_HANDLES_SIZE = 40  # two BlockHandles of at most 20 bytes each, zero padded
_NO_COMPRESSION = 0


# -- varints ---------------------------------------------------------------------------------------------
def put_varint(value: int) -> bytes:
    """``value`` (>= 0) as a little-endian base-128 varint.

    Example:
        >>> put_varint(300)
        b'\\xac\\x02'
    """
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def get_varint(data: bytes | memoryview, pos: int, end: int, bits: int, what: str) -> tuple[int, int]:
    """The varint of at most ``bits`` bits at ``data[pos:end]``, and the position after it; DataLossError otherwise.

    Example:
        >>> get_varint(b"\\xac\\x02", 0, 2, 32, "x")
        (300, 2)
    """
    result = shift = 0
    while shift < bits:
        if pos >= end:
            raise DataLossError(f"{what}: a varint runs past the end of its block")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> bits:
                break
            return result, pos
        shift += 7
    raise DataLossError(f"{what}: a varint is longer than {bits} bits")


# -- writing ---------------------------------------------------------------------------------------------
def _block(entries: list[tuple[bytes, bytes]], restart_interval: int) -> bytes:
    out = bytearray()
    restarts = []
    previous = b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval:
            limit = min(len(previous), len(key))
            while shared < limit and previous[shared] == key[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += put_varint(shared) + put_varint(len(key) - shared) + put_varint(len(value))
        out += key[shared:] + value
        previous = key
    restarts = restarts or [0]
    out += struct.pack(f"<{len(restarts) + 1}I", *restarts, len(restarts))
    return bytes(out)


def _with_trailer(block: bytes) -> bytes:
    kind = bytes([_NO_COMPRESSION])
    return block + kind + struct.pack("<I", crc32c.mask(crc32c.value(block + kind)))


def build_table(items: list[tuple[bytes, bytes]], block_size: int = 256 * 1024, restart_interval: int = 16) -> bytes:
    """The bytes of a table holding ``items`` (keys strictly increasing, as bytes), uncompressed.

    Example:
        >>> table = build_table([(b"a", b"1"), (b"b", b"22")])
        >>> read_table(table, "example")
        [(b'a', b'1'), (b'b', b'22')]
    """
    for (a, _), (b, _) in zip(items, items[1:]):
        if not a < b:
            raise ValueError(f"build_table: keys must be strictly increasing, got {a!r} before {b!r}")
    out = bytearray()
    index = []
    pending: list[tuple[bytes, bytes]] = []
    pending_size = 0
    for key, value in items:
        pending.append((key, value))
        pending_size += len(key) + len(value) + 8
        if pending_size >= block_size:
            index.append(_flush(out, pending, restart_interval))
            pending, pending_size = [], 0
    if pending:
        index.append(_flush(out, pending, restart_interval))
    meta_handle = _handle(len(out), len(_block([], 1)))
    out += _with_trailer(_block([], 1))
    index_block = _block(index, 1)
    index_handle = _handle(len(out), len(index_block))
    out += _with_trailer(index_block)
    handles = meta_handle + index_handle
    out += handles + bytes(_HANDLES_SIZE - len(handles)) + struct.pack("<Q", MAGIC)
    return bytes(out)


def _handle(offset: int, size: int) -> bytes:
    return put_varint(offset) + put_varint(size)


def _flush(out: bytearray, entries: list[tuple[bytes, bytes]], restart_interval: int) -> tuple[bytes, bytes]:
    """Append one data block; return its index entry (its last key, as a valid separator, and its handle)."""
    block = _block(entries, restart_interval)
    handle = _handle(len(out), len(block))
    out += _with_trailer(block)
    return entries[-1][0], handle


# -- reading ---------------------------------------------------------------------------------------------
def has_magic(tail: bytes) -> bool:
    """Whether ``tail`` (a file's last 8 bytes) is a table's magic number.

    Example:
        >>> has_magic(build_table([])[-8:])
        True
    """
    return len(tail) == 8 and struct.unpack("<Q", tail)[0] == MAGIC


def _read_handle(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    offset, pos = get_varint(data, pos, end, 64, what)
    size, pos = get_varint(data, pos, end, 64, what)
    return offset, size, pos


def _read_block(data: bytes, offset: int, size: int, limit: int, what: str) -> memoryview:
    if offset + size + TRAILER_SIZE > limit:
        raise DataLossError(f"{what}: a block claims bytes {offset}..{offset + size + TRAILER_SIZE}, but the table's "
                            f"blocks end at byte {limit}: the file is truncated or corrupt")
    view = memoryview(data)
    body = view[offset:offset + size + 1]
    stored = struct.unpack_from("<I", data, offset + size + 1)[0]
    if crc32c.unmask(stored) != crc32c.value(body):
        raise DataLossError(f"{what}: block checksum mismatch at byte {offset}: the file is corrupt")
    if data[offset + size] != _NO_COMPRESSION:
        raise DataLossError(f"{what}: a block at byte {offset} is compressed (type {data[offset + size]}); tensor "
                            "bundle indexes are written uncompressed, and compressed tables are not supported")
    return view[offset:offset + size]


def _block_entries(block: memoryview, what: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise DataLossError(f"{what}: a block of {len(block)} bytes is too short for its restart count")
    count = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * count
    if count < 1 or end < 0:
        raise DataLossError(f"{what}: a block of {len(block)} bytes claims {count} restart points")
    out = []
    pos, key = 0, b""
    while pos < end:
        shared, pos = get_varint(block, pos, end, 32, what)
        fresh, pos = get_varint(block, pos, end, 32, what)
        size, pos = get_varint(block, pos, end, 32, what)
        if shared > len(key) or pos + fresh + size > end:
            raise DataLossError(f"{what}: a block entry claims more bytes than its block holds")
        key = key[:shared] + bytes(block[pos:pos + fresh])
        pos += fresh
        out.append((key, bytes(block[pos:pos + size])))
        pos += size
    return out


def read_table(data: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of the table ``data``, in key order, checksums verified; ``what`` names the file.

    Example:
        >>> read_table(build_table([(b"k", b"v")]), "example")
        [(b'k', b'v')]
    """
    if len(data) < FOOTER_SIZE or not has_magic(data[-8:]):
        raise DataLossError(f"{what}: not a LevelDB table (it has {len(data)} bytes and no table magic number at its "
                            "end): the file is truncated or corrupt")
    footer = len(data) - FOOTER_SIZE
    _, _, pos = _read_handle(data, footer, footer + _HANDLES_SIZE, what)  # the meta-index: nothing in it is needed
    index_offset, index_size, _ = _read_handle(data, pos, footer + _HANDLES_SIZE, what)
    index = _block_entries(_read_block(data, index_offset, index_size, footer, what), what)
    out: list[tuple[bytes, bytes]] = []
    for _, handle in index:
        offset, size, _ = _read_handle(handle, 0, len(handle), what)
        for key, value in _block_entries(_read_block(data, offset, size, footer, what), what):
            if out and not out[-1][0] < key:
                raise DataLossError(f"{what}: keys are out of order ({out[-1][0]!r} before {key!r}): the file is corrupt")
            out.append((key, value))
    return out
