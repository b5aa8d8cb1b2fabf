"""Winograd F(4x4, 5x5) float32 convolution and filter gradient: stride 1, 5x5 filters, enough channels to pay.

The algorithm of ``winograd`` (F(2x2, 5x5)) with 4x4 output tiles read from 8x8 input tiles: 64
frequencies per 16 outputs instead of 36 per 4, 2.25 times fewer multiplications (1.7 times on the
CNN's 14x14 images, whose 4x4 tiles cover 16x16). The interpolation points are 0, 1, -1, 2, -2, 1/2,
-1/2 and infinity (those of the common F(6x6, 3x3)). Against float64, max |error| / max |gradient|
on the CNN's second layer is about 4e-6 for the filter gradient and 6e-6 for the output (F(2x2, 5x5):
3e-6; the direct float32 sums': 2e-7 and 5e-7).

``forward`` (the convolution, with bias, relu and a fused 2x2 max pool; ``conv`` also runs the stride-1
input gradient through it) computes ``Y = A^T [(G g G^T) * (B^T d B)] A`` per tile, organised like the
filter gradient below, with ``conv_direct``'s register-blocked products (tiles x C times C x O). On the
CNN's second layer it replaced F(2x2, 5x5) at 1.15-1.2 times the speed; small outputs, where 4x4 tiles
are mostly padding, stay with F(2x2) (``beats_f2``).

The gradient of ``Y = A^T [(G g G^T) * (B^T d B)] A`` with respect to the filter ``g`` follows by the
chain rule through its linear maps:

    dM = A dY A^T  (each tile's 4x4 output gradient spread over the 64 frequencies)
    dU[f] = sum over tiles of V[f]^T dM[f]   ([C, tiles] x [tiles, O], one product per frequency)
    dg = G^T dU G

Images are zero-padded into four planes of columns (by their remainder mod 4) row by row, so that
every transform step is a loop over a contiguous run of (tile, channel) values, which LLVM
vectorizes. A group of tile rows is transformed in two passes: the column passes (``B^T`` over each
tile row's 8 input rows, ``A`` over its 4 output-gradient rows) for the whole group, then, one
frequency at a time, the row passes into V[f] and dM[f] and their product. One frequency's V and dM
stay in the core's L1 cache between being written and read (all 64 at once would go through L2,
whose store bandwidth bounds the transforms: this order measured about 10% faster). The products are
register-blocked (8 input channels x 32 output channels summed in registers while the group's tiles
stream by) and added to a float32 accumulator, flushed into float64 every few groups so that no
float32 sum runs long. ``G^T dU G`` runs once per call, in float64.
"""

from __future__ import annotations

import numba
import numpy as np

from .. import blas
from ..jit import compiled
from .conv_direct import (
    _OB,
    _PIX,
    _padded_channels,
    _rounded,
    _row_blocks,
    _stack_block,
    _tasks,
    _u,
    store_biased,
    store_pooled,
    wide_vectors,
)

# B^T (8x8), A^T (4x8) and G (8x5) for the points 0, 1, -1, 2, -2, 1/2, -1/2, infinity. B^T and A^T are
# spelled out in ``_bt`` and ``_a``; G is used in float64 only.
_G = np.array([[-1, 0, 0, 0, 0],
               [-2 / 9, -2 / 9, -2 / 9, -2 / 9, -2 / 9],
               [-2 / 9, 2 / 9, -2 / 9, 2 / 9, -2 / 9],
               [1 / 90, 1 / 45, 2 / 45, 4 / 45, 8 / 45],
               [1 / 90, -1 / 45, 2 / 45, -4 / 45, 8 / 45],
               [32 / 45, 16 / 45, 8 / 45, 4 / 45, 2 / 45],
               [32 / 45, -16 / 45, 8 / 45, -4 / 45, 2 / 45],
               [0, 0, 0, 0, 1]])
