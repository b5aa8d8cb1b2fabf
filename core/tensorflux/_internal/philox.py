"""Philox-4x32-10, TF's counter-based generator, and the kernels of its stateless random ops (``ops/
stateless_random_ops.py``), so that initializers in graphs TF wrote draw TF's exact values.

One block maps a 128-bit counter and a 64-bit key to four 32-bit words; successive blocks take successive
counters, and a float is built from a word's low mantissa bits (TF's ``random_distributions.h``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .untrusted import check_expansion

_M32 = np.uint64(0xFFFFFFFF)
_MUL_A, _MUL_B = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_KEY_A, _KEY_B = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_PHILOX, _AUTO_SELECT = 1, 3


def philox_blocks(key: tuple, counter: tuple, n: int) -> np.ndarray:
    """``n`` Philox-4x32-10 blocks, ``[n, 4]`` uint32, from ``counter`` (four words) onward under ``key`` (two).

    Example (Random123's published test vector for a zero key and counter):
        >>> [hex(w) for w in philox_blocks((0, 0), (0, 0, 0, 0), 1)[0]]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    steps = np.arange(n, dtype=np.uint64)
    low = np.uint64(counter[0]) | (np.uint64(counter[1]) << np.uint64(32))
    high = np.uint64(counter[2]) | (np.uint64(counter[3]) << np.uint64(32))
    with np.errstate(over="ignore"):
        lows = low + steps  # a 128-bit counter: a wrapped low half carries into the high half
        highs = high + (lows < low).astype(np.uint64)
    c = [lows & _M32, lows >> np.uint64(32), highs & _M32, highs >> np.uint64(32)]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    for round_ in range(10):
        p0, p1 = _MUL_A * c[0], _MUL_B * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & _M32, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & _M32]
        if round_ < 9:
            k0, k1 = (k0 + _KEY_A) & _M32, (k1 + _KEY_B) & _M32
    return np.stack(c, axis=1).astype(np.uint32)


def _key_counter(seed: Any, *, ctx: Any) -> tuple:
    seed = np.asarray(seed).reshape(-1)
    if seed.size != 2:
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): the seed must have 2 elements, got "
                                   f"{seed.size}")
    s0, s1 = (int(np.int64(v).astype(np.uint64)) for v in seed)
    mix = philox_blocks((0x3EC8F720, 0x02461E29), (s0 & 0xFFFFFFFF, s0 >> 32, s1 & 0xFFFFFFFF, s1 >> 32), 1)[0]
    mix = [int(w) for w in mix]
    return (np.array([mix[0] | mix[1] << 32], np.uint64), np.array([0, mix[2] | mix[3] << 32], np.uint64))


def _uniform(shape: Any, key: Any, counter: Any, alg: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    if int(alg) not in (_PHILOX, _AUTO_SELECT):
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): algorithm {int(alg)} is not supported; "
                                   f"Tensorflux draws with Philox ({_PHILOX}) or auto-select ({_AUTO_SELECT})")
    dims = [int(d) for d in np.asarray(shape).reshape(-1)]
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): shape {dims} has a negative dimension")
    n = int(np.prod(dims, dtype=np.int64))
    check_expansion(8 * n, 0, f"op '{ctx.op_name}' ({ctx.op_type}): {n} values")
    k, c = int(np.asarray(key).reshape(-1)[0]), [int(v) for v in np.asarray(counter).reshape(-1)[:2]]
    words_per_value = 2 if dtype.np_dtype == np.float64 else 1
    blocks = philox_blocks((k & 0xFFFFFFFF, k >> 32), (c[0] & 0xFFFFFFFF, c[0] >> 32, c[1] & 0xFFFFFFFF, c[1] >> 32),
                           -(-n * words_per_value // 4))
    words = blocks.reshape(-1)
    if words_per_value == 2:  # 52 mantissa bits from two words, the first one high
        pairs = words[: 2 * n].astype(np.uint64).reshape(-1, 2)
        bits = ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]) & np.uint64((1 << 52) - 1) | np.uint64(1023 << 52)
        return (bits.view(np.float64) - 1.0).reshape(dims)
    words = words[:n]
    if dtype.np_dtype == np.float32:
        bits = (words & np.uint32(0x7FFFFF)) | np.uint32(127 << 23)
        return (bits.view(np.float32) - np.float32(1.0)).reshape(dims)
    if dtype.name == "float16":
        bits = ((words & np.uint32(0x3FF)) | np.uint32(15 << 10)).astype(np.uint16)
        return (bits.view(np.float16) - np.float16(1.0)).reshape(dims)
    bits = ((words & np.uint32(0x7F)) | np.uint32(127 << 7)).astype(np.uint16)  # bfloat16
    return (bits.view(dtype.np_dtype) - dtype.np_dtype.type(1.0)).reshape(dims)


def philox_kernels() -> dict:
    """``{op_name: host kernel}`` for TF's stateless random ops.

    Example:
        >>> sorted(philox_kernels())
        ['StatelessRandomGetKeyCounter', 'StatelessRandomUniformV2']
    """
    return {"StatelessRandomGetKeyCounter": _key_counter, "StatelessRandomUniformV2": _uniform}
