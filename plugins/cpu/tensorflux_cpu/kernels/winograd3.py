"""Winograd F(4x4, 3x3) float32 convolution: stride 1, 3x3 filters, enough channels to pay.

A 4x4 block of outputs of a 3x3 convolution depends on a 6x6 tile of input; Winograd's algorithm
computes it as ``Y = A^T [(G g G^T) * (B^T d B)] A`` with 36 products per 16 outputs instead of 144,
four times fewer multiplications (less on outputs that are not a multiple of 4, whose last tiles are
partly padding). The interpolation points are 0, 1, -1, 2, -2 and infinity, those of ``winograd``'s
F(2x2, 5x5): the input transform ``B^T`` is the same 6x6 matrix. Against float64, on ResNet-50's 3x3
layers, max |error| / max |output| is 7e-6 to 1e-5 (gathered patches and BLAS: 6e-7); through the whole
network the last residual block's output is within 2e-6 of TF's (relative to its largest value).

The work is organised as in ``winograd4``'s forward direction, with 6x6 input tiles: each image is
zero-padded into four planes of columns (by their remainder mod 4), so that each transform step is a
loop over a contiguous run of (tile, channel) values. For a group of tile rows, the column pass of the
input transform runs for the whole group; then, one column frequency at a time, the row pass into V,
its product with U (``conv_direct``'s register-blocked kernel, channels as taps) and the row pass of
the output transform; then the column pass of the output transform and the epilogue (bias, residual
input, activation clamp) per value as it is stored. The tile rows of the whole batch are spread over
the plugin's threads, so that a batch of one or two images keeps every core busy.

``U = G g G^T`` takes as long as dozens of tiles' products: ``transformed_filter`` keeps it for filters the
graph promises constant (a frozen model's), so that it is computed once.
"""

from __future__ import annotations

import numpy as np

from .. import blas
from ..jit import compiled
from .conv_direct import _OB, _PIX, _max, _padded_channels, _rounded, _row_blocks, _u, wide_vectors
from .conv_gemm import _min, constant_transform
from .winograd4 import _pad_split

_G = np.array([[1 / 4, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6],
               [1 / 24, -1 / 12, 1 / 6],
               [0, 0, 1]])
_F2, _F4, _F5, _F8 = np.float32(2), np.float32(4), np.float32(5), np.float32(8)
# Fewer input channels than this, and the transforms cost more than the products save.
MIN_CHANNELS = 16
# The products of a group's tiles for one column frequency (6 x tiles x output channels) are kept about this
# size, so that they stay in the core's L2 cache until the output transform reads them; within that, groups
# are as large as possible, since every group streams all of U (36 * C * O values) once.
GROUP_BYTES = 1 << 19
MAX_GROUP_TILES = 128
# With fewer tiles than this per task, the tasks split the output channels rather than the tiles (see ``_plan``),
# unless U is at most this size.
SHARED_TILES = 64
ROW_SPLIT_U_BYTES = 1 << 22
# Fewer tiles than this in the batch, and reading U (four times the filter's size) costs more than the products
# save (ResNet-50's 7x7x512 layer at batch 2: 8 tiles, 2.9 times slower here than im2col and BLAS).
MIN_TILES = 16
# A filter that may change is transformed on every call, which costs as much as the products of about 70 tiles
# (256 -> 256 channels: 3.3 ms): only worth it with several times that many tiles.
AMORTIZED_TILES = 256


def applies(geo, dtype) -> bool:
    """Whether the NHWC convolution ``geo`` (a ``WindowGeometry``) in compute dtype ``dtype`` runs here.

    Float32, a 3x3 filter, stride and dilation 1, at least ``MIN_CHANNELS`` input channels, output channels
    that fill most of the 32-wide blocks of the products, and an output of at least 8x8 (smaller ones are
    mostly padding in 4x4 tiles, and there U, four times the filter's size, costs more to read than the
    products save).
    """
    kh, kw, c, o = geo.f_shape
    op = _padded_channels(o)
    return (np.dtype(dtype) == np.float32 and kh == kw == 3 and geo.sh == geo.sw == geo.dh == geo.dw == 1
            and c >= MIN_CHANNELS and o >= 0.75 * op and tiles(geo) >= MIN_TILES)