# dg[a, b] = sum over i, j of G[i, a] G[j, b] dU[i, j]: one [25, 64] matrix.
_GG = np.kron(_G.T, _G.T)
_H, _Q, _E = np.float32(0.5), np.float32(0.25), np.float32(0.125)
_F2, _F4, _F8 = np.float32(2), np.float32(4), np.float32(8)
_B1, _B2, _B3, _B4, _B5 = np.float32(1.25), np.float32(2.5), np.float32(4.25), np.float32(5), np.float32(5.25)
# Tiles per group (whole tile rows; measured best from 32 to 64): one frequency's V and dM for 8 rows of 4 tiles
# (the CNN's 14x14, 32 -> 64 channels) take 12 KB of L1, and the products stream 32 tiles through registers
# per visit to the accumulator.
GROUP_TILES = 32
# Groups summed in the float32 accumulator before it is added to the float64 one.
_FLUSH_GROUPS = 16
# Each task sums into its own accumulator (so results do not depend on which thread takes which task), and those
# are summed at the end: 64*C*O floats each, which took 0.1 ms apiece. One task per thread measured fastest
# (CNN, batch 50: 3.7 ms; two per thread: 4.0 ms; four: 4.9 ms).
TASKS_PER_THREAD = 1


@compiled(fastmath={"contract"})
def _bt(src, a0, a1, a2, a3, a4, a5, a6, a7, ss, dst, d, ds, rows, n, j):
    """Row ``j`` of the input transform, ``rows`` times: ``dst[d + r*ds:][:n] = sum over s of B^T[j, s] *
    src[a_s + r*ss:][:n]``. One output stream per loop: with more, LLVM cannot tell them apart and gives up
    vectorizing."""
    wide_vectors()
    for r in range(rows):
        b0, b1, b2, b3 = a0 + r * ss, a1 + r * ss, a2 + r * ss, a3 + r * ss
        b4, b5, b6, b7 = a4 + r * ss, a5 + r * ss, a6 + r * ss, a7 + r * ss
        o = d + r * ds
        if j == 0:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b6 + k)] - src[_u(b0 + k)] + _B5 * (src[_u(b2 + k)] - src[_u(b4 + k)])
        elif j == 1:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b1 + k)] + src[_u(b2 + k)] + src[_u(b5 + k)] + src[_u(b6 + k)]
                                  - _B3 * (src[_u(b3 + k)] + src[_u(b4 + k)]))
        elif j == 2:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b2 + k)] - src[_u(b1 + k)] + src[_u(b6 + k)] - src[_u(b5 + k)]
                                  + _B3 * (src[_u(b3 + k)] - src[_u(b4 + k)]))
        elif j == 3:
            for k in range(n):
                dst[_u(o + k)] = (_H * src[_u(b1 + k)] + _Q * src[_u(b2 + k)] - _B2 * src[_u(b3 + k)]
                                  - _B1 * src[_u(b4 + k)] + _F2 * src[_u(b5 + k)] + src[_u(b6 + k)])
        elif j == 4:
            for k in range(n):
                dst[_u(o + k)] = (_Q * src[_u(b2 + k)] - _H * src[_u(b1 + k)] + _B2 * src[_u(b3 + k)]
                                  - _B1 * src[_u(b4 + k)] - _F2 * src[_u(b5 + k)] + src[_u(b6 + k)])
        elif j == 5:
            for k in range(n):
                dst[_u(o + k)] = (_F2 * src[_u(b1 + k)] + _F4 * src[_u(b2 + k)] - _B2 * src[_u(b3 + k)]
                                  - _B4 * src[_u(b4 + k)] + _H * src[_u(b5 + k)] + src[_u(b6 + k)])
        elif j == 6:
            for k in range(n):
                dst[_u(o + k)] = (_F4 * src[_u(b2 + k)] - _F2 * src[_u(b1 + k)] + _B2 * src[_u(b3 + k)]
                                  - _B4 * src[_u(b4 + k)] - _H * src[_u(b5 + k)] + src[_u(b6 + k)])
        else:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b7 + k)] - src[_u(b1 + k)] + _B5 * (src[_u(b3 + k)] - src[_u(b5 + k)])


