"""Float32 NHWC convolution as BLAS products over blocks of output pixels, each finished while in cache.

The output is a [N*OH*OW, O] matrix: row ``p`` is one output pixel, the product of its patch (the
KH*KW*C input values its window reads) with the [KH*KW*C, O] filter. The pixels are cut into blocks
that are spread over the plugin's threads:

- a 1x1 convolution at stride 1 without padding needs no patches at all: its input, read as an
  [N*H*W, C] matrix, is the patch matrix, and each block is one product straight off the NHWC buffer;
- any other convolution (strided 1x1, 3x3, 7x7/2, 1x7...) gathers each block's patches into a
  per-thread buffer about the size of the core's L2 cache (``_gather``: compiled, zero padding by
  bounds checks, no padded copy of the input), then multiplies.

Each block's ``Epilogue`` (bias, an optional residual input of the output's shape, then the
activation's clamp) runs right after its product, while the block is in cache. Where the pixels are
too few to share between threads, the output channels are split instead (the patches are gathered
once, and each thread multiplies them by its share of the filter's columns). A filter the graph
promises constant (a frozen model's) is packed into panels once, and the products run through
``packed_gemm`` instead of OpenBLAS, which would pack it again on every call.

Shared with the other convolution kernels: ``Epilogue`` and its compiled pass ``_finish``, ``scale_shift``
(``_FusedScaleShift``: an inference batch norm and activation in one pass) and ``constant_transform``
(a filter's transform, kept while a filter the graph promises constant lives).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .. import blas
from ..jit import compiled
from . import packed_gemm
from .conv_direct import _max, _u, wide_vectors

# A block's patch matrix is kept about this size: it stays in the core's L2 cache between the gather and the product.
BLOCK_BYTES = 1 << 21
# Blocks of fewer pixels than this cost more in packing: OpenBLAS packs the whole filter on every call.
MIN_ROWS = 128
# Output channels per thread, at least, where the channels are split instead of the pixels.
MIN_COLUMNS = 64
_INF = np.float32(np.inf)


# Constant filters go through ``packed_gemm`` (False: OpenBLAS for every filter).
PACKED = True

# Passes over memory (epilogues, scale-shift) split across threads from this many bytes: below, handing a chunk
# to a helper thread costs about what the second core saves.
PARALLEL_PASS_BYTES = 1 << 20


def _memory_chunks(nbytes: int) -> int:
    return 1 if nbytes < PARALLEL_PASS_BYTES else blas.THREADS


@compiled
def _min(a, b):
    """np.minimum for two scalars: a NaN on either side wins."""
    return a if (a <= b) | (a != a) else b


@compiled
def _finish(y, r0, r1, c0, c1, bias, side, lo, hi):
    """``y[r, k] = min(max(y[r, k] + bias[k] + side[r, k], lo), hi)`` over rows ``r0:r1`` and columns ``c0:c1`` of
    the 2-D ``y``; ``side`` (an array like ``y``) is left out when it has no rows."""
    wide_vectors()
    o = y.shape[1]
    y1 = y.reshape(-1)
    s1 = side.reshape(-1)
    for r in range(r0, r1):
        d = r * o
        if s1.shape[0] > 0:
            for k in range(c0, c1):
                y1[_u(d + k)] = _min(_max(y1[_u(d + k)] + bias[_u(k)] + s1[_u(d + k)], lo), hi)
        else:
            for k in range(c0, c1):
                y1[_u(d + k)] = _min(_max(y1[_u(d + k)] + bias[_u(k)], lo), hi)


@compiled
def _scale_shift(x, y, r0, r1, scale, offset, lo, hi):
    """``y[r, k] = min(max(x[r, k] * scale[k] + offset[k], lo), hi)`` over rows ``r0:r1`` of the 2-D ``x`` and ``y``."""
    wide_vectors()
    c = scale.shape[0]
    x1 = x.reshape(-1)
    y1 = y.reshape(-1)
    for r in range(r0, r1):
        d = r * c
        for k in range(c):
            y1[_u(d + k)] = _min(_max(x1[_u(d + k)] * scale[_u(k)] + offset[_u(k)], lo), hi)


def scale_shift(x, scale, offset, lo=-np.inf, hi=np.inf, out=None):
    """``min(max(x * scale + offset, lo), hi)`` with ``scale`` and ``offset`` along the last axis, float32, in one pass
    (numpy's broadcast multiply and add take two, each several times slower than a copy), into ``out`` if given.

    Example:
        >>> scale_shift(np.array([[1.0, -2.0]], np.float32), np.float32([2, 1]), np.float32([0, 1]), lo=0).tolist()
        [[2.0, 0.0]]
    """
    c = x.shape[-1] if x.ndim else 1
    x2 = np.ascontiguousarray(x, np.float32).reshape(-1, c)
    out = np.empty(x.shape, np.float32) if out is None else out
    y2 = out.reshape(-1, c)
    s, t = np.ascontiguousarray(scale, np.float32), np.ascontiguousarray(offset, np.float32)
    lo, hi = np.float32(lo), np.float32(hi)
    bounds = blas.chunk_bounds(x2.shape[0], _memory_chunks(x2.nbytes))
    blas.parallel_chunks(lambda i: _scale_shift(x2, y2, bounds[i][0], bounds[i][1], s, t, lo, hi), len(bounds))
    return out


class Epilogue:
    """What a fused convolution applies to its output: ``min(max(conv + bias + side, lo), hi)``.

    ``bias`` has one value per output channel (or is None: zeros), ``side`` is None or an array of
    the output's shape (a residual connection), ``lo``/``hi`` clamp: (0, inf) is relu, (0, 6) relu6,
    (-inf, inf) no activation.

    Example:
        >>> y = np.array([[-2.0, 3.0]], np.float32)
        >>> Epilogue(np.ones(2, np.float32), lo=0.0).apply(y, 0, 1, 0, 2)
        >>> y.tolist()
        [[0.0, 4.0]]
    """

    __slots__ = ("bias", "side", "lo", "hi")

    def __init__(self, bias, side=None, lo=-np.inf, hi=np.inf) -> None:
        self.bias = bias
        self.side = side
        self.lo, self.hi = np.float32(lo), np.float32(hi)

    @property
    def trivial(self) -> bool:
        """Whether it changes nothing (no bias, no side input, no clamp)."""
        return self.bias is None and self.side is None and self.lo == -_INF and self.hi == _INF

    def side_rows(self):
        """The side input as a 2-D [pixels, channels] float32 matrix (no rows when there is none)."""
        if self.side is None:
            return np.empty((0, 0), np.float32)
        return np.ascontiguousarray(self.side, np.float32).reshape(-1, self.side.shape[-1])

    def apply(self, y2, r0: int, r1: int, c0: int, c1: int, side2=None, bias=None) -> None:
        """Finish rows ``r0:r1``, columns ``c0:c1`` of the 2-D output ``y2`` in place."""
        if bias is None:
            bias = self.bias_or_zeros(y2.shape[1])
        _finish(y2, r0, r1, c0, c1, bias, self.side_rows() if side2 is None else side2, self.lo, self.hi)

    def bias_or_zeros(self, channels: int):
        return np.zeros(channels, np.float32) if self.bias is None else np.ascontiguousarray(self.bias, np.float32)

    def finish(self, out) -> None:
        """Apply to a whole NHWC output (for kernels that computed the convolution alone), in blocks across threads."""
        if self.trivial:
            return
        y2 = out.reshape(-1, out.shape[-1])
        bias, side2 = self.bias_or_zeros(y2.shape[1]), self.side_rows()
        bounds = blas.chunk_bounds(y2.shape[0], _memory_chunks(y2.nbytes))
        blas.parallel_chunks(lambda i: _finish(y2, bounds[i][0], bounds[i][1], 0, y2.shape[1], bias, side2,
                                               self.lo, self.hi), len(bounds))


@compiled
def _gather(x, p0, p1, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, cols):
    """Rows ``p0:p1`` of the patch matrix (one per output pixel, numbered over N*OH*OW) into ``cols``
    (flat, [p1 - p0, KH*KW*C]). Taps that fall in the padding read zeros."""
    _, h, w, c = x.shape
    x1 = x.reshape(-1)
    k = kh * kw * c
    run = kw * c
    for p in range(p0, p1):
        n = p // (oh * ow)
        r = (p // ow) % oh
        q = p % ow
        base = (p - p0) * k
        x0 = q * sw - pl
        whole = dw == 1 and x0 >= 0 and x0 + kw <= w  # the window's row is one contiguous run of the input row
        for i in range(kh):
            y = r * sh - pt + i * dh
            d = base + i * run
            if y < 0 or y >= h:
                for t in range(run):
                    cols[_u(d + t)] = 0.0
                continue
            row = (n * h + y) * w
            if whole:
                s = (row + x0) * c
                for t in range(run):
                    cols[_u(d + t)] = x1[_u(s + t)]
                continue
            for j in range(kw):
                xq = x0 + j * dw
                dj = d + j * c
                if xq < 0 or xq >= w:
                    for ch in range(c):
                        cols[_u(dj + ch)] = 0.0
                else:
                    s = (row + xq) * c
                    for ch in range(c):
                        cols[_u(dj + ch)] = x1[_u(s + ch)]


_transforms: dict = {}
_transforms_lock = threading.Lock()


def constant_transform(f, tag, compute, constant: bool):
    """``compute()``, a transform of the filter ``f``; for a ``constant`` filter computed once per (array, ``tag``)
    and kept while the array lives.

    ``constant`` is the graph's promise that ``f`` never changes (a frozen model's filter, a plan constant):
    the result is then looked up by the array's identity, held through a weak reference, and dropped with
    the array.

    Example:
        >>> f = np.ones(3, np.float32)
        >>> constant_transform(f, "x2", lambda: f * 2, True) is constant_transform(f, "x2", lambda: f * 3, True)
        True
    """
    if not constant:
        return compute()
    key = (id(f), tag)
    with _transforms_lock:
        hit = _transforms.get(key)
    if hit is not None and hit[0]() is f:
        return hit[1]
    value = compute()
    try:
        ref = weakref.ref(f, lambda _, key=key: _transforms.pop(key, None))
    except TypeError:  # not weakly referable: not kept
        return value
    with _transforms_lock:
        _transforms[key] = (ref, value)
    return value


_local = threading.local()


def _buffer(size: int):
    """A per-thread float32 scratch buffer of at least ``size`` values (kept between calls: no page faults)."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.size < size:
        buf = _local.buf = np.empty(max(size, 1 << 16), np.float32)
    return buf[:size]


