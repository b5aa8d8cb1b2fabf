"""The cpu plugin's compiled max pooling against a direct loop reference, and against its numpy path.

The compiled loops serve float32 and float64; other dtypes and the numpy path itself are checked by
forcing the numpy path (``pool._FAST`` emptied) on the same inputs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import axis_geometry
from tensorflux_cpu.kernels import pool


def reference(x, g, k, s, padding):
    """(max pool, its gradient) of NHWC ``x``, by loops: each gradient goes to its window's first maximum."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = k, s
    oh, pt, _ = axis_geometry(h, kh, sh, 1, padding)
    ow, pl, _ = axis_geometry(w, kw, sw, 1, padding)
    out, dx = np.zeros((n, oh, ow, c)), np.zeros(x.shape)
    for b, i, j, ch in np.ndindex(n, oh, ow, c):
        cells = [(r, q) for r, q in itertools.product(range(i * sh - pt, i * sh - pt + kh), range(j * sw - pl, j * sw - pl + kw))
                 if 0 <= r < h and 0 <= q < w]
        values = [x[b, r, q, ch] for r, q in cells]
        if any(np.isnan(values)):
            out[b, i, j, ch] = np.nan  # nan wins the max, and routes nothing
            continue
        best = max(values)
        out[b, i, j, ch] = best
        r, q = cells[values.index(best)]  # the first maximum in row-major order
        dx[b, r, q, ch] += g[b, i, j, ch]
    return out, dx


@pytest.fixture(params=["serial", "chunked"])
def chunking(request, monkeypatch):
    if request.param == "chunked":  # batches split by images, and (forward, batches this small) by output rows
        monkeypatch.setattr(pool, "_PARALLEL_BYTES", 1)
        monkeypatch.setattr(pool, "_ROWS_PARALLEL_BYTES", 1)
    return request.param


GEOMETRIES = [  # (NHWC shape, window, strides, padding)
    ((3, 8, 6, 5), (2, 2), (2, 2), "SAME"), ((2, 7, 9, 3), (2, 2), (2, 2), "VALID"), ((2, 7, 7, 2), (2, 2), (2, 2), "SAME"),
    ((2, 7, 8, 3), (3, 3), (2, 2), "SAME"), ((1, 6, 6, 2), (3, 3), (1, 1), "VALID"), ((2, 5, 6, 3), (2, 3), (1, 2), "SAME"),
    ((1, 4, 4, 1), (4, 4), (1, 1), "SAME"), ((2, 1, 1, 3), (2, 2), (2, 2), "SAME"), ((0, 4, 4, 2), (2, 2), (2, 2), "VALID"),
    ((2, 4, 4, 0), (2, 2), (2, 2), "VALID"),
]


def pool_args(k, s, padding, data_format="NHWC"):
    if data_format == "NCHW":
        return dict(ksize=[1, 1, *k], strides=[1, 1, *s], padding=padding, data_format="NCHW")
    return dict(ksize=[1, *k, 1], strides=[1, *s, 1], padding=padding, data_format="NHWC")


def inputs(shape, k, s, padding, dtype, kind):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    if kind == "ties":  # relu-like: many windows of equal zeros, and equal positives
        x = np.maximum(np.round(x), 0)
    elif kind == "nan" and x.size:
        x.flat[rng.integers(0, x.size, 3)] = np.nan
    x = x.astype(dtype)
    oh, ow = (axis_geometry(size, kk, ss, 1, padding)[0] for size, kk, ss in zip(shape[1:3], k, s))
    g = rng.standard_normal((shape[0], oh, ow, shape[3])).astype(dtype)
    return x, g


@pytest.mark.parametrize("shape,k,s,padding", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
def test_compiled_max_pool_and_gradient_match_loops(shape, k, s, padding, dtype, kind, chunking):
    x, g = inputs(shape, k, s, padding, dtype, kind)
    kw = pool_args(k, s, padding)
    want_out, want_dx = reference(x.astype(np.float64), g.astype(np.float64), k, s, padding)
    out = pool.max_pool(x, **kw)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, want_out.astype(dtype))
    dx = pool.max_pool_grad(x, out, g, **kw)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, want_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,k,s,padding", GEOMETRIES[:6])