@compiled(fastmath={"contract"})
def _a(src, a0, a1, a2, a3, ss, dst, d, ds, rows, n, i):
    """Row ``i`` of the output gradient's transform (``A``, 8x4), ``rows`` times: ``dst[d + r*ds:][:n] = sum
    over t of A[i, t] * src[a_t + r*ss:][:n]``."""
    wide_vectors()
    for r in range(rows):
        b0, b1, b2, b3 = a0 + r * ss, a1 + r * ss, a2 + r * ss, a3 + r * ss
        o = d + r * ds
        if i == 0:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)]
        elif i == 1:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] + src[_u(b1 + k)] + src[_u(b2 + k)] + src[_u(b3 + k)]
        elif i == 2:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] - src[_u(b1 + k)] + src[_u(b2 + k)] - src[_u(b3 + k)]
        elif i == 3:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] + _F2 * src[_u(b1 + k)] + _F4 * src[_u(b2 + k)] + _F8 * src[_u(b3 + k)]
        elif i == 4:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] - _F2 * src[_u(b1 + k)] + _F4 * src[_u(b2 + k)] - _F8 * src[_u(b3 + k)]
        elif i == 5:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] + _H * src[_u(b1 + k)] + _Q * src[_u(b2 + k)] + _E * src[_u(b3 + k)]
        elif i == 6:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b0 + k)] - _H * src[_u(b1 + k)] + _Q * src[_u(b2 + k)] - _E * src[_u(b3 + k)]
        else:
            for k in range(n):
                dst[_u(o + k)] = src[_u(b3 + k)]


@compiled
def _pad_split(x, n, xs, qw, pt, pl):
    """Image ``n`` of ``x`` ([N, H, W, C]) zero-padded into ``xs``: flat [rows, 4, ``qw``, C], the columns of each
    row by their remainder mod 4. Only the interior is written; the borders stay zero from the allocation."""
    _, h, w, c = x.shape
    for r in range(h):
        for q in range(w):
            col = q + pl
            dst = (((r + pt) * 4 + (col & 3)) * qw + (col >> 2)) * c
            for ch in range(c):
                xs[_u(dst + ch)] = x[n, r, q, ch]


@compiled(fastmath={"contract"})
def _products(v, vb, c, dm, mb, op, tiles, acc, ab, tmp):
    """Add ``V^T dM`` over ``tiles`` tiles to ``acc`` (flat [C, ``op``] from ``ab``).

    V is read from ``vb`` ([tiles, C]), dM from ``mb`` ([tiles, ``op``]). A block of 8 channels times
    32 output channels is summed in registers while the tiles stream by; past the last channel the
    block reads the next tile's (or the buffer's padding): computed, then dropped. ``tmp`` holds 8*32 floats.
    """
    block = numba.carray(_stack_block(), (_PIX, _OB))
    lanes = tmp.shape[0] // _PIX
    for c0 in range(0, c, _PIX):
        rows = min(_PIX, c - c0)
        for ob in range(0, op, _OB):
            for p in range(_PIX):
                for k in range(_OB):
                    block[p, k] = 0.0
            for t in range(tiles):
                a = vb + t * c + c0
                x0, x1, x2, x3 = v[_u(a)], v[_u(a + 1)], v[_u(a + 2)], v[_u(a + 3)]
                x4, x5, x6, x7 = v[_u(a + 4)], v[_u(a + 5)], v[_u(a + 6)], v[_u(a + 7)]
                g = mb + t * op + ob
                for k in range(_OB):
                    gv = dm[_u(g + k)]
                    block[0, k] += x0 * gv
                    block[1, k] += x1 * gv
                    block[2, k] += x2 * gv
                    block[3, k] += x3 * gv
                    block[4, k] += x4 * gv
                    block[5, k] += x5 * gv
                    block[6, k] += x6 * gv
                    block[7, k] += x7 * gv
            # Copied out first: LLVM scalarises arithmetic on the block itself, and vectorizes the runtime-length sum.
            for p in range(_PIX):
                for k in range(_OB):
                    tmp[_u(p * _OB + k)] = block[p, k]
            for p in range(rows):
                at = ab + (c0 + p) * op + ob
                for k in range(lanes):
                    acc[_u(at + k)] += tmp[_u(p * _OB + k)]


