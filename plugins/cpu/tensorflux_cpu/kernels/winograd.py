"""Winograd F(2x2, 5x5) float32 convolution: stride 1, 5x5 filters, enough channels to pay.

A 2x2 block of outputs of a 5x5 convolution depends on a 6x6 tile of input. Winograd's algorithm
(Lavin & Gray 2016) computes it as ``A^T [(G g G^T) * (B^T d B)] A``: the filter ``g`` and the tile
``d`` are transformed into 36 "frequencies", multiplied pointwise, and transformed back. Summed over
input channels, the pointwise products become 36 independent matrix products
``M[f] = V[f] @ U[f]`` ([tiles, C] x [C, O]), 36 multiplications per 4 outputs instead of 100: the
arithmetic of the 5x5 convolution drops 2.8-fold, for the cost of the transforms.

The interpolation points are 0, 1, -1, 2, -2 and infinity (the same as oneDNN's and cuDNN's
F(4x4, 3x3)); the filter transform runs in float64. Float32 results carry a few times the rounding
error of a direct sum: on the CNN's second layer against float64, max |error| / max |output| is
3e-6 (im2col and BLAS: 5e-7) and the median relative error 1e-6 (2e-7), about 8 units in the last
place, well inside what float32 training tolerates. Small or few-channel convolutions, and so the
conformance suite's, never come here.

Work is organised by tile rows. Each image is zero-padded into two planes holding its even and odd
columns, so that every transform step is a loop over a contiguous run of (tile, channel) values
that LLVM vectorizes: the input transform's column pass (B^T along the rows of a tile row), its row
pass (B along the columns) into ``V``, the 36 products (``conv_direct``'s register-blocked kernel,
with the channels as taps), and the output transform with bias, relu and the fused 2x2 max pool
(a 2x2 output tile is exactly one pooling window). Groups of 8 tile rows keep ``V`` and ``M`` in
the core's L2 cache; the batch is cut into chunks spread over the plugin's threads.

``applies`` decides which convolutions go through Winograd at all. Most of them, the CNN's included, run
through F(4x4, 5x5) (``winograd4``: the filter gradient always, the forward direction and the stride-1
input gradient where ``winograd4.beats_f2``); this F(2x2) path stays for small outputs (about 6x6 and
less), where F(4x4)'s 4x4 tiles are mostly padding.
"""

from __future__ import annotations

import numpy as np

from .. import blas
from ..jit import compiled
from .conv_direct import _OB, _padded_channels, _rounded, _row_blocks, _tasks, _u, store_biased, store_pooled, wide_vectors

_G = np.array([[1 / 4, 0, 0, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3],
               [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3],
               [0, 0, 0, 0, 1]])
# B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
#        [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]] and A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]]
# are spelled out in the loops below.
_F2, _F4, _F5 = np.float32(2), np.float32(4), np.float32(5)
# Tile rows per group: V and M for 8 rows of 7 tiles (the CNN's 14x14) take 0.8 MB of L2.
_ROWS = 8
# Fewer input channels than this, and the transforms cost more than the products save.
MIN_CHANNELS = 16


def applies(geo, dtype) -> bool:
    """Whether the NHWC convolution ``geo`` (a ``WindowGeometry``) in compute dtype ``dtype`` runs here.

    Float32, a 5x5 filter, stride and dilation 1, at least ``MIN_CHANNELS`` input channels, and output
    channels that fill most of the 32-wide blocks of the products.
    """
    kh, kw, c, o = geo.f_shape
    op = _padded_channels(o)
    return (np.dtype(dtype) == np.float32 and kh == kw == 5 and geo.sh == geo.sw == geo.dh == geo.dw == 1
            and c >= MIN_CHANNELS and o >= 0.75 * op and geo.in_shape[0] > 0 and geo.oh > 0 and geo.ow > 0)


def _filter_transform(f, op):
    """U = G g G^T per (input, output) channel pair: flat [36, C, op] float32, computed in float64."""
    _, _, c, o = f.shape
    tmp = (_G @ f.astype(np.float64).reshape(5, -1)).reshape(6, 5, c * o)
    u = np.zeros((36, c, op), np.float32)
    u[:, :, :o] = np.matmul(_G, tmp).reshape(36, c, o)
    return u.reshape(-1)


@compiled
def _pad_split(x, n, xs, hp, half, pt, pl):
    """Image ``n`` of ``x`` ([N, H, W, C]) zero-padded into ``xs``: flat [2, hp, half, C], even columns then odd.

    Only the interior is written; the borders stay zero from the buffer's allocation.
    """
    _, h, w, c = x.shape
    for r in range(h):
        for q in range(w):
            col = q + pl
            dst = (((col & 1) * hp + r + pt) * half + (col >> 1)) * c
            for ch in range(c):
                xs[_u(dst + ch)] = x[n, r, q, ch]