@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
def test_compiled_and_numpy_paths_agree(shape, k, s, padding, kind, monkeypatch):
    x, g = inputs(shape, k, s, padding, np.float32, kind)
    g[..., :1] = np.inf  # a gradient that is not finite: a select routes it, without nan in the zeros
    kw = pool_args(k, s, padding)
    fast = pool.max_pool(x, **kw), pool.max_pool_grad(x, pool.max_pool(x, **kw), g, **kw)
    monkeypatch.setattr(pool, "_FAST", ())
    slow = pool.max_pool(x, **kw), pool.max_pool_grad(x, pool.max_pool(x, **kw), g, **kw)
    np.testing.assert_array_equal(fast[0], slow[0])
    if all(ss >= kk for ss, kk in zip(s, k)):
        np.testing.assert_array_equal(fast[1], slow[1])
    else:  # overlapping windows add their gradients up in another order
        np.testing.assert_allclose(fast[1], slow[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_nchw_and_non_contiguous_inputs(dtype, chunking):
    rng = np.random.default_rng(7)
    base = rng.standard_normal((2, 3, 9, 8)).astype(dtype)  # NCHW
    x = base[:, :, ::1, ::-1]  # a reversed, non-contiguous view
    kw = pool_args((2, 2), (2, 2), "SAME", "NCHW")
    out = pool.max_pool(x, **kw)
    g = rng.standard_normal(out.shape).astype(dtype)
    nhwc = np.transpose(x, (0, 2, 3, 1)).astype(np.float64)
    want_out, want_dx = reference(nhwc, np.transpose(g, (0, 2, 3, 1)).astype(np.float64), (2, 2), (2, 2), "SAME")
    np.testing.assert_array_equal(out, np.transpose(want_out, (0, 3, 1, 2)).astype(dtype))
    dx = pool.max_pool_grad(x, out, g, **kw)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, np.transpose(want_dx, (0, 3, 1, 2)), rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_gradient_of_a_mismatched_shape_is_an_error():
    x = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="expected"):
        pool.max_pool_grad(x, x, np.zeros((1, 3, 3, 1), np.float32), **pool_args((2, 2), (2, 2), "VALID"))


def relu_masked(dx, x):
    """ReluGrad at ``x`` of ``dx``, written out: the gradient where x is positive, +0 elsewhere."""
    return np.where(x > 0, dx, 0.0)


@pytest.mark.parametrize("shape,k,s,padding", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("kind", ["random", "ties", "nan"])
def test_fused_max_pool_and_relu_gradient_matches_loops(shape, k, s, padding, dtype, kind, chunking):
    x, g = inputs(shape, k, s, padding, dtype, kind)
    kw = pool_args(k, s, padding)
    _, want_dx = reference(x.astype(np.float64), g.astype(np.float64), k, s, padding)
    dx = pool.fused_max_pool_grad(x, pool.max_pool(x, **kw), g, activation="Relu", **kw)
    assert dx.dtype == dtype and dx.shape == x.shape
    tol = 1e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(dx, relu_masked(want_dx, x), rtol=tol, atol=tol)
    if dtype != np.float16:  # the compiled loops write +0 where nothing is routed (the numpy path may leave -0)
        assert not np.signbit(dx[dx == 0]).any()
    plain = pool.fused_max_pool_grad(x, pool.max_pool(x, **kw), g, activation="", **kw)
    np.testing.assert_allclose(plain, want_dx, rtol=tol, atol=tol)


def test_fused_gradient_of_nchw_input():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 8, 6)).astype(np.float32)
    kw = pool_args((2, 2), (2, 2), "VALID", "NCHW")
    out = pool.max_pool(x, **kw)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx = pool.fused_max_pool_grad(x, out, g, activation="Relu", **kw)
    np.testing.assert_array_equal(dx, relu_masked(pool.max_pool_grad(x, out, g, **kw), x))


def reference_avg_pool(x, k, s, padding):
    """The mean of each window's real cells, by loops in float64."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = k, s
    oh, pt, _ = axis_geometry(h, kh, sh, 1, padding)
    ow, pl, _ = axis_geometry(w, kw, sw, 1, padding)
    out = np.zeros((n, oh, ow, c))
    for i, j in np.ndindex(oh, ow):
        r0, q0 = i * sh - pt, j * sw - pl
        window = x[:, max(r0, 0):max(r0 + kh, 0), max(q0, 0):max(q0 + kw, 0)].astype(np.float64)
        out[:, i, j] = window.mean(axis=(1, 2)) if window.size else 0
    return out


@pytest.mark.parametrize("shape,k,s,padding", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_avg_pool_matches_loops_and_the_numpy_path(shape, k, s, padding, dtype, chunking, monkeypatch):
    x, _ = inputs(shape, k, s, padding, dtype, "random")
    out = pool.avg_pool(x, **pool_args(k, s, padding))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, reference_avg_pool(x, k, s, padding), rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(pool, "_FAST", ())
    np.testing.assert_array_equal(out, pool.avg_pool(x, **pool_args(k, s, padding)))