def tiles(geo) -> int:
    """The 4x4 output tiles of the convolution ``geo`` over its whole batch."""
    return geo.in_shape[0] * -(-geo.oh // 4) * -(-geo.ow // 4)


def amortized(geo) -> bool:
    """Whether a filter transformed on every call (one not known constant) still pays for ``geo``."""
    return tiles(geo) >= AMORTIZED_TILES


@compiled(fastmath={"contract"})
def _bt(src, a0, a1, a2, a3, a4, a5, ss, dst, d, ds, rows, n, j):
    """Row ``j`` of the input transform, ``rows`` times: ``dst[d + r*ds:][:n] = sum over s of B^T[j, s] *
    src[a_s + r*ss:][:n]``, B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]. One output stream per loop."""
    wide_vectors()
    for r in range(rows):
        b0, b1, b2, b3, b4, b5 = a0 + r * ss, a1 + r * ss, a2 + r * ss, a3 + r * ss, a4 + r * ss, a5 + r * ss
        o = d + r * ds
        if j == 0:
            for k in range(n):
                dst[_u(o + k)] = _F4 * src[_u(b0 + k)] - _F5 * src[_u(b2 + k)] + src[_u(b4 + k)]
        elif j == 1:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b3 + k)] + src[_u(b4 + k)] - _F4 * (src[_u(b1 + k)] + src[_u(b2 + k)])
        elif j == 2:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b4 + k)] - src[_u(b3 + k)] + _F4 * (src[_u(b1 + k)] - src[_u(b2 + k)])
        elif j == 3:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b4 + k)] - src[_u(b2 + k)] + _F2 * (src[_u(b3 + k)] - src[_u(b1 + k)])
        elif j == 4:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b4 + k)] - src[_u(b2 + k)] + _F2 * (src[_u(b1 + k)] - src[_u(b3 + k)])
        else:
            for k in range(n):
                dst[_u(o + k)] = _F4 * src[_u(b1 + k)] - _F5 * src[_u(b3 + k)] + src[_u(b5 + k)]


@compiled(fastmath={"contract"})
def _at(src, a0, a1, a2, a3, a4, a5, ss, dst, d, ds, rows, n, r):
    """Row ``r`` of the output transform, ``rows`` times: ``dst[d + q*ds:][:n] = sum over s of A^T[r, s] *
    src[a_s + q*ss:][:n]``, A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]."""
    wide_vectors()
    for q in range(rows):
        b0, b1, b2, b3, b4, b5 = a0 + q * ss, a1 + q * ss, a2 + q * ss, a3 + q * ss, a4 + q * ss, a5 + q * ss
        o = d + q * ds
        if r == 0:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] + src[_u(b1 + k)] + src[_u(b2 + k)] + src[_u(b3 + k)] + src[_u(b4 + k)]
        elif r == 1:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b1 + k)] - src[_u(b2 + k)] + _F2 * (src[_u(b3 + k)] - src[_u(b4 + k)])
        elif r == 2:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b1 + k)] + src[_u(b2 + k)] + _F4 * (src[_u(b3 + k)] + src[_u(b4 + k)])
        else:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b1 + k)] - src[_u(b2 + k)] + _F8 * (src[_u(b3 + k)] - src[_u(b4 + k)])
                                  + src[_u(b5 + k)])


@compiled
def _store_row(out1, dst, y, p, bias, side1, lo, hi):
    """``out1[dst + k] = min(max(y[p + k] + bias[k] + side1[dst + k], lo), hi)`` over the channels (no side
    input when ``side1`` is empty)."""
    if side1.shape[0] > 0:
        for k in range(bias.shape[0]):
            out1[_u(dst + k)] = _min(_max(y[_u(p + k)] + bias[k] + side1[_u(dst + k)], lo), hi)
    else:
        for k in range(bias.shape[0]):
            out1[_u(dst + k)] = _min(_max(y[_u(p + k)] + bias[k], lo), hi)


@compiled
def _store(t, tt, y, bias, side1, lo, hi, out, o0, g0, nr, tiles_h, tiles_w, op):
    """The group's outputs into ``out``'s channels ``o0:o0 + len(bias)``: the column pass of the output transform
    (``t``: [4, 6, ``tt``] after the row pass, ``tt`` = the group's tiles times ``op``) into ``y`` ([4, 4, ``tt``]),
    then the epilogue per value. Rows and columns past the output (partial tiles) are dropped."""
    for s in range(4):
        _at(t, 0, tt, 2 * tt, 3 * tt, 4 * tt, 5 * tt, 6 * tt, y, s * tt, 4 * tt, 4, tt, s)
    _, oh, ow, o = out.shape
    out1 = out.reshape(-1)
    for q in range(nr):
        n = (g0 + q) // tiles_h
        ty = (g0 + q) % tiles_h
        for r in range(4):
            row = 4 * ty + r
            if row >= oh:
                continue
            for s in range(4):
                for tx in range(tiles_w):
                    col = 4 * tx + s
                    if col >= ow:
                        continue
                    _store_row(out1, ((n * oh + row) * ow + col) * o + o0, y, (r * 4 + s) * tt + (q * tiles_w + tx) * op,
                               bias, side1, lo, hi)