@compiled
def _filter_grad(x, xs, qw, pt, pl, dy, dys, tiles_h, tiles_w, op, n0, n1, e, g, v, m, rows, acc, acc64, tmp):
    """Images ``n0:n1``'s frequency-domain filter gradient (flat [64, C, ``op``]), ``rows`` tile rows at a time,
    summed in ``acc`` (float32, zero on entry). Every ``_FLUSH_GROUPS`` groups ``acc`` moves into ``acc64`` (float64;
    the first time, overwriting it); returns how many times it did.

    ``e`` and ``g`` hold the column passes of a group's tile rows ([rows, 8, 4 * ``qw`` * C] and [rows, 8,
    4 * ``tiles_w`` * ``op``]); ``v`` and ``m`` one frequency's V and dM at a time, so that they stay in L1.
    """
    c = x.shape[3]
    _, oh, ow, o = dy.shape
    lx, ly = 4 * qw * c, 4 * tiles_w * op
    px, py = qw * c, tiles_w * op
    tile_rows = (n1 - n0) * tiles_h
    current = -1
    flushes = 0
    for g0 in range(0, tile_rows, rows):
        g1 = min(g0 + rows, tile_rows)
        for r in range(g0, g1):
            n = n0 + r // tiles_h
            if n != current:
                _pad_split(x, n, xs, qw, pt, pl)
                # Rows and columns past the output (sizes not a multiple of 4) and channels past O stay zero.
                for q in range(oh):
                    for s in range(ow):
                        dst = ((q * 4 + (s & 3)) * tiles_w + (s >> 2)) * op
                        for k in range(o):
                            dys[_u(dst + k)] = dy[n, q, s, k]
                current = n
            a, b = 4 * (r % tiles_h) * lx, 4 * (r % tiles_h) * ly
            for i in range(8):
                _bt(xs, a, a + lx, a + 2 * lx, a + 3 * lx, a + 4 * lx, a + 5 * lx, a + 6 * lx, a + 7 * lx, 0,
                    e, ((r - g0) * 8 + i) * lx, 0, 1, lx, i)
                _a(dys, b, b + ly, b + 2 * ly, b + 3 * ly, 0, g, ((r - g0) * 8 + i) * ly, 0, 1, ly, i)
        # Column s of tile tx is column tx + s // 4 of plane s % 4: a contiguous run over (tx, channel).
        nr = g1 - g0
        for i in range(8):
            a, b = i * lx, i * ly
            for j in range(8):
                _bt(e, a, a + px, a + 2 * px, a + 3 * px, a + c, a + px + c, a + 2 * px + c, a + 3 * px + c, 8 * lx,
                    v, 0, tiles_w * c, nr, tiles_w * c, j)
                _a(g, b, b + py, b + 2 * py, b + 3 * py, 8 * ly, m, 0, py, nr, py, j)
                _products(v, 0, c, m, 0, op, nr * tiles_w, acc, (i * 8 + j) * c * op, tmp)
        if (g0 // rows + 1) % _FLUSH_GROUPS == 0:
            for k in range(acc.shape[0]):
                acc64[k] = acc[k] + (acc64[k] if flushes else 0.0)
                acc[k] = 0.0
            flushes += 1
    return flushes


def filter_grad(xn, dyn, geo):
    """The filter gradient ([5, 5, C, O], float32) of the NHWC convolution ``geo`` at input ``xn``, for ``dyn``.

    ``geo`` must satisfy ``winograd.applies``.
    """
    n, h, w, c = xn.shape
    o = geo.f_shape[3]
    op = _padded_channels(o)
    tiles_h, tiles_w = -(-geo.oh // 4), -(-geo.ow // 4)
    hp = max(4 * tiles_h + 4, geo.pt + h)
    qw = -(-max(4 * tiles_w + 4, geo.pl + w) // 4)
    rows = max(1, GROUP_TILES // tiles_w)
    xc = np.ascontiguousarray(xn, np.float32)
    dyc = np.ascontiguousarray(dyn, np.float32)
    bounds = blas.chunk_bounds(n, max(1, min(n, blas.n_chunks(geo.flops(), per_thread=TASKS_PER_THREAD))))

    def task(i):
        xs = np.zeros(hp * 4 * qw * c, np.float32)
        dys = np.zeros(4 * tiles_h * 4 * tiles_w * op, np.float32)
        e = np.empty(rows * 8 * 4 * qw * c, np.float32)
        g = np.empty(rows * 8 * 4 * tiles_w * op, np.float32)
        # Past the last channel, the products read a few values beyond the last tile (and drop them).
        v = np.empty(rows * tiles_w * c + _PIX, np.float32)
        m = np.empty(rows * tiles_w * op, np.float32)
        acc = np.zeros(64 * c * op, np.float32)
        acc64 = np.empty(64 * c * op)
        tmp = np.empty(_PIX * _OB, np.float32)
        flushes = _filter_grad(xc, xs, qw, geo.pt, geo.pl, dyc, dys, tiles_h, tiles_w, op, bounds[i][0], bounds[i][1],
                               e, g, v, m, rows, acc, acc64, tmp)
        return acc64 + acc if flushes else acc

    parts = blas.parallel_chunks(task, len(bounds))
    du = parts[0].astype(np.float64)
    for p in parts[1:]:
        du += p
    # G^T dU G in float64: dU is much larger than dg (they cancel), and float32 here would add as much error again.
    dg = blas.matmul(_GG, du.reshape(64, c, op)[:, :, :o].reshape(64, -1))
    return dg.astype(np.float32).reshape(5, 5, c, o)


# ---------------------------------------------------------------------------------------------------------------
# Forward convolution (and, through ``conv``, the stride-1 input gradient): Y = A^T [(G g G^T) * (B^T d B)] A.

# Tiles per group in the forward direction (whole tile rows): 4 rows of the CNN's 4 tiles. Measured on its
# second layer against 8 and 32: a group's 8 products of one column frequency and their partial output transform
# (8 x 16 tiles x 64 channels, 32 KB) stay in L1/L2 while the next column frequency is computed.
FORWARD_GROUP_TILES = 16
# F(4x4) runs the forward direction where it needs at most this share of F(2x2)'s products (``beats_f2``).
MAX_PRODUCT_RATIO = 0.7


@compiled(fastmath={"contract"})
def _at(src, a0, a1, a2, a3, a4, a5, a6, a7, ss, dst, d, ds, rows, n, r):
    """Row ``r`` of the output transform, ``rows`` times: ``dst[d + q*ds:][:n] = sum over s of A^T[r, s] *
    src[a_s + q*ss:][:n]``, with A^T = [[1, 1, 1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1/2, -1/2, 0],
    [0, 1, 1, 4, 4, 1/4, 1/4, 0], [0, 1, -1, 8, -8, 1/8, -1/8, 1]]."""
    wide_vectors()
    for q in range(rows):
        b0, b1, b2, b3 = a0 + q * ss, a1 + q * ss, a2 + q * ss, a3 + q * ss
        b4, b5, b6, b7 = a4 + q * ss, a5 + q * ss, a6 + q * ss, a7 + q * ss
        o = d + q * ds
        if r == 0:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b0 + k)] + src[_u(b1 + k)] + src[_u(b2 + k)] + src[_u(b3 + k)]
                                  + src[_u(b4 + k)] + src[_u(b5 + k)] + src[_u(b6 + k)])
        elif r == 1:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b1 + k)] - src[_u(b2 + k)] + _F2 * (src[_u(b3 + k)] - src[_u(b4 + k)])
                                  + _H * (src[_u(b5 + k)] - src[_u(b6 + k)]))
        elif r == 2:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b1 + k)] + src[_u(b2 + k)] + _F4 * (src[_u(b3 + k)] + src[_u(b4 + k)])
                                  + _Q * (src[_u(b5 + k)] + src[_u(b6 + k)]))
        else:
            for k in range(n):
                dst[_u(o + k)] = (src[_u(b1 + k)] - src[_u(b2 + k)] + _F8 * (src[_u(b3 + k)] - src[_u(b4 + k)])
                                  + _E * (src[_u(b5 + k)] - src[_u(b6 + k)]) + src[_u(b7 + k)])


