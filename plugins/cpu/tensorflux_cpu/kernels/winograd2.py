"""Winograd F(2x2, 3x3) float32 convolution for frozen models' 3x3 layers on few tiles (small images at a small batch).

At batch 1 the 3x3 layers of ResNet-50's last stages (14x14 and 7x7 outputs) read far more filter than
input: ``winograd3``'s F(4x4, 3x3) keeps a transformed filter four times the filter's size, which then
comes from memory on every call (a 14x14x256 layer: 9.4 MB for 0.2 MB of input), and on a 7x7 output its
4x4 tiles are mostly padding. F(2x2, 3x3) needs 16 products per 2x2 outputs instead of 36 (2.25 times fewer
multiplications), with a transformed filter 16/9 of the filter's size and tiles that waste at most a row
and a column: on ResNet-50's 14x14 layers at batch 1, 49 tiles, each of its 16 products is a [49, C] x
[C, O] matrix product.

``U = G g G^T`` is computed once per filter the graph promises constant (in float64) and packed into panels
(``packed_gemm``); the input transform ``V = B^T d B`` is a few numpy passes over the (small) tiles; the 16
products run through ``packed_gemm``, spread over the plugin's threads; the output transform ``Y = A^T M A``
and the epilogue (bias, residual input, activation clamp) are one compiled pass (``_output``). The interpolation
points are 0, 1, -1 and infinity: the transforms only add and subtract, so the results are as accurate as
the direct sum's to a few units in the last place.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import blas
from ..jit import compiled
from . import packed_gemm
from .conv_direct import _max, _u, wide_vectors
from .conv_gemm import Epilogue, _min, constant_transform

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
# Fewer input channels than this, and the transforms cost more than the products save.
MIN_CHANNELS = 16
# More 2x2 tiles than this over the batch, and ``winograd3``'s F(4x4, 3x3) (4 times fewer multiplications, its
# transformed filter read once for many tiles) is the faster one; ``conv`` prefers it wherever it applies (on
# ResNet-50's 14x14 layers at batch 1 the two ran even here).
MAX_TILES = 128
# Below this many floating-point operations (as the direct sum counts them) the numpy transforms cost more than
# the products save (a 9x11 image on 20 -> 33 channels: 0.23 ms here against 0.13 ms for gathered patches).
MIN_FLOPS = 1 << 25


def tiles(geo) -> int:
    """The 2x2 output tiles of the convolution ``geo`` over its whole batch."""
    return geo.in_shape[0] * -(-geo.oh // 2) * -(-geo.ow // 2)


def applies(geo, dtype, constant: bool) -> bool:
    """Whether the NHWC convolution ``geo`` runs here: float32, a 3x3 filter the graph promises ``constant``, stride
    and dilation 1, at least ``MIN_CHANNELS`` input channels, at most ``MAX_TILES`` 2x2 output tiles and at least
    ``MIN_FLOPS`` of work.

    Example:
        >>> from tensorflux.extend import conv2d_geometry
        >>> geo = conv2d_geometry((1, 14, 14, 256), (3, 3, 256, 256), [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
        >>> applies(geo, np.float32, True), applies(geo, np.float32, False)
        (True, False)
    """
    kh, kw, c, o = geo.f_shape
    return (constant and np.dtype(dtype) == np.float32 and kh == kw == 3 and geo.sh == geo.sw == geo.dh == geo.dw == 1
            and c >= MIN_CHANNELS and o > 0 and geo.oh * geo.ow > 0 and tiles(geo) <= MAX_TILES
            and geo.flops() >= MIN_FLOPS)


def _filter_panels(f):
    """U = G g G^T for each of the 16 frequencies, each packed into panels (``packed_gemm.pack``)."""
    u = np.einsum("ai,ijco,bj->abco", _G, np.asarray(f, np.float64), _G).astype(np.float32)
    c, o = f.shape[2], f.shape[3]
    return [packed_gemm.pack(u[a, b].reshape(c, o)) for a in range(4) for b in range(4)]


def forward(xn, f, geo, epilogue: Epilogue):
    """The NHWC float32 convolution ``geo`` of ``xn`` with the constant 3x3 filter ``f`` ([3, 3, C, O]), finished by
    ``epilogue``; ``geo`` must satisfy ``applies``.

    Example:
        >>> from tensorflux.extend import conv2d_geometry
        >>> x, f = np.ones((1, 3, 3, 16), np.float32), np.ones((3, 3, 16, 1), np.float32)
        >>> geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
        >>> forward(x, f, geo, Epilogue(None))[0, :, :, 0].tolist()
        [[64.0, 96.0, 64.0], [96.0, 144.0, 96.0], [64.0, 96.0, 64.0]]
    """
    n, h, w, c = xn.shape
    o = f.shape[3]
    th, tw = -(-geo.oh // 2), -(-geo.ow // 2)
    count = n * th * tw
    up = constant_transform(f, "winograd2-panels", lambda: _filter_panels(f), True)
    # The input, zero-padded to whole 4x4 tiles (2 apart), and its tiles as a view: [n, th, tw, 4, 4, c].
    xp = np.zeros((n, 2 * th + 2, 2 * tw + 2, c), np.float32)
    rows, cols = max(0, min(h, 2 * th + 2 - geo.pt)), max(0, min(w, 2 * tw + 2 - geo.pl))
    xp[:, geo.pt:geo.pt + rows, geo.pl:geo.pl + cols] = xn[:, :rows, :cols]
    s = xp.strides
    d = as_strided(xp, (n, th, tw, 4, 4, c), (s[0], 2 * s[1], 2 * s[2], s[1], s[2], s[3]), writeable=False)
    # B^T d B, B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: rows first, then columns.
    r = (d[:, :, :, 0] - d[:, :, :, 2], d[:, :, :, 1] + d[:, :, :, 2], d[:, :, :, 2] - d[:, :, :, 1],
         d[:, :, :, 1] - d[:, :, :, 3])
    v = np.empty((4, 4, n, th, tw, c), np.float32)
    for i, ri in enumerate(r):
        np.subtract(ri[:, :, :, 0], ri[:, :, :, 2], out=v[i, 0])
        np.add(ri[:, :, :, 1], ri[:, :, :, 2], out=v[i, 1])
        np.subtract(ri[:, :, :, 2], ri[:, :, :, 1], out=v[i, 2])
        np.subtract(ri[:, :, :, 1], ri[:, :, :, 3], out=v[i, 3])
    v2 = v.reshape(16, count, c)
    m = np.empty((16, count, o), np.float32)
    panels = packed_gemm.panels(o)
    groups = blas.chunk_bounds(16, min(16, 2 * blas.THREADS) if blas.n_chunks(32.0 * count * c * o) > 1 else 1)

    def task(i):
        for j in range(*groups[i]):
            packed_gemm.product(v2[j], up[j], m[j], 0, panels)

    blas.parallel_chunks(task, len(groups))
    out = np.empty((n, geo.oh, geo.ow, o), np.float32)
    _output(m.reshape(-1), out, count, th, tw, epilogue.bias_or_zeros(o), epilogue.side_rows().reshape(-1),
            epilogue.lo, epilogue.hi)
    return out


@compiled(fastmath={"contract"})
def _output(m, out, count, th, tw, bias, side, lo, hi):
    """``out`` ([n, oh, ow, o]) from the products ``m`` (flat [16, tiles, o]): per tile, ``Y = A^T M A`` with
    ``A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]`` (the outputs inside the image only), then
    ``min(max(y + bias + side, lo), hi)`` (no side input when ``side`` is empty); one pass, where numpy took a
    dozen (0.2 ms of a 1 ms layer at 7x7x512)."""
    wide_vectors()
    n, oh, ow, o = out.shape
    o1 = out.reshape(-1)
    has_side = side.shape[0] > 0
    p = count * o  # one frequency's products
    for q in range(count):
        b = q // (th * tw)
        y0 = 2 * ((q // tw) % th)
        x0 = 2 * (q % tw)
        rows = min(2, oh - y0)
        cols = min(2, ow - x0)
        src = q * o
        d00 = ((b * oh + y0) * ow + x0) * o
        d01 = d00 + o
        d10 = d00 + ow * o
        d11 = d10 + o
        for k in range(o):
            e = src + k
            # Rows of A^T M: t0 = M0 + M1 + M2, t1 = M1 - M2 - M3 (Mi is row i of the tile's 4x4 products).
            t00 = m[_u(e)] + m[_u(4 * p + e)] + m[_u(8 * p + e)]
            t01 = m[_u(p + e)] + m[_u(5 * p + e)] + m[_u(9 * p + e)]
            t02 = m[_u(2 * p + e)] + m[_u(6 * p + e)] + m[_u(10 * p + e)]
            t03 = m[_u(3 * p + e)] + m[_u(7 * p + e)] + m[_u(11 * p + e)]
            t10 = m[_u(4 * p + e)] - m[_u(8 * p + e)] - m[_u(12 * p + e)]
            t11 = m[_u(5 * p + e)] - m[_u(9 * p + e)] - m[_u(13 * p + e)]
            t12 = m[_u(6 * p + e)] - m[_u(10 * p + e)] - m[_u(14 * p + e)]
            t13 = m[_u(7 * p + e)] - m[_u(11 * p + e)] - m[_u(15 * p + e)]
            bk = bias[_u(k)]
            y00 = t00 + t01 + t02 + bk
            y01 = t01 - t02 - t03 + bk
            y10 = t10 + t11 + t12 + bk
            y11 = t11 - t12 - t13 + bk
            if has_side:
                y00 += side[_u(d00 + k)]
                if cols == 2:
                    y01 += side[_u(d01 + k)]
                if rows == 2:
                    y10 += side[_u(d10 + k)]
                    if cols == 2:
                        y11 += side[_u(d11 + k)]
            o1[_u(d00 + k)] = _min(_max(y00, lo), hi)
            if cols == 2:
                o1[_u(d01 + k)] = _min(_max(y01, lo), hi)
            if rows == 2:
                o1[_u(d10 + k)] = _min(_max(y10, lo), hi)
                if cols == 2:
                    o1[_u(d11 + k)] = _min(_max(y11, lo), hi)
