"""Compiled loops behind the memory-bound kernels of ``training``, ``pool`` and ``nn``.

Each loop does in one pass what numpy would do in several (reading every operand once and writing
every result once), over C-contiguous float32 or float64 arrays only: the callers flatten or copy
their operands to that form and fall back to numpy for anything else, which keeps the compiled
signatures few (one per dtype, and per read-only-ness of the inputs, which numba types apart).
Scalars arrive as numpy scalars of the arrays' dtype, so the arithmetic stays in that dtype,
operation by operation, as numpy's would (no fastmath: no reassociation, no fused multiply-add), and
results match the numpy paths bit for bit unless a docstring says otherwise.

Outputs are fresh arrays, or, for the ``*_in_place`` loops, the first input. The loops release the
GIL, so ``split`` runs large ones in slices across the plugin's threads.
"""

from __future__ import annotations

import numpy as np

from .. import blas
from ..jit import compiled

FAST = (np.dtype(np.float32), np.dtype(np.float64))  # the dtypes the loops are compiled for
# Work (elements times ``cost``) below which a flat loop runs on the calling thread alone. The plain
# streaming loops (cost 1) are bound by memory, which one core nearly saturates here: a second thread
# gained little on an idle machine and lost on a busy one (waking a helper costs some tens of
# microseconds). Adam (cost 32), bound by its division and square root, halves with two threads.
PARALLEL_WORK = 1 << 22


def split(loop, size, arrays, *scalars, cost=1):
    """``loop(*slices, *scalars)`` over ``range(size)`` of the 1-D ``arrays``: in slices across threads when large.

    Example:
        >>> x = np.arange(4.0)
        >>> split(gradient_descent_in_place, 4, (x, x), 0.5)
        >>> x.tolist()
        [0.0, 0.5, 1.0, 1.5]
    """
    if size * cost < PARALLEL_WORK or blas.THREADS == 1:
        return loop(*arrays, *scalars)
    bounds = blas.chunk_bounds(size, blas.THREADS * 4)

    def run(i):
        s, e = bounds[i]
        loop(*[a[s:e] for a in arrays], *scalars)

    # parallel_chunks returns only once its helpers have let go of ``run``, so no thread still holds the
    # arrays (whose reference counts decide updates in place) after this returns.
    blas.parallel_chunks(run, len(bounds))


# -- optimizer updates (1-D) ---------------------------------------------------------------------------
# An update in place has its own loop: passing ``w`` as its own ``out`` makes LLVM's runtime overlap
# check fail, and the loop it guards then runs scalar (measured 2.6 times slower), while
# ``w[i] = f(w[i])`` needs no check. (One loop that chose at run time would not compile for
# read-only inputs, which numba types apart.)
@compiled
def gradient_descent(w, delta, out, alpha):
    """``out = w - alpha * delta``."""
    for i in range(w.shape[0]):
        out[i] = w[i] - alpha * delta[i]


@compiled
def gradient_descent_in_place(w, delta, alpha):
    """``w -= alpha * delta`` (as ``w - (alpha * delta)``)."""
    for i in range(w.shape[0]):
        w[i] = w[i] - alpha * delta[i]


@compiled
def _adam_step(w, m, v, g, w_out, m_out, v_out, i, lr_t, beta1, one_b1, one_b2, epsilon, nesterov):
    gi = g[i]
    mi = m[i] + (gi - m[i]) * one_b1
    vi = v[i] + (gi * gi - v[i]) * one_b2
    d = mi * beta1 + gi * one_b1 if nesterov else mi
    m_out[i] = mi
    v_out[i] = vi
    w_out[i] = w[i] - lr_t * d / (np.sqrt(vi) + epsilon)


@compiled
def adam(w, m, v, g, w_out, m_out, v_out, lr_t, beta1, one_b1, one_b2, epsilon, nesterov):
    """One Adam step, in the order of TF's formula (and of training.apply_adam's numpy path)::

        m_t = m + (g - m) * (1 - beta1);  v_t = v + (g * g - v) * (1 - beta2)
        w_t = w - lr_t * d / (sqrt(v_t) + epsilon),  d = m_t, or m_t * beta1 + g * (1 - beta1) (nesterov)
    """
    if nesterov:  # two loops, so that neither tests the flag per element
        for i in range(w.shape[0]):
            _adam_step(w, m, v, g, w_out, m_out, v_out, i, lr_t, beta1, one_b1, one_b2, epsilon, True)
    else:
        for i in range(w.shape[0]):
            _adam_step(w, m, v, g, w_out, m_out, v_out, i, lr_t, beta1, one_b1, one_b2, epsilon, False)


