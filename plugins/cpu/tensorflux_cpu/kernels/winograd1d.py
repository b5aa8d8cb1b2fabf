"""Winograd F(m, r) along one axis: float32 1xr and rx1 convolutions (Inception's 1x7, 7x1, 1x3 and 3x1).

A filter that spans one axis is a 1-D convolution along it for every row (1xr) or column (rx1) of the
image. Winograd's F(m, r) computes ``m`` neighbouring outputs from a tile of ``a = m + r - 1`` inputs
as ``A^T [(G g) * (B^T d)]``: ``a`` products per ``m`` outputs instead of ``m * r``. Summed over input
channels the pointwise products become ``a`` independent matrix products ``M[f] = V[f] @ U[f]``
([tiles, C] x [C, O]), which BLAS computes, spread over the plugin's threads. F(2, 7) needs 8 products
per 2 outputs where the direct sum needs 14 (1.75 times fewer), F(4, 3) 6 per 4 instead of 12.

The matrices come from the interpolation points 0, 1, -1, 2, -2, 1/2, -1/2 (as many as needed) and
infinity (``matrices``, in float64). Against float64, on Inception v3's 17x17 1x7 layers, max |error| /
max |output| is about 2e-6 (gathered patches and BLAS: 6e-7).

The transforms are compiled loops over tile rows (one image row or column, cut into tiles along the
axis), vectorized over the channels: ``_input`` reads each tile's inputs in place (zeros past the
image's edges, no padded copy) into V; ``_output`` combines the products of each tile into its outputs
and applies the epilogue (bias, residual input, activation clamp) as it stores them. Both are spread
over the plugin's threads by tile rows, the products by frequency. ``U = G g`` is kept for filters the
graph promises constant (``conv_gemm.constant_transform``), packed into panels (``packed_gemm``): then each
task takes its tile rows through the input transform, the products and the output transform in one go.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import blas
from ..jit import compiled
from . import packed_gemm
from .conv_direct import _max, _u, wide_vectors
from .conv_gemm import Epilogue, _min, constant_transform

_POINTS = (0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5)
# Outputs per tile, by filter length: 8-input tiles for 5 and 7 taps, 6-input tiles (4 outputs) for 3.
TILE = {3: 4, 5: 4, 7: 2}
# Fewer input channels than this, and the transforms cost more than the products save.
MIN_CHANNELS = 16
# Tile rows per task, at least, where a constant filter's convolution is split by rows: fewer, and the tasks split
# the output channels instead (each task streams all of U past its rows).
ROWS_PER_TASK = 32


@functools.lru_cache(maxsize=None)
def matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T [m, a], G [a, r], B^T [a, a]) of F(m, r) (a = m + r - 1), in float64.

    Example:
        >>> at, g, bt = matrices(2, 3)
        >>> d, f = np.arange(4.0), np.array([1.0, 2.0, 3.0])
        >>> (at @ ((g @ f) * (bt @ d))).round(6).tolist()  # the correlation of d with f
        [8.0, 14.0]
    """
    a = m + r - 1
    points = _POINTS[:a - 1]
    at, g, bt = np.zeros((m, a)), np.zeros((a, r)), np.zeros((a, a))
    for j, p in enumerate(points):
        others = [q for q in points if q != p]
        at[:, j] = p ** np.arange(m)
        g[j] = p ** np.arange(r) / np.prod([p - q for q in others])
        bt[j, :a - 1] = np.poly(others)[::-1]
    at[m - 1, a - 1] = g[a - 1, r - 1] = 1.0
    bt[a - 1] = np.poly(points)[::-1]
    for x in (at, g, bt):
        x.setflags(write=False)  # shared by every call (cached)
    return at, g, bt


