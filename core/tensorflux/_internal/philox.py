"""Philox-4x32-10, TF's counter-based generator, and the kernels of its stateless random ops (``ops/
stateless_random_ops.py``), so that initializers in graphs TF wrote draw TF's exact values.

One block maps a 128-bit counter and a 64-bit key to four 32-bit words; successive blocks take successive
counters, and a float is built from a word's low mantissa bits (TF's ``random_distributions.h``). Integers take one
word (32-bit types) or two, the first one low (64-bit types): all their bits (``StatelessRandomUniformFullIntV2``),
or ``minval`` plus the draw modulo ``maxval - minval`` (``StatelessRandomUniformIntV2``). Normals are TF's
Box-Muller pairs, with the C library's ``log``/``sin``/``cos`` results TF's kernels get; a truncated normal's every
group of values draws from its own stretch of blocks and keeps the draws within two standard deviations.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from typing import Any

import numpy as np

from .errors import InvalidArgumentError
from .untrusted import check_expansion

_M32 = np.uint64(0xFFFFFFFF)
_MUL_A, _MUL_B = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_KEY_A, _KEY_B = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
_PHILOX, _AUTO_SELECT = 1, 3


def philox_blocks(key: tuple, counter: tuple, n: int, steps: np.ndarray | None = None) -> np.ndarray:
    """``n`` Philox-4x32-10 blocks, ``[n, 4]`` uint32, from ``counter`` (four words) onward under ``key`` (two);
    with ``steps``, the blocks at those offsets from ``counter`` instead (``n`` is then ignored).

    Example (Random123's published test vector for a zero key and counter):
        >>> [hex(w) for w in philox_blocks((0, 0), (0, 0, 0, 0), 1)[0]]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    steps = np.arange(n, dtype=np.uint64) if steps is None else np.asarray(steps, np.uint64).reshape(-1)
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


def _drawing(shape: Any, key: Any, counter: Any, alg: Any, ctx: Any) -> tuple:
    """``(dims, n, key words, counter words)`` of a stateless draw, checked."""
    if int(alg) not in (_PHILOX, _AUTO_SELECT):
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): algorithm {int(alg)} is not supported; "
                                   f"Tensorflux draws with Philox ({_PHILOX}) or auto-select ({_AUTO_SELECT})")
    dims = [int(d) for d in np.asarray(shape).reshape(-1)]
    if any(d < 0 for d in dims):
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): shape {dims} has a negative dimension")
    n = int(np.prod(dims, dtype=np.int64))
    check_expansion(8 * n, 0, f"op '{ctx.op_name}' ({ctx.op_type}): {n} values")
    k, c = int(np.asarray(key).reshape(-1)[0]), [int(v) for v in np.asarray(counter).reshape(-1)[:2]]
    return dims, n, (k & 0xFFFFFFFF, k >> 32), (c[0] & 0xFFFFFFFF, c[0] >> 32, c[1] & 0xFFFFFFFF, c[1] >> 32)


