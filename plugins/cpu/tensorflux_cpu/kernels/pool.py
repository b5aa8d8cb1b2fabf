"""Pooling kernels and their gradients.

Max pooling and its gradient on float32/float64 run as compiled loops (``_loops``), one pass over the
input for any window, stride and padding; the common 2x2 window with stride 2 and no padding has its
own branch-free loop there. Average pooling on float32/float64 is one compiled pass too (``_avg_pool``).
The gradient goes to the first maximum of each window in row-major order,
as TF's CPU kernel does. Other dtypes use numpy: for 2x2/stride 2 the four window positions are four
strided views and the max is three ``np.maximum`` calls; other windows reduce over strided views,
one step per window position. Large batches are split across the plugin's threads. Everything runs
in NHWC; NCHW is transposed in and out.
"""

from __future__ import annotations

import numpy as np

from tensorflux.extend import pool2d_geometry, to_nhwc

from .. import blas
from ..jit import compiled
from . import _loops
from .conv import _LOW_PRECISION, _compute_dtype, _from_nhwc, _nhwc
from .conv_direct import _u, wide_vectors

_FAST = _loops.FAST  # dtypes of the compiled loops; others take numpy
# Below this many input bytes a pooling kernel runs on the calling thread alone. The compiled max
# pool (a quarter of its gradient's work per byte: counted so) is bound by memory, where a second
# thread gains little; its gradient gained about a quarter from 4 MiB up on an idle machine.
_PARALLEL_BYTES = 1 << 22


def _is_2x2(geo):
    """A 2x2 window with stride 2 and no padding (numpy's fast path)."""
    return geo.kh == geo.kw == geo.sh == geo.sw == 2 and not geo.padded


def _padded(geo, x, fill):
    if geo.padded:
        return np.pad(x, ((0, 0), (geo.pt, geo.pb), (geo.pl, geo.pr), (0, 0)), constant_values=fill)
    return x


def _windows(geo):
    """For each window position (row-major), the strided slice of the padded input it reads."""
    return [(slice(None), rows, cols, slice(None)) for _, _, rows, cols in geo.taps()]


def _counts(geo, dtype):
    """How many real (unpadded) cells each output window covers: [1, OH, OW, 1]."""
    rows, cols = (np.asarray(v) for v in geo.valid_counts())
    return (rows[:, None] * cols[None, :]).astype(dtype)[None, :, :, None]


def _by_batch(fn, n, nbytes):
    """Run ``fn(start, stop)`` over the batch: on this thread when small, else in chunks across threads."""
    if nbytes < _PARALLEL_BYTES or n < 2:
        fn(0, n)
        return
    bounds = blas.chunk_bounds(n, blas.THREADS * 4)
    blas.parallel_chunks(lambda i: fn(*bounds[i]), len(bounds))


def _views(x, oh, ow):
    """The four 2x2-window positions of ``x`` in row-major order, each [N, OH, OW, C]."""
    return [x[:, a:2 * oh:2, b:2 * ow:2] for a in (0, 1) for b in (0, 1)]


def _max2x2_into(x, out, oh, ow):
    v = _views(x, oh, ow)
    np.maximum(v[0], v[1], out=out)
    np.maximum(out, v[2], out=out)
    np.maximum(out, v[3], out=out)


def _compiled_pool(loop, geo, work, x, *arrays, flags=()):
    """Run the compiled ``loop(x, *arrays, ..., *flags)`` over NHWC arrays (made C-contiguous), by batch slices.

    ``work`` weighs the input's bytes against ``_PARALLEL_BYTES``.
    """
    n, h, w, c = x.shape
    flat = [np.ascontiguousarray(a) for a in (x, *arrays)]
    sizes = (geo.oh, geo.ow, geo.kh, geo.kw, geo.sh, geo.sw, geo.pt, geo.pl)

    def run(s, e):
        # [pixels, channels]: the compiled loops index rows, so the channel loop is contiguous
        loop(*[a[s:e].reshape(-1, c) if c else a[s:e].reshape(0, 0) for a in flat], e - s, h, w, *sizes, *flags)

    _by_batch(run, n, x.nbytes * work)


# Forward pools on a batch too small to split by images split each image's output rows instead, from this many
# input bytes: ResNet-50's 3x3/2 max pool at batch 1 (3.2 MB) and Inception v3's 3x3 average pools (about 1 MB)
# otherwise leave the second core idle.
_ROWS_PARALLEL_BYTES = 1 << 19