@compiled(fastmath={"contract"})
def _input_row(xs, hp, half, c, ty, tiles_w, e, v, vs, t0):
    """Tile row ``ty``'s transformed inputs into V (flat [36, .., C], frequency rows ``vs`` apart) at tile ``t0``.

    ``e`` is scratch for B^T d ([2 parities, 6, half*C]). Each loop has one output stream: with more,
    LLVM cannot tell the streams apart and gives up vectorizing.
    """
    wide_vectors()
    ln = half * c
    for par in range(2):
        src = (par * hp + 2 * ty) * ln
        b = par * 6 * ln
        for k in range(ln):
            a = src + k
            e[_u(b + k)] = _F4 * xs[_u(a)] - _F5 * xs[_u(a + 2 * ln)] + xs[_u(a + 4 * ln)]
        for k in range(ln):
            a = src + k
            e[_u(b + ln + k)] = -_F4 * (xs[_u(a + ln)] + xs[_u(a + 2 * ln)]) + xs[_u(a + 3 * ln)] + xs[_u(a + 4 * ln)]
        for k in range(ln):
            a = src + k
            e[_u(b + 2 * ln + k)] = _F4 * (xs[_u(a + ln)] - xs[_u(a + 2 * ln)]) - xs[_u(a + 3 * ln)] + xs[_u(a + 4 * ln)]
        for k in range(ln):
            a = src + k
            e[_u(b + 3 * ln + k)] = _F2 * (xs[_u(a + 3 * ln)] - xs[_u(a + ln)]) - xs[_u(a + 2 * ln)] + xs[_u(a + 4 * ln)]
        for k in range(ln):
            a = src + k
            e[_u(b + 4 * ln + k)] = _F2 * (xs[_u(a + ln)] - xs[_u(a + 3 * ln)]) - xs[_u(a + 2 * ln)] + xs[_u(a + 4 * ln)]
        for k in range(ln):
            a = src + k
            e[_u(b + 5 * ln + k)] = _F4 * xs[_u(a + ln)] - _F5 * xs[_u(a + 3 * ln)] + xs[_u(a + 5 * ln)]
    # Column j of tile tx is column tx + j // 2 of parity j % 2: a contiguous run over (tx, channel).
    n = tiles_w * c
    for r in range(6):
        ev = r * ln
        od = (6 + r) * ln
        dst = r * 6 * vs + t0 * c
        for k in range(n):
            v[_u(dst + k)] = _F4 * e[_u(ev + k)] - _F5 * e[_u(ev + c + k)] + e[_u(ev + 2 * c + k)]
        dst += vs
        for k in range(n):
            v[_u(dst + k)] = -_F4 * (e[_u(od + k)] + e[_u(ev + c + k)]) + e[_u(od + c + k)] + e[_u(ev + 2 * c + k)]
        dst += vs
        for k in range(n):
            v[_u(dst + k)] = _F4 * (e[_u(od + k)] - e[_u(ev + c + k)]) - e[_u(od + c + k)] + e[_u(ev + 2 * c + k)]
        dst += vs
        for k in range(n):
            v[_u(dst + k)] = _F2 * (e[_u(od + c + k)] - e[_u(od + k)]) - e[_u(ev + c + k)] + e[_u(ev + 2 * c + k)]
        dst += vs
        for k in range(n):
            v[_u(dst + k)] = _F2 * (e[_u(od + k)] - e[_u(od + c + k)]) - e[_u(ev + c + k)] + e[_u(ev + 2 * c + k)]
        dst += vs
        for k in range(n):
            v[_u(dst + k)] = _F4 * e[_u(od + k)] - _F5 * e[_u(od + c + k)] + e[_u(od + 2 * c + k)]


@compiled(fastmath={"contract"})
def _output_row(m, ms, op, t0, tiles_w, t, y, bias, lo, out, n, ty, pool):
    """Tile row ``ty`` of image ``n`` into ``out``, from M (flat [36, .., ``op``], rows ``ms`` apart) at tile ``t0``.

    Each value is ``max(conv + bias, lo)``; with ``pool`` each 2x2 tile is max-pooled into one output
    (bias after the max is exact: rounding is monotonic). ``t`` ([12, tiles_w*op]) and ``y``
    ([4, tiles_w*op]) are scratch.
    """
    wide_vectors()
    ln = tiles_w * op
    for j in range(6):
        src = j * ms + t0 * op
        for k in range(ln):
            a = src + k
            t[_u(j * ln + k)] = m[_u(a)] + m[_u(a + 6 * ms)] + m[_u(a + 12 * ms)] + m[_u(a + 18 * ms)] + m[_u(a + 24 * ms)]
        for k in range(ln):
            a = src + k
            t[_u((6 + j) * ln + k)] = (m[_u(a + 6 * ms)] - m[_u(a + 12 * ms)]
                                       + _F2 * (m[_u(a + 18 * ms)] - m[_u(a + 24 * ms)]) + m[_u(a + 30 * ms)])
    for r in range(2):
        b = r * 6 * ln
        for k in range(ln):
            y[_u(r * 2 * ln + k)] = (t[_u(b + k)] + t[_u(b + ln + k)] + t[_u(b + 2 * ln + k)] + t[_u(b + 3 * ln + k)]
                                     + t[_u(b + 4 * ln + k)])
        for k in range(ln):
            y[_u((r * 2 + 1) * ln + k)] = (t[_u(b + ln + k)] - t[_u(b + 2 * ln + k)]
                                           + _F2 * (t[_u(b + 3 * ln + k)] - t[_u(b + 4 * ln + k)]) + t[_u(b + 5 * ln + k)])
    _, oh, ow, o = out.shape
    out1 = out.reshape(-1)
    if pool:
        for tx in range(tiles_w):
            dst = ((n * oh + ty) * ow + tx) * o
            a = tx * op
            store_pooled(out1, dst, y, a, a + ln, a + 2 * ln, a + 3 * ln, bias, lo)
        return
    for r in range(2):
        row = 2 * ty + r
        if row >= oh:
            continue
        for s in range(2):
            for tx in range(tiles_w):
                col = 2 * tx + s
                if col >= ow:
                    continue
                dst = ((n * oh + row) * ow + col) * o
                store_biased(out1, dst, y, (r * 2 + s) * ln + tx * op, bias, lo)