@compiled
def _forward(x, xs, qw, pt, pl, u, op, o0, bias, side1, lo, hi, out, r0, r1, e, v, m, t, y, rows, xoff):
    """Tile rows ``r0:r1`` (numbered over the whole batch) of the convolution into ``out``, ``rows`` at a time,
    for the output channels ``o0:o0 + len(bias)`` (U: flat [36, C, ``op``], those channels zero-padded to ``op``).

    Per group: the column pass of the input transform (``B^T`` over each tile row's 6 input rows) into ``e``
    ([rows, 6, 4 * ``qw`` * C]); then, one column frequency ``j`` at a time, for each row frequency ``i`` the
    row pass into ``v`` (V[i, j]: [tiles, C]) and its product with U[i, j] into ``m`` ([6, tiles, ``op``], rows
    ``ms`` apart), and the row pass of the output transform over the 6 products into ``t``.
    """
    c = x.shape[3]
    _, oh, ow, _ = out.shape
    tiles_h, tiles_w = (oh + 3) // 4, (ow + 3) // 4
    lx, px = 4 * qw * c, qw * c
    # Product rows sit half a cache line's worth of floats apart beyond their length, so that the 6 streams of
    # the output transform do not all map to the same L1 sets.
    ms = (rows * tiles_w + _PIX - 1) // _PIX * _PIX * op + _OB // 2
    current = -1
    for g0 in range(r0, r1, rows):
        g1 = min(g0 + rows, r1)
        nr = g1 - g0
        for r in range(g0, g1):
            n = r // tiles_h
            if n != current:
                _pad_split(x, n, xs, qw, pt, pl)
                current = n
            a = 4 * (r % tiles_h) * lx
            for i in range(6):
                _bt(xs, a, a + lx, a + 2 * lx, a + 3 * lx, a + 4 * lx, a + 5 * lx, 0, e, ((r - g0) * 6 + i) * lx, 0, 1,
                    lx, i)
        # The products run over whole blocks of 8 tiles: those past the group's last are computed, then dropped.
        nt = (nr * tiles_w + _PIX - 1) // _PIX * _PIX
        tt = nr * tiles_w * op
        for j in range(6):
            for i in range(6):
                a = i * lx
                # Column s of tile tx is column tx + s // 4 of plane s % 4: a contiguous run over (tx, channel).
                _bt(e, a, a + px, a + 2 * px, a + 3 * px, a + c, a + px + c, 6 * lx, v, 0, tiles_w * c, nr,
                    tiles_w * c, j)
                f = i * 6 + j
                _row_blocks(v, xoff, u[f * c * op:(f + 1) * c * op], op, m[i * ms:i * ms + nt * op], 0, c)
            for r in range(4):
                _at(m, 0, ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms, 0, t, (r * 6 + j) * tt, 0, 1, tt, r)
        _store(t, tt, y, bias, side1, lo, hi, out, o0, g0, nr, tiles_h, tiles_w, op)


@compiled
def _transform_filter(f, u, tmp):
    """U = G g G^T per (input, output) channel pair into ``u`` ([36, C, op] float32, channels past O untouched),
    summed in float64; ``tmp`` ([6, 3, O] float64) is scratch."""
    _, _, c, o = f.shape
    for ch in range(c):
        for i in range(6):
            for b in range(3):
                for k in range(o):
                    tmp[i, b, k] = _G[i, 0] * f[0, b, ch, k] + _G[i, 1] * f[1, b, ch, k] + _G[i, 2] * f[2, b, ch, k]
        for i in range(6):
            for j in range(6):
                for k in range(o):
                    u[i * 6 + j, ch, k] = _G[j, 0] * tmp[i, 0, k] + _G[j, 1] * tmp[i, 1, k] + _G[j, 2] * tmp[i, 2, k]


def filter_transform(f, op):
    """U = G g G^T per (input, output) channel pair: flat [36, C, ``op``] float32, computed in float64."""
    _, _, c, o = f.shape
    u = np.zeros((36, c, op), np.float32)
    _transform_filter(np.ascontiguousarray(f, np.float32), u, np.empty((6, 3, o)))
    return u.reshape(-1)


