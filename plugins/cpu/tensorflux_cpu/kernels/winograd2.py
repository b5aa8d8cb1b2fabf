"""Winograd F(2x2, 3x3) float32 convolution for frozen models' 3x3 layers on few tiles (small images at a small batch).

At batch 1 the 3x3 layers of ResNet-50's last stages (14x14 and 7x7 outputs) read far more filter than
input: ``winograd3``'s F(4x4, 3x3) keeps a transformed filter four times the filter's size, which then
comes from memory on every call (a 14x14x256 layer: 9.4 MB for 0.2 MB of input), and on a 7x7 output its
4x4 tiles are mostly padding. F(2x2, 3x3) needs 16 products per 2x2 outputs instead of 36 (2.25 times fewer
multiplications), with a transformed filter 16/9 of the filter's size and tiles that waste at most a row
and a column: on ResNet-50's 14x14 layers at batch 1, 49 tiles, each of its 16 products is a [49, C] x
[C, O] matrix product.

``U = G g G^T`` is computed once per filter the graph promises constant (in float64) and packed into panels
(``packed_gemm``); the input transform ``V = B^T d B`` and the output transform ``Y = A^T M A`` are a few
numpy passes over the (small) tiles; the 16 products run through ``packed_gemm``, spread over the plugin's
threads; the epilogue (bias, residual input, activation clamp) is ``conv_gemm.Epilogue``. The interpolation
points are 0, 1, -1 and infinity: the transforms only add and subtract, so the results are as accurate as
the direct sum's to a few units in the last place.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import blas
from . import packed_gemm
from .conv_gemm import Epilogue, constant_transform

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
    # A^T M A, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]: rows first, then columns.
    m4 = m.reshape(4, 4, n, th, tw, o)
    t = (m4[0] + m4[1] + m4[2], m4[1] - m4[2] - m4[3])
    y = np.empty((n, th, 2, tw, 2, o), np.float32)
    for i, ti in enumerate(t):
        np.add(ti[0] + ti[1], ti[2], out=y[:, :, i, :, 0])
        np.subtract(ti[1] - ti[2], ti[3], out=y[:, :, i, :, 1])
    out = np.ascontiguousarray(y.reshape(n, 2 * th, 2 * tw, o)[:, :geo.oh, :geo.ow])
    epilogue.finish(out)
    return out