@compiled
def adam_in_place(w, m, v, g, lr_t, beta1, one_b1, one_b2, epsilon, nesterov):
    """``adam`` writing each result into its input."""
    if nesterov:
        for i in range(w.shape[0]):
            _adam_step(w, m, v, g, w, m, v, i, lr_t, beta1, one_b1, one_b2, epsilon, True)
    else:
        for i in range(w.shape[0]):
            _adam_step(w, m, v, g, w, m, v, i, lr_t, beta1, one_b1, one_b2, epsilon, False)


# -- activations (1-D) --------------------------------------------------------------------------------
@compiled
def relu(x, out):
    """``out = max(x, 0)`` as np.maximum gives it: nan stays nan, and -0.0 becomes 0.0."""
    zero = out.dtype.type(0)
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = v if (v > zero or v != v) else zero


@compiled
def relu_grad(g, features, out):
    """``out = g where features > 0, else 0`` (a select: inf or nan in ``g`` never leaks into the zeros)."""
    zero = out.dtype.type(0)
    for i in range(g.shape[0]):
        out[i] = g[i] if features[i] > 0 else zero


@compiled
def relu_grad_in_place(g, features):
    """``relu_grad`` writing into ``g``."""
    zero = g.dtype.type(0)
    for i in range(g.shape[0]):
        g[i] = g[i] if features[i] > 0 else zero


# -- softmax cross-entropy ([batch, classes]) ------------------------------------------------------------
@compiled
def sparse_xent(logits, labels, loss, backprop):
    """TF's sparse softmax cross-entropy, row by row; returns the first row whose label is out of range, or -1.

    As TF's kernel: ``shifted = logits - max``, ``loss = log(sum(exp(shifted))) - shifted[label]``,
    ``backprop = exp(shifted) / sum(exp(shifted)) - onehot(label)``. The sum accumulates in float64
    (numpy sums pairwise in the input's dtype), so float32 results can differ from numpy's by an ulp.
    """
    batch, classes = logits.shape
    for r in range(batch):
        label = labels[r]
        if label < 0 or label >= classes:
            return r
    for r in range(batch):
        row = logits[r]
        top = row[0]
        for k in range(1, classes):
            x = row[k]
            if x > top or x != x:  # a nan, once taken, stays: it propagates as in np.max
                top = x
        total = 0.0
        out = backprop[r]
        for k in range(classes):
            e = np.exp(row[k] - top)
            out[k] = e
            total += e
        t = out.dtype.type(total)
        loss[r] = np.log(t) - (row[labels[r]] - top)
        for k in range(classes):
            out[k] = out[k] / t
        out[labels[r]] -= 1
    return -1


# -- 2-D max pooling (NHWC as [N * H * W, C] rows) --------------------------------------------------------
# Pooling loops take each NHWC array as a 2-D [pixels, channels] array and index it by (pixel row,
# channel): the row's checks are hoisted out of the inner loop over channels, which LLVM vectorizes.
@compiled
def _bigger(a, b):
    # np.maximum's choice: a nan on either side wins, and a tie keeps the first.
    return a if (a >= b or a != a) else b