def _blocks(f, op, splits):
    """U for each of ``splits`` contiguous blocks of output channels (multiples of 32): [(first channel, flat
    [36, C, block width] U)]."""
    u = filter_transform(f, op).reshape(36, f.shape[2], op)
    widths = [(b - a) * _OB for a, b in blas.chunk_bounds(op // _OB, splits)]
    out, o0 = [], 0
    for width in widths:
        out.append((o0, np.ascontiguousarray(u[:, :, o0:o0 + width]).reshape(-1) if splits > 1 else u.reshape(-1)))
        o0 += width
    return out


def transformed_filter(f, op, splits, constant: bool):
    """``_blocks(f, op, splits)``; for a ``constant`` filter computed once per array (``conv_gemm.constant_transform``)."""
    return constant_transform(f, ("winograd3", op, splits), lambda: _blocks(f, op, splits), constant)


def _plan(geo, op, c):
    """(tile-row chunks, channel blocks): the tasks are every pair, one per thread.

    Tasks that split the tile rows each stream all of U; tasks that split the output channels each repeat the
    input transform of every tile. So few tiles split the channels, unless U is small or its 32-wide units do not
    divide evenly among the threads (Inception v3's 35x35 64 -> 96 layers: three units, which two tasks would
    split 2:1; by tile rows, measured here, 0.38 ms instead of 0.43).
    """
    n = geo.in_shape[0]
    tiles_h, tiles_w = -(-geo.oh // 4), -(-geo.ow // 4)
    # Split as the direct sum would be: the products are a quarter of its, but the transforms and reading U add
    # about as much again on the small layers (DenseNet's 28x28 ones ran on one thread with a quarter).
    tasks = max(1, blas.n_chunks(geo.flops() / 2, per_thread=1))
    splits = 1
    units = op // _OB
    if n * tiles_h * tiles_w < SHARED_TILES * tasks:
        by_rows = n * tiles_h >= tasks and (units % tasks != 0 or 36 * c * op * 4 <= ROW_SPLIT_U_BYTES)
        if not by_rows:
            splits = max(1, min(tasks, units))
    rows = max(1, min(n * tiles_h, tasks // splits))
    return blas.chunk_bounds(n * tiles_h, rows), splits


def forward(xn, f, geo, bias, side=None, lo=-np.inf, hi=np.inf, constant=False):
    """The NHWC float32 convolution ``geo`` of ``xn`` with the 3x3 filter ``f`` ([3, 3, C, O]), finished per value
    as ``min(max(conv + bias + side, lo), hi)`` (``bias`` one value per output channel or None, ``side`` None or an
    array of the output's shape). ``geo`` must satisfy ``applies``; ``constant``: see ``transformed_filter``.
    """
    n, h, w, c = xn.shape
    o = f.shape[3]
    op = _padded_channels(o)
    tiles_h, tiles_w = -(-geo.oh // 4), -(-geo.ow // 4)
    hp = max(4 * tiles_h + 2, geo.pt + h)
    qw = -(-max(4 * tiles_w + 2, geo.pl + w) // 4)
    bounds, splits = _plan(geo, op, c)
    blocks = transformed_filter(f, op, splits, constant)
    b = np.zeros(op, np.float32)
    if bias is not None:
        b[:o] = bias
    side1 = np.empty(0, np.float32) if side is None else np.ascontiguousarray(side, np.float32).reshape(-1)
    out = np.empty((n, geo.oh, geo.ow, o), np.float32)
    xc = np.ascontiguousarray(xn, np.float32)
    xoff = np.arange(c, dtype=np.int64)
    lo, hi = np.float32(lo), np.float32(hi)

    def task(i):
        r0, r1 = bounds[i // splits]
        o0, u = blocks[i % splits]
        width = u.size // (36 * c)
        real = min(o, o0 + width) - o0
        rows = max(1, min(MAX_GROUP_TILES, GROUP_BYTES // (24 * width)) // tiles_w)
        rows = min(rows, r1 - r0)
        gt = _rounded(rows * tiles_w, _PIX)
        xs = np.zeros(hp * 4 * qw * c, np.float32)
        e = np.empty(rows * 6 * 4 * qw * c, np.float32)
        # Zeroed: the products read whole blocks of 8 tiles, past a short group's last (their results are dropped).
        v = np.zeros(gt * c, np.float32)
        m = np.empty(6 * (gt * width + _OB // 2), np.float32)
        t = np.empty(24 * gt * width, np.float32)
        y = np.empty(16 * gt * width, np.float32)
        _forward(xc, xs, qw, geo.pt, geo.pl, u, width, o0, np.ascontiguousarray(b[o0:o0 + real]), side1, lo, hi, out,
                 r0, r1, e, v, m, t, y, rows, xoff)

    blas.parallel_chunks(task, len(bounds) * splits)
    return out