def plan(m: int, k: int, o: int, gathered: bool) -> tuple[list, list]:
    """(pixel blocks, channel blocks) of an [m, k] x [k, o] product: every pair is one task.

    Example:
        >>> plan(100, 8, 16, False)
        ([(0, 100)], [(0, 16)])
    """
    flops = 2.0 * m * k * o
    tasks = blas.n_chunks(flops, per_thread=2)
    if tasks == 1 and blas.conv_worth_splitting(flops):
        tasks = blas.THREADS
    blocks = tasks
    if gathered:  # cache-sized patch matrices, but not so small that packing the filter dominates
        blocks = max(blocks, -(-m // max(MIN_ROWS, BLOCK_BYTES // (4 * k))))
    blocks = max(1, min(blocks, m // MIN_ROWS or 1))
    columns = 1
    if blocks < tasks and o >= 2 * MIN_COLUMNS:
        columns = min(tasks // blocks, o // MIN_COLUMNS)
    threads = blas.THREADS
    if tasks > 1 and blocks * columns < 4 * threads and (blocks * columns) % threads:
        # A few tasks that the threads cannot share evenly leave one idle at the end (DenseNet's 14x14 1x1
        # convolutions, 3 blocks on 2 threads: 1.3 times faster than one thread): even them out.
        if blocks >= threads:
            blocks -= blocks % threads
            columns = 1
        elif o >= threads * MIN_COLUMNS:
            columns = threads * max(1, columns // threads)
    return blas.chunk_bounds(m, blocks), blas.chunk_bounds(o, columns)


def forward(xn, f, geo, epilogue: Epilogue, constant: bool = False):
    """The NHWC float32 convolution ``geo`` of ``xn`` ([N, H, W, C]) with ``f`` ([KH, KW, C, O]), finished by
    ``epilogue``: a new [N, OH, OW, O] array.

    ``constant`` is the graph's promise that ``f`` never changes: it is then packed into panels once
    (``packed_gemm``) and the products skip OpenBLAS's packing of it on every call.

    Example:
        >>> from tensorflux.extend import conv2d_geometry
        >>> x, f = np.ones((1, 3, 3, 2), np.float32), np.ones((3, 3, 2, 1), np.float32)
        >>> geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
        >>> forward(x, f, geo, Epilogue(None))[0, :, :, 0].tolist()
        [[8.0, 12.0, 8.0], [12.0, 18.0, 12.0], [8.0, 12.0, 8.0]]
    """
    n, h, w, c = geo.in_shape
    kh, kw, _, o = f.shape
    m, k = n * geo.oh * geo.ow, kh * kw * c
    out = np.empty((n, geo.oh, geo.ow, o), np.float32)
    if out.size == 0:
        return out
    xc = np.ascontiguousarray(xn, np.float32)
    f2 = np.ascontiguousarray(f, np.float32).reshape(k, o)
    out2 = out.reshape(m, o)
    direct = kh == kw == 1 and geo.sh == geo.sw == 1 and not geo.padded
    a = xc.reshape(m, c) if direct else None
    rows, columns = plan(m, k, o, not direct)
    wp = None
    if constant and PACKED:
        wp = constant_transform(f, "panels", lambda: packed_gemm.pack(f2), True)
        # Channel blocks of whole panels.
        panel_bounds = blas.chunk_bounds(packed_gemm.panels(o), len(columns))
        columns = [(b0 * packed_gemm.PANEL, min(b1 * packed_gemm.PANEL, o)) for b0, b1 in panel_bounds]
    bias, side2 = epilogue.bias_or_zeros(o), epilogue.side_rows()
    finish = not epilogue.trivial
    if not direct and len(columns) > 1:
        # Every channel block would gather the same patches (ResNet-50's 7x7 3x3 layers at batch 1: four times
        # 0.9 MB): gather them once, split across the threads, then share them.
        a = np.empty((m, k), np.float32)
        a1 = a.reshape(-1)
        parts = blas.chunk_bounds(m, blas.THREADS if m * k * 4 >= PARALLEL_PASS_BYTES // 4 else 1)

        def gather(i):
            p0, p1 = parts[i]
            _gather(xc, p0, p1, geo.oh, geo.ow, kh, kw, geo.sh, geo.sw, geo.dh, geo.dw, geo.pt, geo.pl,
                    a1[p0 * k:p1 * k])

        blas.parallel_chunks(gather, len(parts))

    def task(i):
        r0, r1 = rows[i // len(columns)]
        c0, c1 = columns[i % len(columns)]
        if a is not None:  # the input itself (1x1, stride 1) or the patches gathered above
            block = a[r0:r1]
        else:
            block = _buffer((r1 - r0) * k)
            _gather(xc, r0, r1, geo.oh, geo.ow, kh, kw, geo.sh, geo.sw, geo.dh, geo.dw, geo.pt, geo.pl, block)
            block = block.reshape(r1 - r0, k)
        if wp is not None and finish:  # finished as it is stored: no second pass over the output
            packed_gemm.product_finished(block, wp, out2[r0:r1], c0 // packed_gemm.PANEL, -(-c1 // packed_gemm.PANEL),
                                         bias, side2[r0:r1] if side2.shape[0] else side2, epilogue.lo, epilogue.hi)
            return
        if wp is not None:
            packed_gemm.product(block, wp, out2[r0:r1], c0 // packed_gemm.PANEL, -(-c1 // packed_gemm.PANEL))
        else:
            np.matmul(block, f2[:, c0:c1] if len(columns) > 1 else f2, out=out2[r0:r1, c0:c1])
        if finish:
            _finish(out2, r0, r1, c0, c1, bias, side2, epilogue.lo, epilogue.hi)

    blas.parallel_chunks(task, len(rows) * len(columns))
    return out