def _row_chunks(nbytes: int) -> int:
    """How many runs of rows a forward pool over ``nbytes`` of input is cut into: one per thread for each
    ``_ROWS_PARALLEL_BYTES``, at most 4 per thread (each run costs a hand-over between threads; below
    ``_ROWS_PARALLEL_BYTES``, one run on the calling thread)."""
    return int(min(4 * blas.THREADS, blas.THREADS * (nbytes // _ROWS_PARALLEL_BYTES))) or 1


def _max_pool_rows(geo, xn, out):
    """The compiled max pool in runs of output rows spread over the threads (for a batch of one or a few)."""
    n, h, w, c = xn.shape
    oh = geo.oh
    bounds = blas.chunk_bounds(n * oh, max(2, _row_chunks(xn.nbytes)))
    x3 = xn.reshape(n, h * w, c)
    o3 = out.reshape(n, oh * geo.ow, c)

    def run(i):
        g, stop = bounds[i]
        while g < stop:  # the run's rows, image by image
            b, i0 = divmod(g, oh)
            i1 = min(oh, i0 + stop - g)
            # The input rows these output rows' windows read, and the padding above them in that slice.
            rs, re = max(i0 * geo.sh - geo.pt, 0), min((i1 - 1) * geo.sh - geo.pt + geo.kh, h)
            _loops.max_pool(x3[b, rs * w:re * w], o3[b, i0 * geo.ow:i1 * geo.ow], 1, re - rs, w, i1 - i0, geo.ow,
                            geo.kh, geo.kw, geo.sh, geo.sw, geo.pt - i0 * geo.sh + rs, geo.pl)
            g += i1 - i0

    blas.parallel_chunks(run, len(bounds))


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" or dtype in _LOW_PRECISION else np.iinfo(dtype).min


def _max_pool_nhwc(geo, xn):
    xp = _padded(geo, xn, _lowest(xn.dtype))
    out = None
    for window in _windows(geo):
        out = xp[window].copy() if out is None else np.maximum(out, xp[window], out=out)
    return xp, out


def max_pool(x, *, ksize, strides, padding, data_format):
    """The maximum of each window (padding never wins; a nan in a window makes its maximum nan)."""
    xn = _nhwc(x, data_format)
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    if xn.dtype in _FAST:
        n, _, _, c = xn.shape
        out = np.empty((n, geo.oh, geo.ow, c), xn.dtype)
        if n < blas.THREADS * 4 and xn.nbytes >= _ROWS_PARALLEL_BYTES and geo.oh > 1 and c:
            _max_pool_rows(geo, np.ascontiguousarray(xn), out)
        else:
            _compiled_pool(_loops.max_pool, geo, 0.25, xn, out)
        return _from_nhwc(out, data_format)
    if _is_2x2(geo):
        n, _, _, c = xn.shape
        out = np.empty((n, geo.oh, geo.ow, c), xn.dtype)
        _by_batch(lambda s, e: _max2x2_into(xn[s:e], out[s:e], geo.oh, geo.ow), n, xn.nbytes)
    else:
        _, out = _max_pool_nhwc(geo, xn)
    return _from_nhwc(out, data_format)


def _max_pool_grad_2x2(xn, gc, dx, oh, ow):
    """Route ``gc`` into ``dx`` at the first maximum of each 2x2 window of ``xn``; writes every routed cell.

    The gradient is multiplied by each position's 0/1 mask (branch-free); the caller checks that ``gc``
    is finite, where that equals selecting it.
    """
    views = _views(xn, oh, ow)
    top = np.empty(gc.shape, xn.dtype)
    _max2x2_into(xn, top, oh, ow)
    taken = None
    for (a, b), view in zip(((0, 0), (0, 1), (1, 0), (1, 1)), views):
        hit = np.equal(view, top)
        if taken is None:
            taken = hit
        else:
            np.greater(hit, taken, out=hit)  # hit and not yet routed
            np.logical_or(taken, hit, out=taken)
        np.multiply(gc, hit, out=dx[:, a:2 * oh:2, b:2 * ow:2])


def fused_max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format, activation):
    """MaxPoolGrad, then with ``activation="Relu"`` ReluGrad at ``orig_input`` (the pool's input is the relu's
    output), in one pass: a window's gradient is routed only when its maximum is positive."""
    relu = activation == "Relu"
    xn, g = _nhwc(orig_input, data_format), _nhwc(grad, data_format)
    if not (xn.dtype in _FAST and g.dtype == xn.dtype):
        dx = max_pool_grad(orig_input, orig_output, grad, ksize=ksize, strides=strides, padding=padding,
                           data_format=data_format)
        return np.where(orig_input > 0, dx, np.zeros((), dx.dtype)) if relu else dx
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g.shape, "grad")
    dx = np.empty(xn.shape, xn.dtype)
    _compiled_pool(_loops.max_pool_grad, geo, 1, xn, g, dx, flags=(relu,))
    return _from_nhwc(dx, data_format)


def max_pool_grad(orig_input, orig_output, grad, *, ksize, strides, padding, data_format):
    """Each output's gradient goes to the first maximum of its window in row-major order, as TF's CPU kernel."""
    xn, g = _nhwc(orig_input, data_format), _nhwc(grad, data_format)
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    geo.check_out(g.shape, "grad")
    if xn.dtype in _FAST and g.dtype == xn.dtype:
        dx = np.empty(xn.shape, xn.dtype)
        _compiled_pool(_loops.max_pool_grad, geo, 1, xn, g, dx, flags=(False,))
        return _from_nhwc(dx, data_format)
    ct = _compute_dtype(grad.dtype)
    gc = g.astype(ct, copy=False)
    _, h, w, _ = xn.shape
    if _is_2x2(geo) and ct.kind == "f" and np.isfinite(np.add.reduce(gc, axis=None)):
        covered = (2 * geo.oh, 2 * geo.ow) == (h, w)
        dx = np.empty(xn.shape, ct) if covered else np.zeros(xn.shape, ct)
        _by_batch(lambda s, e: _max_pool_grad_2x2(xn[s:e], gc[s:e], dx[s:e], geo.oh, geo.ow), xn.shape[0], xn.nbytes)
        return _from_nhwc(dx.astype(grad.dtype, copy=False), data_format)
    xp, out = _max_pool_nhwc(geo, xn)
    # Padding holds the dtype's lowest value, which real cells may hold too (0 for uint8): never route to it.
    real = _padded(geo, np.ones(xn.shape, bool), False)
    dxp = np.zeros(xp.shape, dtype=ct)
    routed = np.zeros(out.shape, dtype=bool)
    zero = ct.type(0)
    for window in _windows(geo):
        hit = (xp[window] == out) & real[window] & ~routed
        dxp[window] += np.where(hit, gc, zero)
        routed |= hit
    return _from_nhwc(dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(grad.dtype), data_format)


@compiled
def _avg_pool(x, out, r0, r1, h, w, oh, ow, kh, kw, sh, sw, pt, pl):
    """Output rows ``r0:r1`` (numbered over N*OH) of the average pool of ``x`` ([N, H, W, C]) into ``out``: each
    window's real cells summed in row-major order, then divided by their count, as the numpy path does."""
    wide_vectors()
    c = x.shape[3]
    x1 = x.reshape(-1)
    o1 = out.reshape(-1)
    for row in range(r0, r1):
        b, i = row // oh, row % oh
        ra, rb = max(i * sh - pt, 0), min(i * sh - pt + kh, h)
        for j in range(ow):
            qa, qb = max(j * sw - pl, 0), min(j * sw - pl + kw, w)
            d = ((b * oh + i) * ow + j) * c
            for k in range(c):
                o1[_u(d + k)] = 0
            for r in range(ra, rb):
                for q in range(qa, qb):
                    s = ((b * h + r) * w + q) * c
                    for k in range(c):
                        o1[_u(d + k)] += x1[_u(s + k)]
            count = o1.dtype.type((rb - ra) * (qb - qa))
            for k in range(c):
                o1[_u(d + k)] /= count


def avg_pool(x, *, ksize, strides, padding, data_format):
    """The mean of each window over its real (unpadded) cells, as TF."""
    xn = _nhwc(x, data_format)
    geo = pool2d_geometry(xn.shape, ksize, strides, padding, data_format)
    ct = _compute_dtype(x.dtype)
    if xn.dtype in _FAST and xn.size and geo.oh * geo.ow:
        # One compiled pass, no padded copy: about 5 times numpy's strided adds on Inception v3's 3x3 pools.
        xc = np.ascontiguousarray(xn)
        out = np.empty((geo.n, geo.oh, geo.ow, geo.c), xn.dtype)
        rows = geo.n * geo.oh
        bounds = blas.chunk_bounds(rows, _row_chunks(xn.nbytes))
        blas.parallel_chunks(lambda i: _avg_pool(xc, out, bounds[i][0], bounds[i][1], geo.h, geo.w, geo.oh, geo.ow,
                                                 geo.kh, geo.kw, geo.sh, geo.sw, geo.pt, geo.pl), len(bounds))
        return _from_nhwc(out, data_format)
    xp = _padded(geo, xn.astype(ct, copy=False), 0)
    total = None
    for window in _windows(geo):
        total = xp[window].copy() if total is None else np.add(total, xp[window], out=total)
    return _from_nhwc((total / _counts(geo, ct)).astype(x.dtype, copy=False), data_format)


def avg_pool_grad(orig_input_shape, grad, *, ksize, strides, padding, data_format):
    """Each output's gradient shared equally among the real cells of its window."""
    sizes = [int(s) for s in orig_input_shape]
    in_shape = to_nhwc(sizes, data_format)
    geo = pool2d_geometry(in_shape, ksize, strides, padding, data_format)
    g = _nhwc(grad, data_format)
    geo.check_out(g.shape, "grad")
    ct = _compute_dtype(grad.dtype)
    share = g.astype(ct, copy=False) / _counts(geo, ct)
    _, h, w, _ = in_shape
    dxp = np.zeros(geo.padded_shape(), dtype=ct)
    for window in _windows(geo):
        dxp[window] += share
    return _from_nhwc(dxp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w, :].astype(grad.dtype), data_format)


KERNELS = {"MaxPool": max_pool, "MaxPoolGrad": max_pool_grad, "AvgPool": avg_pool, "AvgPoolGrad": avg_pool_grad,
           "_FusedMaxPoolGrad": fused_max_pool_grad}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS)
