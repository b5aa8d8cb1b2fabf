"""Direct float32 convolution: compiled loops that keep a block of outputs in registers, no im2col.

im2col copies every input value KH*KW times into a column matrix and hands it to BLAS. With few
input channels (a CNN's first layer: 25 values per row for a 5x5 filter on one channel) the GEMM is
bound by memory and the copy costs more than the products; with more channels the copy still costs
about a fifth of the GEMM. These kernels read the zero-padded input in place instead:

- ``forward``: each output pixel is a sum over the filter taps (tap = filter row, column and input
  channel) of one input value times a row of the filter. A block of 8 output pixels times 32 output
  channels is accumulated in registers (16 AVX-512 registers) while the taps stream by: per tap, 8
  broadcast input values and 32 filter values feed 16 vector FMAs. Bias, relu and a 2x2 stride-2 max
  pool are applied to each output row while it is in cache.
- ``filter_grad``: the filter gradient, a block of 8 taps times 32 output channels in registers while
  the output pixels of an image stream by (8 broadcast inputs and 32 gradient values per pixel).

(The input gradient at stride 1 is the forward convolution of the output gradient with the filter
flipped and its channels swapped, so ``conv`` runs it through ``forward``.)

Any stride, dilation and padding work: each image is zero-padded into a small buffer (wide enough
for the last block of pixels to read zeros past the row's end), and a table holds the offset of
each tap in it. Output channels are zero-padded to a multiple of 32 in the filter. The batch is cut
into chunks spread over the plugin's threads (the compiled loops release the GIL).

Float32 results match the im2col path to float32 rounding (sums run in a different order); the
loops contract multiply-adds into FMAs (``fastmath={"contract"}``), nothing else. The helpers for
writing such loops (``_stack_block``, ``wide_vectors``, ``_u``, ``_max``) are shared with ``winograd``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .. import blas
from ..jit import compiled

# Pixels (or, in the filter gradient, taps) and output channels of one register block. The loops
# spell these constants out, so LLVM unrolls them and keeps the block in registers.
_PIX, _OB = 8, 32
# Filters up to this size (taps x output channels x 4 bytes) take the direct path: the kernels stream
# the filter from the core's L2 cache once per block of pixels. 1x1 filters stay with BLAS (no im2col there).
MAX_FILTER_BYTES = 1 << 20
# Output channels are computed in blocks of 32: fewer than this share of a block's lanes in use, and
# the padding costs more than the direct path saves.
MIN_LANE_USE = 0.75


def _prefer_wide(function):
    """Mark an LLVM function as preferring 512-bit vectors.

    On AVX-512 machines LLVM prefers 256-bit vectors unless a function asks for wider ones (which suits
    code that is not bound by arithmetic); these loops are, so 512 bits pay. llvmlite has no API for
    string attributes: the set is extended directly, and without the hint the code is only slower.
    """
    try:
        set.add(function.attributes, '"prefer-vector-width"="512"')
    except Exception:  # noqa: BLE001
        pass


@intrinsic
def _stack_block(typingctx):
    """Stack memory for one [_PIX, _OB] float32 block; also asks for 512-bit vectors (``_prefer_wide``).

    Stack memory that does not escape cannot alias the arrays, so LLVM keeps a block built on it in
    registers across the inner loop (a heap array would be reloaded and stored per step).
    """
    def codegen(context, builder, sig, args):
        _prefer_wide(builder.function)
        size = context.get_constant(types.intp, _PIX * _OB)
        return cgutils.alloca_once(builder, context.get_value_type(types.float32), size=size)

    return types.CPointer(types.float32)(), codegen


@intrinsic
def wide_vectors(typingctx):
    """Ask LLVM for 512-bit vectors in the calling function (``_prefer_wide``); does nothing else."""
    def codegen(context, builder, sig, args):
        _prefer_wide(builder.function)
        return context.get_dummy_value()

    return types.none(), codegen


@compiled
def _u(i):
    """``i`` as an unsigned index: numba then skips its negative-index fix-up, which keeps LLVM from vectorizing."""
    return np.uint64(i)


@compiled
def _max(a, b):
    """np.maximum for two scalars: a NaN on either side wins."""
    return a if (a >= b) | (a != a) else b  # no short circuit: a select LLVM can vectorize


@compiled
def store_biased(out, dst, y, p, bias, lo):
    """``out[dst + k] = max(y[p + k] + bias[k], lo)`` over the channels: a fused epilogue's bias and relu
    (``lo`` 0, or -inf for none), for flat arrays."""
    for k in range(bias.shape[0]):
        out[_u(dst + k)] = _max(y[_u(p + k)] + bias[k], lo)


@compiled
def store_pooled(out, dst, y, p0, p1, p2, p3, bias, lo):
    """``store_biased`` of the max of four rows of ``y`` (a 2x2 pool; the bias after the max is exact, since
    rounding is monotonic)."""
    for k in range(bias.shape[0]):
        top = _max(_max(y[_u(p0 + k)], y[_u(p1 + k)]), _max(y[_u(p2 + k)], y[_u(p3 + k)]))
        out[_u(dst + k)] = _max(top + bias[k], lo)


@compiled
def _pad_image(x, n, xp, wp, pt, pl):
    """Copy image ``n`` of ``x`` ([N, H, W, C]) into the interior of ``xp`` (flat [HP, wp, C], zero borders)."""
    _, h, w, c = x.shape
    x1 = x.reshape(-1)
    run = w * c
    for r in range(h):
        dst = ((r + pt) * wp + pl) * c
        src = (n * h + r) * run
        for k in range(run):
            xp[_u(dst + k)] = x1[_u(src + k)]


@compiled(fastmath={"contract"})
def _row_blocks(xp, xoff, f1, op, rows, b0, step):
    """``rows`` (flat [OW rounded up to 8, ``op``]): the convolution at the pixels whose taps start at ``b0``,
    ``b0 + step``, ... in ``xp`` (``xoff``: each tap's offset; ``f1``: the flat [taps, ``op``] filter)."""
    block = numba.carray(_stack_block(), (_PIX, _OB))
    taps = xoff.shape[0]
    width = rows.shape[0] // op
    for ow0 in range(0, width, _PIX):
        b = b0 + ow0 * step
        for ob in range(0, op, _OB):
            for p in range(_PIX):
                for k in range(_OB):
                    block[p, k] = 0.0
            for t in range(taps):
                d = b + xoff[t]
                x0, x1, x2, x3 = xp[_u(d)], xp[_u(d + step)], xp[_u(d + 2 * step)], xp[_u(d + 3 * step)]
                x4, x5, x6, x7 = xp[_u(d + 4 * step)], xp[_u(d + 5 * step)], xp[_u(d + 6 * step)], xp[_u(d + 7 * step)]
                fb = t * op + ob
                for k in range(_OB):
                    fv = f1[_u(fb + k)]
                    block[0, k] += x0 * fv
                    block[1, k] += x1 * fv
                    block[2, k] += x2 * fv
                    block[3, k] += x3 * fv
                    block[4, k] += x4 * fv
                    block[5, k] += x5 * fv
                    block[6, k] += x6 * fv
                    block[7, k] += x7 * fv
            # A plain copy: LLVM scalarises arithmetic on the block here, so bias and relu wait for the row
            # pass (which also makes the result match conv2d followed by BiasAdd exactly).
            for p in range(_PIX):
                dst = (ow0 + p) * op + ob
                for k in range(_OB):
                    rows[_u(dst + k)] = block[p, k]


@compiled
def _forward(x, xp, wp, xoff, f1, op, bias, out, rows, r0, r1, pt, pl, sh, sw, lo, pool):
    """Output rows ``r0:r1`` (numbered over the whole batch: row ``r % OH`` of image ``r // OH``; even bounds with
    ``pool``) of the convolution into ``out``: each value is ``max(conv + bias, lo)``.

    ``xp`` is a zero-bordered flat buffer for one padded image (``wp`` columns), ``xoff`` the offset
    of each tap in it, ``f1`` the flat [taps, ``op``] filter (``op`` a multiple of 32, zero-padded),
    ``bias`` one value per output channel, ``rows`` a flat [2, OW rounded up to 8, ``op``] buffer for
    two output rows. With ``pool`` the output is max-pooled 2x2 with stride 2 (the full output's
    height and width are even); adding the bias after the pool is exact, as rounding is monotonic.
    """
    c = x.shape[3]
    o = out.shape[3]
    oh = out.shape[1] * 2 if pool else out.shape[1]
    ow = out.shape[2] * 2 if pool else out.shape[2]
    width = rows.shape[0] // (2 * op)
    out1 = out.reshape(-1)
    current = -1
    for g in range(r0, r1):
        n, r = g // oh, g % oh
        if n != current:
            _pad_image(x, n, xp, wp, pt, pl)
            current = n
        half = (r & 1) if pool else 0
        _row_blocks(xp, xoff, f1, op, rows[half * width * op:(half + 1) * width * op], r * sh * wp * c, sw * c)
        if not pool:
            for q in range(ow):
                dst = ((n * oh + r) * ow + q) * o
                for k in range(o):
                    out1[_u(dst + k)] = _max(rows[_u(q * op + k)] + bias[k], lo)
        elif half == 1:
            for q in range(ow // 2):
                a, b = 2 * q * op, (width + 2 * q) * op
                dst = ((n * (oh // 2) + r // 2) * (ow // 2) + q) * o
                for k in range(o):
                    top = _max(_max(rows[_u(a + k)], rows[_u(a + op + k)]), _max(rows[_u(b + k)], rows[_u(b + op + k)]))
                    out1[_u(dst + k)] = _max(top + bias[k], lo)


@compiled(fastmath={"contract"})
def _grad_taps(xp, pix, xoff, t0, src, base, op, df, tmp):
    """Add to rows ``t0:t0+8`` of ``df`` (flat [taps rounded up to 8, ``op``]) one image's products of those
    taps (offsets ``xoff[t]`` from each pixel's ``pix`` entry in ``xp``) with its output gradient (``src``
    from ``base``, [pixels, ``op``]). ``tmp`` holds 8*32 floats.

    Each image's sum starts from zero and is added to ``df`` afterwards: one float32 running sum over
    a whole batch's pixels would lose several bits.
    """
    block = numba.carray(_stack_block(), (_PIX, _OB))
    last = xoff.shape[0] - 1
    lanes = tmp.shape[0] // _PIX
    # Taps past the last repeat it: computed, then dropped.
    d0, d1, d2, d3 = xoff[min(t0, last)], xoff[min(t0 + 1, last)], xoff[min(t0 + 2, last)], xoff[min(t0 + 3, last)]
    d4, d5, d6, d7 = xoff[min(t0 + 4, last)], xoff[min(t0 + 5, last)], xoff[min(t0 + 6, last)], xoff[min(t0 + 7, last)]
    for ob in range(0, op, _OB):
        for p in range(_PIX):
            for k in range(_OB):
                block[p, k] = 0.0
        for m in range(pix.shape[0]):
            b = pix[m]
            x0, x1, x2, x3 = xp[_u(b + d0)], xp[_u(b + d1)], xp[_u(b + d2)], xp[_u(b + d3)]
            x4, x5, x6, x7 = xp[_u(b + d4)], xp[_u(b + d5)], xp[_u(b + d6)], xp[_u(b + d7)]
            g = base + m * op + ob
            for k in range(_OB):
                gv = src[_u(g + k)]
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
        for p in range(_PIX):
            at = (t0 + p) * op + ob
            for k in range(lanes):
                df[_u(at + k)] += tmp[_u(p * _OB + k)]


@compiled
def _filter_grad(x, xp, wp, xoff, pix, dy, dyp, df, op, n0, n1, pt, pl):
    """Add images ``n0:n1``'s share of the filter gradient to ``df`` (flat [taps rounded up to 8, ``op``]).

    ``pix`` holds each output pixel's offset in the padded image ``xp``; ``dyp`` is a flat [OH*OW, ``op``]
    buffer for one image of ``dy`` when O is not ``op`` (else unused: ``dy`` is read in place).
    """
    _, oh, ow, o = dy.shape
    taps = xoff.shape[0]
    dy1 = dy.reshape(-1)
    tmp = np.empty(_PIX * _OB, np.float32)
    for n in range(n0, n1):
        _pad_image(x, n, xp, wp, pt, pl)
        if op != o:
            for q in range(oh * ow):
                for k in range(o):
                    dyp[_u(q * op + k)] = dy1[_u((n * oh * ow + q) * o + k)]
        for t0 in range(0, taps, _PIX):
            if op != o:
                _grad_taps(xp, pix, xoff, t0, dyp, 0, op, df, tmp)
            else:
                _grad_taps(xp, pix, xoff, t0, dy1, n * oh * ow * o, op, df, tmp)


def applies(geo, dtype) -> bool:
    """Whether the direct kernels handle the NHWC convolution ``geo`` (a ``WindowGeometry``) in compute dtype ``dtype``.

    Float32, not 1x1 (BLAS needs no im2col there), a filter small enough to stream from L2, and output
    channels that fill most of the 32-wide blocks.
    """
    kh, kw, c, o = geo.f_shape
    op = _padded_channels(o)
    return (np.dtype(dtype) == np.float32 and kh * kw > 1 and o > 0 and geo.in_shape[0] > 0
            and kh * kw * c * op * 4 <= MAX_FILTER_BYTES and o >= MIN_LANE_USE * op)


def _setup(geo):
    """(padded image columns, flat padded-image size, tap offsets) for ``geo``.

    The padded image has columns past the right border for the last block of 8 pixels to read.
    """
    _, h, w, c = geo.in_shape
    kh, kw = geo.f_shape[:2]
    hp = h + geo.pt + geo.pb
    wp = max(w + geo.pl + geo.pr, (_rounded(geo.ow, _PIX) - 1) * geo.sw + (kw - 1) * geo.dw + 1)
    xoff = np.array([(i * geo.dh * wp + j * geo.dw) * c + ch for i in range(kh) for j in range(kw) for ch in range(c)],
                    np.int64)
    return wp, hp * wp * c, xoff


def _tasks(geo):
    n = geo.in_shape[0]
    return blas.chunk_bounds(n, max(1, min(n, blas.n_chunks(geo.flops(), per_thread=4))))


def _row_tasks(geo, pool):
    """Bounds of output rows numbered over the whole batch, one pair per task: whole images where there are enough
    to go round (each task pads each of its images once), else runs of rows (pairs of rows with ``pool``), so that
    a batch of one still keeps every thread busy (ResNet-50's 7x7/2 stem: 2.5 ms on one core)."""
    n, oh = geo.in_shape[0], geo.oh
    chunks = max(1, blas.n_chunks(geo.flops(), per_thread=4))
    if chunks == 1 and n == 1 and blas.conv_worth_splitting(geo.flops()):  # MobileNet v2's stem: 0.38 ms on one core
        chunks = blas.THREADS
    if n >= chunks or oh < 2:
        return [(a * oh, b * oh) for a, b in blas.chunk_bounds(n, min(n, chunks))]
    unit = 2 if pool else 1
    # Each task pads the images its rows read: 2 per thread are enough to even out a late helper.
    tasks = min(chunks, 2 * blas.THREADS)
    return [(a * unit, b * unit) for a, b in blas.chunk_bounds(n * oh // unit, tasks)]


def _rounded(v, to):
    return -(-v // to) * to


def _padded_channels(o):
    return _rounded(o, _OB)


def forward(xn, f, bias, geo, relu=False, pool=False):
    """The NHWC float32 convolution ``geo`` of ``xn`` with ``f`` ([KH, KW, C, O]), plus ``bias`` (or none),
    then relu, then with ``pool`` a 2x2 stride-2 max pool (even output height and width)."""
    n = xn.shape[0]
    o = f.shape[3]
    op = _padded_channels(o)
    wp, size, xoff = _setup(geo)
    f1 = np.zeros((len(xoff), op), np.float32)
    f1[:, :o] = f.reshape(-1, o)
    b = np.zeros(o, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    out = np.empty((n, geo.oh // 2, geo.ow // 2, o) if pool else (n, geo.oh, geo.ow, o), np.float32)
    xc = np.ascontiguousarray(xn, np.float32)
    lo = np.float32(0 if relu else -np.inf)
    width = _rounded(geo.ow, _PIX)
    bounds = _row_tasks(geo, pool)

    def task(i):
        xp = np.zeros(size, np.float32)
        rows = np.empty(2 * width * op, np.float32)
        _forward(xc, xp, wp, xoff, f1.reshape(-1), op, b, out, rows, bounds[i][0], bounds[i][1], geo.pt, geo.pl,
                 geo.sh, geo.sw, lo, pool)

    blas.parallel_chunks(task, len(bounds))
    return out


def filter_grad(xn, dyn, geo):
    """The filter gradient ([KH, KW, C, O], float32) of the NHWC convolution ``geo`` at input ``xn``, for ``dyn``."""
    kh, kw, c, o = geo.f_shape
    op = _padded_channels(o)
    wp, size, xoff = _setup(geo)
    taps = len(xoff)
    xc = np.ascontiguousarray(xn, np.float32)
    dyc = np.ascontiguousarray(dyn, np.float32)
    bounds = _tasks(geo)
    pix = ((np.arange(geo.oh) * geo.sh * wp)[:, None] + np.arange(geo.ow) * geo.sw).reshape(-1) * c

    def task(i):
        xp = np.zeros(size, np.float32)
        dyp = np.zeros(geo.oh * geo.ow * op if op != o else 1, np.float32)
        df = np.zeros(_rounded(taps, _PIX) * op, np.float32)
        _filter_grad(xc, xp, wp, xoff, pix, dyc, dyp, df, op, bounds[i][0], bounds[i][1], geo.pt, geo.pl)
        return df

    parts = blas.parallel_chunks(task, len(bounds))
    total = parts[0]
    for p in parts[1:]:
        total += p
    return np.ascontiguousarray(total.reshape(-1, op)[:taps, :o]).reshape(kh, kw, c, o)