@functools.lru_cache(maxsize=None)
def _matrices32(m: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    at, _, bt = matrices(m, r)
    return np.ascontiguousarray(at, np.float32), np.ascontiguousarray(bt, np.float32)


def _axis(geo):
    """(axis of the image the filter spans: 1 for rx1, 2 for 1xr; filter length), or (None, 0) for other filters."""
    kh, kw = geo.f_shape[:2]
    if kh == 1 and kw in TILE and not (geo.pt or geo.pb):
        return 2, kw
    if kw == 1 and kh in TILE and not (geo.pl or geo.pr):
        return 1, kh
    return None, 0


def applies(geo, dtype) -> bool:
    """Whether the NHWC convolution ``geo`` (a ``WindowGeometry``) in compute dtype ``dtype`` runs here: float32,
    a 1xr or rx1 filter (r = 3, 5 or 7) with no padding across its axis, stride and dilation 1, at least
    ``MIN_CHANNELS`` input channels and at least two tiles of outputs along the axis."""
    axis, r = _axis(geo)
    if axis is None or np.dtype(dtype) != np.float32:
        return False
    length = geo.ow if axis == 2 else geo.oh
    return (geo.sh == geo.sw == geo.dh == geo.dw == 1 and geo.in_shape[3] >= MIN_CHANNELS and geo.f_shape[3] > 0
            and geo.in_shape[0] > 0 and length >= 2 * TILE[r] and geo.oh * geo.ow > 0)


def _filter_transform(f, r, m):
    """U = G g per (input, output) channel pair: [a, C, O] float32, computed in float64."""
    _, g, _ = matrices(m, r)
    taps = np.ascontiguousarray(f, np.float64).reshape(r, -1)
    return (g @ taps).astype(np.float32).reshape(g.shape[0], f.shape[2], f.shape[3])


@compiled(fastmath={"contract"})
def _input(x, v, q0, q1, axis, m, tiles, lead, bt, tmp):
    """Tile rows ``q0:q1`` of V (flat [a, rows, C]): ``V[j, q] = sum over s of B^T[j, s] * d_q[s]``, where ``d_q[s]``
    is input ``t * m + s - lead`` along the axis of tile row ``q`` (zero outside the image). ``tmp`` holds a*C."""
    wide_vectors()
    n_, h, w, c = x.shape
    a = bt.shape[0]
    rows = v.shape[0] // (a * c)
    x1 = x.reshape(-1)
    for q in range(q0, q1):
        if axis == 2:  # q = (image, row, tile): along W
            t = q % tiles
            b = q // tiles
            base, step, size = b * w * c, c, w
        else:  # q = (image, tile, column): along H
            col = q % w
            t = (q // w) % tiles
            b = q // (w * tiles)
            base, step, size = (b * h * w + col) * c, w * c, h
        for k in range(a * c):
            tmp[_u(k)] = 0.0
        for s in range(a):
            pos = t * m + s - lead
            if pos < 0 or pos >= size:
                continue
            src = base + pos * step
            for j in range(a):
                coef = bt[j, s]
                if coef == 0.0:
                    continue
                for k in range(c):
                    tmp[_u(j * c + k)] += coef * x1[_u(src + k)]
        for j in range(a):
            dst = (j * rows + q) * c
            for k in range(c):
                v[_u(dst + k)] = tmp[_u(j * c + k)]


@compiled(fastmath={"contract"})
def _output(prod, out, q0, q1, k0, k1, axis, m, tiles, at, bias, side, lo, hi, tmp):
    """Tile rows ``q0:q1``, channels ``k0:k1`` of the output: ``y_i = sum over j of A^T[i, j] * M[j, q]`` for the
    ``m`` outputs of each tile inside the image, then ``min(max(y + bias + side, lo), hi)`` (no side input when it
    is empty). ``tmp`` holds O floats."""
    wide_vectors()
    _, oh, ow, o = out.shape
    a = at.shape[1]
    rows = prod.shape[0] // (a * o)
    o1 = out.reshape(-1)
    s1 = side.reshape(-1)
    has_side = s1.shape[0] > 0
    for q in range(q0, q1):
        if axis == 2:
            t = q % tiles
            b = q // tiles
            base, step, size = b * ow * o, o, ow
        else:
            col = q % ow
            t = (q // ow) % tiles
            b = q // (ow * tiles)
            base, step, size = (b * oh * ow + col) * o, ow * o, oh
        for i in range(m):
            pos = t * m + i
            if pos >= size:
                break
            for k in range(k0, k1):
                tmp[_u(k)] = bias[_u(k)]
            for j in range(a):
                coef = at[i, j]
                if coef == 0.0:
                    continue
                src = (j * rows + q) * o
                for k in range(k0, k1):
                    tmp[_u(k)] += coef * prod[_u(src + k)]
            dst = base + pos * step
            if has_side:
                for k in range(k0, k1):
                    o1[_u(dst + k)] = _min(_max(tmp[_u(k)] + s1[_u(dst + k)], lo), hi)
            else:
                for k in range(k0, k1):
                    o1[_u(dst + k)] = _min(_max(tmp[_u(k)], lo), hi)


def forward(xn, f, geo, epilogue: Epilogue, constant: bool = False):
    """The NHWC float32 convolution ``geo`` of ``xn`` with the 1xr or rx1 filter ``f``, finished by ``epilogue``
    (``geo`` must satisfy ``applies``; ``constant``: see ``conv_gemm.constant_transform``)."""
    axis, r = _axis(geo)
    m = TILE[r]
    a = m + r - 1
    n, h, w, c = xn.shape
    o = f.shape[3]
    length, lead = (geo.ow, geo.pl) if axis == 2 else (geo.oh, geo.pt)
    tiles = -(-length // m)
    rows = n * tiles * (geo.oh if axis == 2 else geo.ow)
    at, bt = _matrices32(m, r)
    xc = np.ascontiguousarray(xn, np.float32)
    out = np.empty((n, geo.oh, geo.ow, o), np.float32)
    v = np.empty(a * rows * c, np.float32)
    prod = np.empty((a, rows, o), np.float32)
    bias, side = epilogue.bias_or_zeros(o), epilogue.side_rows()
    v3 = v.reshape(a, rows, c)
    if constant:
        # Only the panels are kept: U itself would double the memory (50 MiB for Inception v3 at batch 1).
        up = constant_transform(f, ("winograd1d-panels", m),
                                lambda: [packed_gemm.pack(ui) for ui in _filter_transform(f, r, m)], True)
        _constant_forward(xc, v3, up, prod, out, axis, m, tiles, lead, at, bt, bias, side, epilogue)
        return out
    u = constant_transform(f, ("winograd1d", m), lambda: _filter_transform(f, r, m), constant)
    chunks = blas.chunk_bounds(rows, blas.n_chunks(2.0 * rows * a * c * o, per_thread=1))
    blas.parallel_chunks(lambda i: _input(xc, v, chunks[i][0], chunks[i][1], axis, m, tiles, lead, bt,
                                          np.empty(a * c, np.float32)), len(chunks))
    blas.parallel_chunks(lambda i: np.matmul(v3[i], u[i], out=prod[i]), a)
    blas.parallel_chunks(lambda i: _output(prod.reshape(-1), out, chunks[i][0], chunks[i][1], 0, o, axis, m, tiles,
                                           at, bias, side, epilogue.lo, epilogue.hi, np.empty(o, np.float32)),
                         len(chunks))
    return out


def _tasks(flops: float) -> int:
    """How many tasks to cut a constant-filter convolution into: a multiple of the thread count (a task left over
    runs on one core while the other waits), twice that for four times ``blas.conv_worth_splitting``'s least work,
    so that a thread slowed by another process takes fewer."""
    if not blas.conv_worth_splitting(flops):
        return 1
    return blas.THREADS * (2 if blas.conv_worth_splitting(flops / 4) else 1)


def _constant_forward(xc, v3, up, prod, out, axis, m, tiles, lead, at, bt, bias, side, epilogue):
    """The forward pass with ``U`` packed into panels once (no repacking per product, as OpenBLAS would).

    With enough tile rows, each task takes its rows through the input transform, the products and the output
    transform in one go, in cache (Inception v3 at batch 1 runs 86 of these convolutions). With few rows (8x8
    images), the tasks split the output channels instead: each then reads only its panels of ``U`` (3.5 MB for a
    384-channel 1x3 layer), after one input transform shared by all.
    """
    a, rows, c = v3.shape
    o = prod.shape[2]
    v = v3.reshape(-1)
    prod1 = prod.reshape(-1)
    tasks = _tasks(2.0 * rows * a * c * o)
    panels = packed_gemm.panels(o)
    lo, hi = epilogue.lo, epilogue.hi
    if tasks == 1 or rows >= ROWS_PER_TASK * tasks or panels < tasks:
        chunks = blas.chunk_bounds(rows, tasks)

        def by_rows(i):
            q0, q1 = chunks[i]
            _input(xc, v, q0, q1, axis, m, tiles, lead, bt, np.empty(a * c, np.float32))
            for j in range(a):
                packed_gemm.product(v3[j, q0:q1], up[j], prod[j, q0:q1], 0, panels)
            _output(prod1, out, q0, q1, 0, o, axis, m, tiles, at, bias, side, lo, hi, np.empty(o, np.float32))

        blas.parallel_chunks(by_rows, len(chunks))
        return
    _input(xc, v, 0, rows, axis, m, tiles, lead, bt, np.empty(a * c, np.float32))
    blocks = blas.chunk_bounds(panels, tasks)

    def by_channels(i):
        b0, b1 = blocks[i]
        for j in range(a):
            packed_gemm.product(v3[j], up[j], prod[j], b0, b1)
        _output(prod1, out, 0, rows, b0 * packed_gemm.PANEL, min(b1 * packed_gemm.PANEL, o), axis, m, tiles, at, bias,
                side, lo, hi, np.empty(o, np.float32))

    blas.parallel_chunks(by_channels, len(blocks))