@compiled
def _store(t, tt, y, bias, lo, out, n0, g0, nr, tiles_h, tiles_w, op, pool):
    """The group's outputs into ``out``: the column pass of the output transform (``t``: [4, 8, ``tt``] after the
    row pass, ``tt`` = the group's tiles times ``op``) into ``y`` ([4, 4, ``tt``]), then per value
    ``max(conv + bias, lo)``; with ``pool`` each 2x2 quarter of a tile is max-pooled into one output (bias after
    the max is exact: rounding is monotonic). Rows and columns past the output (partial tiles) are dropped."""
    for s in range(4):
        _at(t, 0, tt, 2 * tt, 3 * tt, 4 * tt, 5 * tt, 6 * tt, 7 * tt, 8 * tt, y, s * tt, 4 * tt, 4, tt, s)
    _, oh, ow, o = out.shape
    out1 = out.reshape(-1)
    for q in range(nr):
        n = n0 + (g0 + q) // tiles_h
        ty = (g0 + q) % tiles_h
        if pool:
            for a in range(2):
                row = 2 * ty + a
                if row >= oh:
                    continue
                for b in range(2):
                    for tx in range(tiles_w):
                        col = 2 * tx + b
                        if col >= ow:
                            continue
                        dst = ((n * oh + row) * ow + col) * o
                        p0 = (8 * a + 2 * b) * tt + (q * tiles_w + tx) * op
                        store_pooled(out1, dst, y, p0, p0 + tt, p0 + 4 * tt, p0 + 5 * tt, bias, lo)
            continue
        for r in range(4):
            row = 4 * ty + r
            if row >= oh:
                continue
            for s in range(4):
                for tx in range(tiles_w):
                    col = 4 * tx + s
                    if col >= ow:
                        continue
                    dst = ((n * oh + row) * ow + col) * o
                    store_biased(out1, dst, y, (r * 4 + s) * tt + (q * tiles_w + tx) * op, bias, lo)