@compiled
def max_pool(x, out, n, h, w, oh, ow, kh, kw, sh, sw, pt, pl):
    """Max over each window of ``x`` [N*H*W, C] into ``out`` [N*OH*OW, C]; padding cells are skipped.

    ``pt`` and ``pl`` are the top and left padding; the window of output ``(i, j)`` starts at input
    ``(i * sh - pt, j * sw - pl)``. A nan in a window makes its maximum nan, as np.maximum does.
    """
    c = x.shape[1]
    fast = kh == 2 and kw == 2 and sh == 2 and sw == 2 and pt == 0 and pl == 0 and 2 * oh <= h and 2 * ow <= w
    for b in range(n):
        for i in range(oh):
            r0 = i * sh - pt
            ra, rb = max(r0, 0), min(r0 + kh, h)
            for j in range(ow):
                o = (b * oh + i) * ow + j
                if fast:
                    p0 = (b * h + 2 * i) * w + 2 * j
                    p1, p2, p3 = p0 + 1, p0 + w, p0 + w + 1
                    for ch in range(c):
                        out[o, ch] = _bigger(_bigger(_bigger(x[p0, ch], x[p1, ch]), x[p2, ch]), x[p3, ch])
                    continue
                q0 = j * sw - pl
                qa, qb = max(q0, 0), min(q0 + kw, w)
                p = (b * h + ra) * w + qa
                for ch in range(c):
                    out[o, ch] = x[p, ch]
                for r in range(ra, rb):
                    for q in range(qa, qb):
                        p = (b * h + r) * w + q
                        for ch in range(c):
                            out[o, ch] = _bigger(out[o, ch], x[p, ch])


@compiled
def max_pool_grad(x, g, dx, n, h, w, oh, ow, kh, kw, sh, sw, pt, pl, relu):
    """Route each ``g`` [N*OH*OW, C] into ``dx`` [N*H*W, C] at the first maximum of its window of ``x``.

    First in row-major order, as TF's CPU kernel; a window whose maximum is nan routes nothing, as
    the numpy path does. Overlapping windows add up, in output order (the numpy path adds in window
    position order, so such sums can differ in the last bit). Every cell of ``dx`` is written. With
    ``relu`` a window whose maximum is not positive routes nothing either: that is ReluGrad at ``x``
    applied to the result, since only maxima receive gradient.
    """
    c = x.shape[1]
    zero = dx.dtype.type(0)
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and pt == 0 and pl == 0 and 2 * oh <= h and 2 * ow <= w:
        # Windows tile the input: each cell is written once, with its gradient or zero (branch-free selects).
        if 2 * oh < h or 2 * ow < w:
            dx[:] = zero  # rows and columns no window reaches (VALID on odd sizes)
        for b in range(n):
            for i in range(oh):
                for j in range(ow):
                    o = (b * oh + i) * ow + j
                    p0 = (b * h + 2 * i) * w + 2 * j
                    p1, p2, p3 = p0 + 1, p0 + w, p0 + w + 1
                    for ch in range(c):
                        a0, a1, a2, a3 = x[p0, ch], x[p1, ch], x[p2, ch], x[p3, ch]
                        top = _bigger(_bigger(_bigger(a0, a1), a2), a3)
                        gv = g[o, ch] if (top > 0 or not relu) else zero
                        e0, e1, e2, e3 = a0 == top, a1 == top, a2 == top, a3 == top
                        dx[p0, ch] = gv if e0 else zero
                        dx[p1, ch] = zero if e0 else (gv if e1 else zero)
                        dx[p2, ch] = zero if (e0 | e1) else (gv if e2 else zero)
                        dx[p3, ch] = zero if (e0 | e1 | e2) else (gv if e3 else zero)
        return
    dx[:] = zero
    top = np.empty(c, x.dtype)
    taken = np.empty(c, np.bool_)
    for b in range(n):
        for i in range(oh):
            r0 = i * sh - pt
            ra, rb = max(r0, 0), min(r0 + kh, h)
            for j in range(ow):
                q0 = j * sw - pl
                qa, qb = max(q0, 0), min(q0 + kw, w)
                o = (b * oh + i) * ow + j
                p = (b * h + ra) * w + qa
                for ch in range(c):
                    top[ch] = x[p, ch]
                    taken[ch] = False
                for r in range(ra, rb):
                    for q in range(qa, qb):
                        p = (b * h + r) * w + q
                        for ch in range(c):
                            top[ch] = _bigger(top[ch], x[p, ch])
                for r in range(ra, rb):
                    for q in range(qa, qb):
                        p = (b * h + r) * w + q
                        for ch in range(c):
                            if x[p, ch] == top[ch] and not taken[ch] and (top[ch] > 0 or not relu):
                                taken[ch] = True
                                dx[p, ch] += g[o, ch]