def _uniform(shape: Any, key: Any, counter: Any, alg: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    dims, n, key_words, counter_words = _drawing(shape, key, counter, alg, ctx)
    words_per_value = 2 if dtype.np_dtype == np.float64 else 1
    words = philox_blocks(key_words, counter_words, -(-n * words_per_value // 4)).reshape(-1)
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


def _words64(words: np.ndarray, n: int) -> np.ndarray:
    """``n`` 64-bit values from pairs of words, the first one low (TF's integer draws; its float64 ones differ)."""
    pairs = words[: 2 * n].astype(np.uint64).reshape(-1, 2)
    return pairs[:, 0] | (pairs[:, 1] << np.uint64(32))


def _integer_bits(shape: Any, key: Any, counter: Any, alg: Any, dtype: Any, ctx: Any) -> tuple:
    """``(dims, unsigned draws)``: one word per value for 32-bit dtypes, two for 64-bit ones."""
    dims, n, key_words, counter_words = _drawing(shape, key, counter, alg, ctx)
    wide = dtype.np_dtype.itemsize == 8
    words = philox_blocks(key_words, counter_words, -(-n * (2 if wide else 1) // 4)).reshape(-1)
    return dims, (_words64(words, n) if wide else words[:n])


def _uniform_full_int(shape: Any, key: Any, counter: Any, alg: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    dims, bits = _integer_bits(shape, key, counter, alg, dtype, ctx)
    return bits.view(dtype.np_dtype).reshape(dims)


def _uniform_int(shape: Any, key: Any, counter: Any, alg: Any, minval: Any, maxval: Any, *, dtype: Any,
                 ctx: Any) -> np.ndarray:
    for name, bound in (("minval", minval), ("maxval", maxval)):
        if np.ndim(bound) != 0:
            raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): {name} must be 0-D, got shape "
                                       f"{list(np.shape(bound))}")
    lo, hi = int(minval), int(maxval)
    if lo >= hi:
        raise InvalidArgumentError(f"op '{ctx.op_name}' ({ctx.op_type}): Need minval < maxval, got {lo} >= {hi}")
    dims, bits = _integer_bits(shape, key, counter, alg, dtype, ctx)
    unsigned = bits.dtype
    # lo + bits % (hi - lo), with the addition wrapping in the unsigned type as TF's does.
    mask = (1 << (8 * unsigned.itemsize)) - 1
    offset = (bits % unsigned.type(hi - lo)).astype(unsigned)
    with np.errstate(over="ignore"):
        values = offset + unsigned.type(lo & mask)
    return values.view(dtype.np_dtype).reshape(dims)


def _unit(words: np.ndarray, wide: bool) -> np.ndarray:
    # Uniform [0, 1) from the low mantissa bits: float32 from one word, float64 from two (the first one high).
    if not wide:
        return ((words & np.uint32(0x7FFFFF)) | np.uint32(127 << 23)).view(np.float32) - np.float32(1.0)
    pairs = words.astype(np.uint64).reshape(-1, 2)
    bits = ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]) & np.uint64((1 << 52) - 1) | np.uint64(1023 << 52)
    return bits.view(np.float64) - 1.0


def _box_muller(words: np.ndarray, wide: bool) -> np.ndarray:
    """Standard normals, two from each pair of uniforms (four words for float64): ``r sin(t), r cos(t)`` with
    ``r = sqrt(-2 log(max(u1, 1e-7)))`` and ``t = 2 pi u2``, in float32 or float64 as TF computes them."""
    u = _unit(words, wide)
    ftype = u.dtype.type
    u1, u2 = np.maximum(u[0::2], ftype(1e-7)), u[1::2]
    angle = (2.0 * np.pi * u2.astype(np.float64)).astype(ftype)  # a double product, rounded, as in TF
    radius = np.sqrt(ftype(-2.0) * _libm("log", u1))
    return np.stack([_libm("sin", angle) * radius, _libm("cos", angle) * radius], axis=1).reshape(-1)


def _normal(shape: Any, key: Any, counter: Any, alg: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    dims, n, key_words, counter_words = _drawing(shape, key, counter, alg, ctx)
    wide = dtype.np_dtype == np.float64
    # A block of four words gives four float32 normals (half and bfloat16 are float32 ones rounded) or two float64.
    values = _box_muller(philox_blocks(key_words, counter_words, -(-n // (2 if wide else 4))).reshape(-1), wide)
    return values[:n].astype(dtype.np_dtype).reshape(dims)


_SKIP_PER_VALUE = 256  # TF reserves 256 words per value of a truncated draw: group g starts g * 256 * size words on


def _truncated_normal(shape: Any, key: Any, counter: Any, alg: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    dims, n, key_words, counter_words = _drawing(shape, key, counter, alg, ctx)
    wide = dtype.np_dtype == np.float64
    size = 2 if wide else 4  # values per group; each group draws from its own stretch of blocks and keeps |z| < 2
    groups = -(-n // size)
    out = np.empty((groups, size), np.float64 if wide else np.float32)
    todo, blocks = np.arange(groups), 2
    while todo.size:
        steps = todo[:, None] * (_SKIP_PER_VALUE * size // 4) + np.arange(blocks)
        z = _box_muller(philox_blocks(key_words, counter_words, 0, steps).reshape(-1), wide).reshape(todo.size, -1)
        kept = np.abs(z) < 2.0
        done = kept.sum(axis=1) >= size
        rows, cols = np.nonzero(kept[done])
        first = np.concatenate([[0], np.cumsum(kept[done].sum(axis=1))[:-1]])
        rank = np.arange(rows.size) - first[rows]
        take = rank < size
        out[todo[done][rows[take]], rank[take]] = z[done][rows[take], cols[take]]
        todo, blocks = todo[~done], blocks * 2  # a rare group with too few kept draws again from further on
    return out.reshape(-1)[:n].astype(dtype.np_dtype).reshape(dims)


_LIBM: list = []
# How far from the rounded value (in ulps) the precise one may lie before the C library's own result is asked for:
# glibc's sinf and cosf round wrongly only within 0.06 ulp of a midpoint (0.44 is the least offset seen wrong in 10^6
# draws), but its logf is off by up to 0.8 ulp, so every float32 log comes from it.
_BAND = {"sin": 0.35, "cos": 0.35, "log": 0.0}


def _libm(name: str, x: np.ndarray) -> np.ndarray:
    """``name`` (log, sin, cos) of ``x`` exactly as the C library's ``logf``/``log``... gives it, which TF's
    kernels call: computed in higher precision and rounded, then the few values near a rounding midpoint (where a
    C library within one ulp may round either way) from the C library itself."""
    fn = getattr(np, name)
    if x.dtype == np.float32:
        precise = fn(x.astype(np.float64))
    else:
        precise = fn(x.astype(np.longdouble))  # 80-bit on x86: the midpoint test below needs more than 53 bits
    out = precise.astype(x.dtype)
    below = np.spacing(np.nextafter(np.abs(out), x.dtype.type(0)))
    risky = np.flatnonzero(np.abs(precise - out) > _BAND[name] * below.astype(precise.dtype))
    if x.dtype == np.float64 and np.finfo(np.longdouble).nmant <= 52:
        risky = np.arange(x.size)  # no wider type: every value from the C library
    if risky.size:
        c_fn = _c_function(name, x.dtype)
        if c_fn is not None:
            out.reshape(-1)[risky] = [c_fn(float(v)) for v in x.reshape(-1)[risky]]
    return out


def _c_function(name: str, dtype: np.dtype) -> Any:
    if dtype == np.float64:
        return getattr(math, name)  # Python's math calls the C library's double functions directly
    if not _LIBM:
        path = ctypes.util.find_library("m")
        lib = ctypes.CDLL(path) if path else None
        _LIBM.append(lib)
    lib = _LIBM[0]
    if lib is None:
        return None  # no C library to ask: the correctly rounded value, one ulp from TF's at most
    fn = getattr(lib, name + "f")
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def philox_kernels() -> dict:
    """``{op_name: host kernel}`` for TF's stateless random ops.

    Example:
        >>> sorted(philox_kernels())[:3]
        ['StatelessRandomGetKeyCounter', 'StatelessRandomNormalV2', 'StatelessRandomUniformFullIntV2']
    """
    return {"StatelessRandomGetKeyCounter": _key_counter, "StatelessRandomUniformV2": _uniform,
            "StatelessRandomNormalV2": _normal, "StatelessTruncatedNormalV2": _truncated_normal,
            "StatelessRandomUniformIntV2": _uniform_int, "StatelessRandomUniformFullIntV2": _uniform_full_int}