@compiled
def _forward(x, xs, qw, pt, pl, u, op, bias, lo, out, pool, t0, t1, e, v, m, t, y, rows, xoff):
    """Tile rows ``t0:t1`` (numbered over the whole batch) of the convolution into ``out`` (see ``forward``),
    ``rows`` tile rows at a time.

    Per group: the column pass of the input transform (``B^T`` over each tile row's 8 input rows) into ``e``
    ([rows, 8, 4 * ``qw`` * C]); then, one column frequency ``j`` at a time, for each row frequency ``i`` the
    row pass into ``v`` (V[i, j]: [tiles, C]) and its product with U[i, j] into ``m`` ([8, tiles, ``op``], rows
    ``ms`` apart), and the row pass of the output transform over the 8 products into ``t``. V stays in L1 and
    the 8 products in L2, where all 64 at once would not.
    """
    c = x.shape[3]
    oh = out.shape[1] * 2 if pool else out.shape[1]
    ow = out.shape[2] * 2 if pool else out.shape[2]
    tiles_h, tiles_w = (oh + 3) // 4, (ow + 3) // 4
    lx, px = 4 * qw * c, qw * c
    # Product rows sit half a cache line's worth of floats apart beyond their length, so that the 8 streams of
    # the output transform do not all map to the same L1 sets.
    ms = (rows * tiles_w + _PIX - 1) // _PIX * _PIX * op + _OB // 2
    current = -1
    for g0 in range(t0, t1, rows):
        g1 = min(g0 + rows, t1)
        nr = g1 - g0
        for r in range(g0, g1):
            n = r // tiles_h
            if n != current:
                _pad_split(x, n, xs, qw, pt, pl)
                current = n
            a = 4 * (r % tiles_h) * lx
            for i in range(8):
                _bt(xs, a, a + lx, a + 2 * lx, a + 3 * lx, a + 4 * lx, a + 5 * lx, a + 6 * lx, a + 7 * lx, 0,
                    e, ((r - g0) * 8 + i) * lx, 0, 1, lx, i)
        # The products run over whole blocks of 8 tiles: those past the group's last are computed, then dropped.
        nt = (nr * tiles_w + _PIX - 1) // _PIX * _PIX
        tt = nr * tiles_w * op
        for j in range(8):
            for i in range(8):
                a = i * lx
                # Column s of tile tx is column tx + s // 4 of plane s % 4: a contiguous run over (tx, channel).
                _bt(e, a, a + px, a + 2 * px, a + 3 * px, a + c, a + px + c, a + 2 * px + c, a + 3 * px + c, 8 * lx,
                    v, 0, tiles_w * c, nr, tiles_w * c, j)
                f = i * 8 + j
                _row_blocks(v, xoff, u[f * c * op:(f + 1) * c * op], op, m[i * ms:i * ms + nt * op], 0, c)
            for r in range(4):
                _at(m, 0, ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms, 6 * ms, 7 * ms, 0, t, (r * 8 + j) * tt, 0, 1, tt, r)
        _store(t, tt, y, bias, lo, out, 0, g0, nr, tiles_h, tiles_w, op, pool)