@compiled
def _forward(x, xs, hp, half, pt, pl, u, op, bias, lo, out, pool, n0, n1, e, t, y, v, m, gw, xoff):
    """Images ``n0:n1`` of the convolution into ``out`` (see ``forward``), in groups of ``_ROWS`` tile rows."""
    c = x.shape[3]
    oh = out.shape[1] * 2 if pool else out.shape[1]
    ow = out.shape[2] * 2 if pool else out.shape[2]
    tiles_h, tiles_w = (oh + 1) // 2, (ow + 1) // 2
    vs, ms = gw * c + _OB // 2, gw * op + _OB // 2
    total = (n1 - n0) * tiles_h
    current = -1
    for g0 in range(0, total, _ROWS):
        g1 = min(g0 + _ROWS, total)
        for g in range(g0, g1):
            n = n0 + g // tiles_h
            if n != current:
                _pad_split(x, n, xs, hp, half, pt, pl)
                current = n
            _input_row(xs, hp, half, c, g % tiles_h, tiles_w, e, v, vs, (g - g0) * tiles_w)
        for f in range(36):
            _row_blocks(v[f * vs:f * vs + gw * c], xoff, u[f * c * op:(f + 1) * c * op], op,
                        m[f * ms:f * ms + gw * op], 0, c)
        for g in range(g0, g1):
            _output_row(m, ms, op, (g - g0) * tiles_w, tiles_w, t, y, bias, lo, out, n0 + g // tiles_h, g % tiles_h, pool)


def forward(xn, f, bias, geo, relu=False, pool=False):
    """The NHWC float32 convolution ``geo`` of ``xn`` with the 5x5 filter ``f`` ([5, 5, C, O]), plus ``bias``
    (or none), then relu, then with ``pool`` a 2x2 stride-2 max pool (even output height and width)."""
    n, h, w, c = xn.shape
    o = f.shape[3]
    op = _padded_channels(o)
    tiles_h, tiles_w = -(-geo.oh // 2), -(-geo.ow // 2)
    hp = max(2 * tiles_h + 4, geo.pt + h)
    half = -(-max(2 * tiles_w + 4, geo.pl + w) // 2)
    # M is read 8 tiles at a time: a group's tile count is a multiple of 8 (8 rows of tiles).
    gw = _rounded(_ROWS * tiles_w, 8)
    u = _filter_transform(f, op)
    b = np.zeros(o, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    out = np.empty((n, geo.oh // 2, geo.ow // 2, o) if pool else (n, geo.oh, geo.ow, o), np.float32)
    xc = np.ascontiguousarray(xn, np.float32)
    lo = np.float32(0 if relu else -np.inf)
    xoff = np.arange(c, dtype=np.int64)
    bounds = _tasks(geo)

    def task(i):
        # Frequency rows sit half a cache line's worth of floats apart beyond their length, so the 36
        # streams of a transform do not all map to the same L1 sets.
        pad = _OB // 2
        xs = np.zeros(2 * hp * half * c, np.float32)
        v = np.zeros(36 * (gw * c + pad), np.float32)  # tiles past a short last group are multiplied too
        m = np.empty(36 * (gw * op + pad), np.float32)
        e = np.empty(12 * half * c, np.float32)
        t = np.empty(12 * tiles_w * op, np.float32)
        y = np.empty(4 * tiles_w * op, np.float32)
        _forward(xc, xs, hp, half, geo.pt, geo.pl, u, op, b, lo, out, pool, bounds[i][0], bounds[i][1],
                 e, t, y, v, m, gw, xoff)

    blas.parallel_chunks(task, len(bounds))
    return out
