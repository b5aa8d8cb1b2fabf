"""The cpu plugin's chunked convolution and pooling kernels against direct loop references.

Chunking is forced down to one image per chunk and every product is run in parallel, so the
threaded, chunked paths are the ones checked, on odd geometries as well as the fast 2x2 pooling path.
The convolutions run both ways: through im2col and BLAS, and through the compiled direct kernels
(``conv_direct``, made to take every geometry here).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import axis_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_direct, pool, winograd


@pytest.fixture(params=["default", "chunked"])
def chunking(request, monkeypatch):
    if request.param == "chunked":
        monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
        monkeypatch.setattr(pool, "_PARALLEL_BYTES", 1)
    return request.param


@pytest.fixture(params=["im2col", "direct"])
def conv_path(request, monkeypatch):
    if request.param == "im2col":
        monkeypatch.setattr(conv_direct, "MAX_FILTER_BYTES", 0)
        monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    else:
        monkeypatch.setattr(conv_direct, "MIN_LANE_USE", 0)
    return request.param


def _pads(size, k, stride, dilation, padding, explicit):
    return axis_geometry(size, k, stride, dilation, padding, explicit)


def reference_conv(x, f, stride, dilation, padding, explicit=((0, 0), (0, 0))):
    n, h, w, c = x.shape
    kh, kw, _, o = f.shape
    oh, pt, pb = _pads(h, kh, stride[0], dilation[0], padding, explicit[0])
    ow, pl, pr = _pads(w, kw, stride[1], dilation[1], padding, explicit[1])
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, o))
    for i, j in itertools.product(range(kh), range(kw)):
        r, s = i * dilation[0], j * dilation[1]
        patch = xp[:, r:r + (oh - 1) * stride[0] + 1:stride[0], s:s + (ow - 1) * stride[1] + 1:stride[1], :]
        out += patch @ f[i, j].astype(np.float64)
    return out


GEOMETRIES = [  # (input NHWC, filter, stride, dilation, padding)
    ((3, 9, 8, 2), (3, 3, 2, 4), (1, 1), (1, 1), "SAME"),
    ((2, 7, 7, 3), (5, 5, 3, 2), (1, 1), (1, 1), "SAME"),
    ((2, 8, 9, 2), (2, 3, 2, 3), (1, 1), (1, 1), "VALID"),
    ((2, 9, 9, 2), (3, 3, 2, 2), (2, 2), (1, 1), "SAME"),
    ((2, 10, 7, 1), (3, 2, 1, 2), (2, 1), (1, 1), "VALID"),
    ((2, 9, 9, 2), (3, 3, 2, 2), (1, 1), (2, 2), "SAME"),
    ((2, 4, 4, 3), (1, 1, 3, 5), (1, 1), (1, 1), "VALID"),
]


def _kw(stride, dilation, padding):
    return dict(strides=[1, *stride, 1], padding=padding, explicit_paddings=[], data_format="NHWC",
                dilations=[1, *dilation, 1])


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}x{g[1]}s{g[2]}d{g[3]}{g[4]}")
def test_conv2d_and_its_gradients_match_direct_loops(geometry, chunking, conv_path):
    x_shape, f_shape, stride, dilation, padding = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = rng.standard_normal(f_shape).astype(np.float32)
    kw = _kw(stride, dilation, padding)
    out = conv.conv2d(x, f, **kw)
    np.testing.assert_allclose(out, reference_conv(x, f, stride, dilation, padding), rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    # Gradients by linearity: <conv(x, f), dy> differentiated against each element.
    x64, f64 = x.astype(np.float64), f.astype(np.float64)
    want_df = np.zeros(f.shape)
    for idx in np.ndindex(*f.shape):
        e = np.zeros(f.shape)
        e[idx] = 1
        want_df[idx] = np.sum(reference_conv(x64, e, stride, dilation, padding) * dy)
    want_dx = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[idx] = 1
        want_dx[idx] = np.sum(reference_conv(e, f64, stride, dilation, padding) * dy)
    df = conv.conv2d_backprop_filter(x, np.array(f.shape, np.int32), dy, **kw)
    dx = conv.conv2d_backprop_input(np.array(x.shape, np.int32), f, dy, **kw)
    np.testing.assert_allclose(df, want_df, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-3)
    assert df.dtype == dx.dtype == np.float32


def test_fused_conv2d_is_conv_plus_bias_then_relu(chunking, conv_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    f = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    kw = _kw((1, 1), (1, 1), "SAME")
    plain = conv.conv2d(x, f, **kw)
    np.testing.assert_allclose(conv.fused_conv2d(x, f, b, activation="Relu", **kw), np.maximum(plain + b, 0), rtol=1e-6)
    np.testing.assert_allclose(conv.fused_conv2d(x, f, b, activation="", **kw), plain + b, rtol=1e-6)
    pooled = conv.fused_conv2d(x, f, b, activation="Relu", pool="MaxPool2x2", **kw)
    want = pool.max_pool(np.maximum(plain + b, 0), ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID",
                         data_format="NHWC")
    np.testing.assert_allclose(pooled, want, rtol=1e-6)
    with pytest.raises(ValueError, match="even height and width"):
        conv.fused_conv2d(x[:, :5, :5], f, b, activation="Relu", pool="MaxPool2x2", **kw)


def reference_max_pool_grad(x, g, k, s, padding):
    n, h, w, c = x.shape
    oh, pt, _ = axis_geometry(h, k, s, 1, padding)
    ow, pl, _ = axis_geometry(w, k, s, 1, padding)
    dx = np.zeros(x.shape)
    out = np.zeros((n, oh, ow, c))
    for b, i, j, ch in np.ndindex(n, oh, ow, c):
        best, where = -np.inf, None
        for di, dj in itertools.product(range(k), range(k)):  # row-major: ties go to the first
            r, q = i * s - pt + di, j * s - pl + dj
            if 0 <= r < h and 0 <= q < w and x[b, r, q, ch] > best:
                best, where = x[b, r, q, ch], (r, q)
        out[b, i, j, ch] = best
        dx[b, where[0], where[1], ch] += g[b, i, j, ch]
    return out, dx


@pytest.mark.parametrize("shape,k,s,padding", [
    ((2, 8, 6, 3), 2, 2, "SAME"), ((2, 7, 9, 2), 2, 2, "VALID"), ((2, 7, 7, 2), 2, 2, "SAME"),
    ((2, 7, 8, 2), 3, 2, "SAME"), ((1, 6, 6, 2), 3, 1, "VALID"),
])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_and_its_gradient_match_direct_loops(shape, k, s, padding, ties, chunking):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    if ties:  # relu-like inputs: many windows of equal zeros
        x = np.maximum(np.round(x), 0).astype(np.float32)
    kw = dict(ksize=[1, k, k, 1], strides=[1, s, s, 1], padding=padding, data_format="NHWC")
    out = pool.max_pool(x, **kw)
    g = rng.standard_normal(out.shape).astype(np.float32)
    want_out, want_dx = reference_max_pool_grad(x.astype(np.float64), g.astype(np.float64), k, s, padding)
    np.testing.assert_array_equal(out, want_out.astype(np.float32))
    np.testing.assert_allclose(pool.max_pool_grad(x, out, g, **kw), want_dx, rtol=1e-6, atol=1e-6)


def test_parallel_chunks_reraises_a_chunk_error():
    def work(i):
        if i == 2:
            raise ValueError("chunk 2 failed")
        return i

    with pytest.raises(ValueError, match="chunk 2 failed"):
        blas.parallel_chunks(work, 5)


@pytest.mark.parametrize("shape", [(300, 40, 7), (7, 40, 300), (6, 3000, 5)])
def test_blas_matmul_splits_rows_columns_or_the_inner_dimension(shape, monkeypatch):
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
    m, k, n = shape
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    np.testing.assert_allclose(blas.matmul(a, b), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


def test_every_chunk_runs_inside_a_single_threaded_blas_section():
    """OpenBLAS's 'local' thread setter is process-wide: overlapping sections must not undo each other."""
    depths = blas.parallel_chunks(lambda i: type(blas.single_threaded()).depth, 8)
    assert all(d >= 1 for d in depths)
    assert type(blas.single_threaded()).depth == 0
    with blas.single_threaded():
        with blas.single_threaded():
            assert type(blas.single_threaded()).depth == 2
        assert type(blas.single_threaded()).depth == 1
    assert type(blas.single_threaded()).depth == 0