@compiled
def _transform_filter(f, u, tmp):
    """U = G g G^T per (input, output) channel pair into ``u`` ([64, C, op] float32, channels past O untouched),
    summed in float64; ``tmp`` ([8, 5, O] float64) is scratch. Compiled: numpy's [64, 25] x [25, C*O] product
    with its conversions took 1.3 ms on the CNN's second layer, as much as a third of the convolution at batch 50.
    """
    _, _, c, o = f.shape
    for ch in range(c):
        for i in range(8):
            for b in range(5):
                for k in range(o):
                    tmp[i, b, k] = (_G[i, 0] * f[0, b, ch, k] + _G[i, 1] * f[1, b, ch, k] + _G[i, 2] * f[2, b, ch, k]
                                    + _G[i, 3] * f[3, b, ch, k] + _G[i, 4] * f[4, b, ch, k])
        for i in range(8):
            for j in range(8):
                for k in range(o):
                    u[i * 8 + j, ch, k] = (_G[j, 0] * tmp[i, 0, k] + _G[j, 1] * tmp[i, 1, k] + _G[j, 2] * tmp[i, 2, k]
                                           + _G[j, 3] * tmp[i, 3, k] + _G[j, 4] * tmp[i, 4, k])


def _filter_transform(f, op):
    """U = G g G^T per (input, output) channel pair: flat [64, C, ``op``] float32, computed in float64."""
    _, _, c, o = f.shape
    u = np.zeros((64, c, op), np.float32)
    _transform_filter(np.ascontiguousarray(f, np.float32), u, np.empty((8, 5, o)))
    return u.reshape(-1)


def beats_f2(geo) -> bool:
    """Whether the forward convolution ``geo`` (one ``winograd.applies`` admits) runs faster here than in F(2x2, 5x5).

    F(4x4) needs 64 products per 4x4 tile where F(2x2) needs 36 per 2x2 tile, but rounds the output up to
    whole tiles of 4: on small outputs it multiplies more padding. It runs here when it needs at most
    ``MAX_PRODUCT_RATIO`` of F(2x2)'s products. Measured (forward, 16-64 images, 32 -> 64 channels): 14x14
    (ratio 0.58) 1.15-1.35x faster here, 7x7 and 12x12 (0.44) 1.2-1.3x, 28x28 and 56x56 1.4x, 10x10 (0.64) even;
    5x5 and 6x6 (0.79) 0.9x, 1x3 (0.89) 0.8x, 2x2 (1.78) 0.65x.
    """
    def tiles(size, edge):
        return -(-size // edge)

    f4 = 64 * tiles(geo.oh, 4) * tiles(geo.ow, 4)
    f2 = 36 * tiles(geo.oh, 2) * tiles(geo.ow, 2)
    return f4 <= MAX_PRODUCT_RATIO * f2


def _tile_row_tasks(geo, tiles_h):
    """Bounds of 4-row tile rows numbered over the whole batch, one pair per task: whole images where there are
    enough to go round (each task splits each of its images once), else runs of tile rows, so that a batch of one
    keeps every thread busy (Inception v3's 35x35 5x5 layers at batch 1)."""
    n = geo.in_shape[0]
    chunks = max(1, blas.n_chunks(geo.flops(), per_thread=4))
    if n >= chunks:
        return [(a * tiles_h, b * tiles_h) for a, b in _tasks(geo)]
    return blas.chunk_bounds(n * tiles_h, min(chunks, 2 * blas.THREADS))


def forward(xn, f, bias, geo, relu=False, pool=False):
    """The NHWC float32 convolution ``geo`` of ``xn`` with the 5x5 filter ``f`` ([5, 5, C, O]), plus ``bias``
    (or none), then relu, then with ``pool`` a 2x2 stride-2 max pool (even output height and width).

    ``geo`` must satisfy ``winograd.applies``.
    """
    n, h, w, c = xn.shape
    o = f.shape[3]
    op = _padded_channels(o)
    tiles_h, tiles_w = -(-geo.oh // 4), -(-geo.ow // 4)
    hp = max(4 * tiles_h + 4, geo.pt + h)
    qw = -(-max(4 * tiles_w + 4, geo.pl + w) // 4)
    rows = max(1, FORWARD_GROUP_TILES // tiles_w)
    gt = _rounded(rows * tiles_w, _PIX)
    u = _filter_transform(f, op)
    b = np.zeros(o, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    out = np.empty((n, geo.oh // 2, geo.ow // 2, o) if pool else (n, geo.oh, geo.ow, o), np.float32)
    xc = np.ascontiguousarray(xn, np.float32)
    lo = np.float32(0 if relu else -np.inf)
    xoff = np.arange(c, dtype=np.int64)
    bounds = _tile_row_tasks(geo, tiles_h)

    def task(i):
        xs = np.zeros(hp * 4 * qw * c, np.float32)
        e = np.empty(rows * 8 * 4 * qw * c, np.float32)
        # Zeroed: the products read whole blocks of 8 tiles, past a short group's last (their results are dropped).
        v = np.zeros(gt * c, np.float32)
        m = np.empty(8 * (gt * op + _OB // 2), np.float32)
        t = np.empty(32 * gt * op, np.float32)
        y = np.empty(16 * gt * op, np.float32)
        _forward(xc, xs, qw, geo.pt, geo.pl, u, op, b, lo, out, pool, bounds[i][0], bounds[i][1], e, v, m, t, y,
                 rows, xoff)

    blas.parallel_chunks(task, len(bounds))
    return out
