"""The direct float32 convolution kernels (``conv_direct``) against float64 loop references.

The references here are written from the definitions (a sum over filter taps at every output pixel,
and its derivatives), independently of the plugin's im2col code. Sizes are chosen so that rows are
not a multiple of the kernels' 8-pixel blocks, output channels not a multiple of their 32-wide blocks,
and batches of 1 occur; the im2col fallback is checked to agree with the direct path on the CNN's
own shapes. Winograd (which would take the 5x5 convolutions on 16+ channels) is switched off here;
``test_winograd.py`` checks it.
"""

from __future__ import annotations

import numpy as np
import pytest

from tensorflux.extend import conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_direct, winograd


def _out_size(size, k, stride, dilation, padding):
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2
    return (size - eff) // stride + 1, 0


def _patches(x, kh, kw, stride, dilation, padding):
    """Float64 [N, OH, OW, KH, KW, C] windows of ``x`` (NHWC), zero outside the image."""
    n, h, w, c = x.shape
    oh, pt = _out_size(h, kh, stride[0], dilation[0], padding)
    ow, pl = _out_size(w, kw, stride[1], dilation[1], padding)
    out = np.zeros((n, oh, ow, kh, kw, c))
    for r in range(oh):
        for q in range(ow):
            for i in range(kh):
                for j in range(kw):
                    y, z = r * stride[0] - pt + i * dilation[0], q * stride[1] - pl + j * dilation[1]
                    if 0 <= y < h and 0 <= z < w:
                        out[:, r, q, i, j] = x[:, y, z]
    return out, (pt, pl)


def ref_conv(x, f, stride=(1, 1), dilation=(1, 1), padding="SAME"):
    p, _ = _patches(x.astype(np.float64), f.shape[0], f.shape[1], stride, dilation, padding)
    return np.einsum("nhwijc,ijco->nhwo", p, f.astype(np.float64))


def ref_filter_grad(x, dy, f_shape, stride=(1, 1), dilation=(1, 1), padding="SAME"):
    p, _ = _patches(x.astype(np.float64), f_shape[0], f_shape[1], stride, dilation, padding)
    return np.einsum("nhwijc,nhwo->ijco", p, dy.astype(np.float64))


def ref_input_grad(x_shape, f, dy, padding="SAME"):
    """Stride 1: every output pixel scatters dy @ f[i, j].T back to the input pixels it read."""
    n, h, w, c = x_shape
    kh, kw = f.shape[:2]
    oh, pt = _out_size(h, kh, 1, 1, padding)
    ow, pl = _out_size(w, kw, 1, 1, padding)
    dx = np.zeros(x_shape)
    f64, dy64 = f.astype(np.float64), dy.astype(np.float64)
    for r in range(oh):
        for q in range(ow):
            for i in range(kh):
                for j in range(kw):
                    y, z = r - pt + i, q - pl + j
                    if 0 <= y < h and 0 <= z < w:
                        dx[:, y, z] += dy64[:, r, q] @ f64[i, j].T
    return dx


def ref_pool(y):
    n, h, w, c = y.shape
    return y.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _kw(stride=(1, 1), dilation=(1, 1), padding="SAME", data_format="NHWC"):
    if data_format == "NCHW":
        return dict(strides=[1, 1, *stride], padding=padding, explicit_paddings=[], data_format="NCHW",
                    dilations=[1, 1, *dilation])
    return dict(strides=[1, *stride, 1], padding=padding, explicit_paddings=[], data_format="NHWC",
                dilations=[1, *dilation, 1])


@pytest.fixture(autouse=True)
def no_winograd(monkeypatch):
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)


@pytest.fixture(params=["serial", "chunked"])
def threads(request, monkeypatch):
    """Run the kernels in one task, or cut into parallel tasks (runs of output rows where the images are fewer
    than the tasks, as at batch 1; some runs cross from one image into the next)."""
    if request.param == "chunked":
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
    else:
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", float("inf"))
    return request.param


def _uses_direct(x_shape, f_shape, kw):
    geo = conv2d_geometry(x_shape, f_shape, kw["strides"], kw["padding"], kw["explicit_paddings"], "NHWC", kw["dilations"])
    return conv_direct.applies(geo, np.float32)


CASES = [  # (input NHWC, filter, stride, dilation, padding)
    ((2, 28, 28, 1), (5, 5, 1, 32), (1, 1), (1, 1), "SAME"),  # the CNN's first layer
    ((1, 14, 14, 32), (5, 5, 32, 64), (1, 1), (1, 1), "SAME"),  # its second, batch 1
    ((3, 11, 13, 3), (3, 3, 3, 50), (1, 1), (1, 1), "SAME"),  # 50 channels: a partly used block
    ((2, 9, 10, 2), (3, 2, 2, 30), (1, 1), (1, 1), "VALID"),
    ((2, 12, 11, 4), (3, 3, 4, 32), (2, 3), (1, 1), "SAME"),
    ((2, 13, 12, 2), (3, 3, 2, 32), (1, 1), (2, 2), "SAME"),
    ((1, 7, 6, 5), (4, 3, 5, 64), (2, 1), (1, 2), "VALID"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda g: f"{g[0]}x{g[1]}s{g[2]}d{g[3]}{g[4]}")
def test_direct_conv2d_and_filter_grad_match_float64_loops(case, threads):
    x_shape, f_shape, stride, dilation, padding = case
    kw = _kw(stride, dilation, padding)
    assert _uses_direct(x_shape, f_shape, kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = rng.standard_normal(f_shape).astype(np.float32)
    out = conv.conv2d(x, f, **kw)
    want = ref_conv(x, f, stride, dilation, padding)
    assert out.dtype == np.float32 and out.shape == want.shape
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    dy = rng.standard_normal(out.shape).astype(np.float32)
    df = conv.conv2d_backprop_filter(x, np.array(f_shape, np.int32), dy, **kw)
    np.testing.assert_allclose(df, ref_filter_grad(x, dy, f_shape, stride, dilation, padding), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("case", [c for c in CASES if c[2] == c[3] == (1, 1)], ids=lambda g: f"{g[0]}x{g[1]}{g[4]}")
def test_direct_input_grad_matches_float64_scatter(case, threads):
    x_shape, f_shape, _, _, padding = case
    rng = np.random.default_rng(1)
    # Swap the channel counts: the input gradient's convolution has the filter's C as its outputs.
    f_shape = (f_shape[0], f_shape[1], 32, 5)
    x_shape = x_shape[:3] + (32,)
    f = rng.standard_normal(f_shape).astype(np.float32)
    oh, _ = _out_size(x_shape[1], f_shape[0], 1, 1, padding)
    ow, _ = _out_size(x_shape[2], f_shape[1], 1, 1, padding)
    dy = rng.standard_normal((x_shape[0], oh, ow, f_shape[3])).astype(np.float32)
    dx = conv.conv2d_backprop_input(np.array(x_shape, np.int32), f, dy, **_kw(padding=padding))
    np.testing.assert_allclose(dx, ref_input_grad(x_shape, f, dy, padding), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 28, 28, 1, 32), (1, 14, 14, 32, 64), (3, 6, 10, 3, 50)])
@pytest.mark.parametrize("activation", ["Relu", ""])
def test_fused_epilogue_and_pool_match_float64(shape, activation, threads):
    n, h, w, c, o = shape
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    f = rng.standard_normal((5, 5, c, o)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    kw = _kw()
    assert _uses_direct(x.shape, f.shape, kw)
    y = ref_conv(x, f) + b
    if activation:
        y = np.maximum(y, 0)
    np.testing.assert_allclose(conv.fused_conv2d(x, f, b, activation=activation, **kw), y, rtol=1e-5, atol=1e-4)
    pooled = conv.fused_conv2d(x, f, b, activation=activation, pool="MaxPool2x2", **kw)
    np.testing.assert_allclose(pooled, ref_pool(y), rtol=1e-5, atol=1e-4)


def test_fused_relu_and_pool_keep_nans():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 8, 8, 1)).astype(np.float32)
    x[0, 3, 4, 0] = np.nan
    f = rng.standard_normal((3, 3, 1, 32)).astype(np.float32)
    b = np.zeros(32, np.float32)
    out = conv.fused_conv2d(x, f, b, activation="Relu", **_kw())
    assert np.isnan(out[0, 2:5, 3:6]).all() and not np.isnan(out[0, :2]).any()
    pooled = conv.fused_conv2d(x, f, b, activation="Relu", pool="MaxPool2x2", **_kw())
    assert np.isnan(pooled[0, 1:3, 1:3]).all() and not np.isnan(pooled[0, 0]).any()


@pytest.mark.parametrize("shape", [(50, 28, 28, 1, 32), (50, 14, 14, 32, 64)])
def test_direct_path_agrees_with_im2col_fallback(shape, monkeypatch):
    n, h, w, c, o = shape
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    f = (rng.standard_normal((5, 5, c, o)) * 0.1).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    dy = rng.standard_normal((n, h, w, o)).astype(np.float32)
    kw = _kw()

    def run():
        return (conv.fused_conv2d(x, f, b, activation="Relu", pool="MaxPool2x2", **kw),
                conv.conv2d_backprop_filter(x, np.array(f.shape), dy, **kw),
                conv.conv2d_backprop_input(np.array(x.shape), f, dy, **kw))

    direct = run()
    monkeypatch.setattr(conv_direct, "MAX_FILTER_BYTES", 0)
    fallback = run()
    for d, g in zip(direct, fallback):
        scale = np.abs(g).max()
        np.testing.assert_allclose(d, g, rtol=1e-5, atol=1e-5 * scale)


def test_nchw_and_half_precision_go_through_the_direct_kernels():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 10, 9)).astype(np.float32)  # NCHW
    f = rng.standard_normal((3, 3, 3, 32)).astype(np.float32)
    want = ref_conv(x.transpose(0, 2, 3, 1), f).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(conv.conv2d(x, f, **_kw(data_format="NCHW")), want, rtol=1e-5, atol=1e-4)
    half = conv.conv2d(x.astype(np.float16), f.astype(np.float16), **_kw(data_format="NCHW"))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, want, rtol=2e-2, atol=5e-2)


def test_which_convolutions_take_the_direct_path():
    def geo(f_shape, n=2):
        return conv2d_geometry((n, 8, 8, f_shape[2]), f_shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])

    assert conv_direct.applies(geo((5, 5, 1, 32)), np.float32)
    assert conv_direct.applies(geo((5, 5, 32, 64)), np.float32)
    assert not conv_direct.applies(geo((5, 5, 32, 64)), np.float64)  # float64 stays with BLAS
    assert not conv_direct.applies(geo((1, 1, 32, 64)), np.float32)  # 1x1 needs no im2col
    assert not conv_direct.applies(geo((5, 5, 32, 4)), np.float32)  # 4 of 32 lanes in use
    assert not conv_direct.applies(geo((3, 3, 512, 512)), np.float32)  # 9 MiB of filter
    assert not conv_direct.applies(geo((5, 5, 1, 32), n=0), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,f_shape", [((2, 5, 5, 0), (3, 3, 0, 32)), ((2, 0, 5, 1), (3, 3, 1, 32)),
                                             ((0, 5, 5, 1), (3, 3, 1, 32)), ((1, 5, 5, 32), (5, 5, 32, 0))])
def test_empty_convolutions_give_empty_or_zero_results(x_shape, f_shape, dtype):
    kw = _kw()
    x, f = np.ones(x_shape, dtype), np.ones(f_shape, dtype)
    y = conv.conv2d(x, f, **kw)
    assert y.shape == x_shape[:3] + f_shape[3:] and y.dtype == dtype and not y.any()
    assert conv.fused_conv2d(x, f, np.zeros(f_shape[3], dtype), activation="Relu", **kw).shape == y.shape
    dy = np.ones(y.shape, dtype)
    df = conv.conv2d_backprop_filter(x, np.array(f_shape), dy, **kw)
    dx = conv.conv2d_backprop_input(np.array(x_shape), f, dy, **kw)
    assert df.shape == f_shape and not df.any() and dx.shape == x_shape and not dx.any()


def test_a_single_mid_size_image_is_split_by_rows(monkeypatch):
    # MobileNet v2's stem at batch 1 (22 MFLOP, below blas's threshold) ran on one core while the other waited.
    monkeypatch.setattr(blas, "THREADS", 2)
    stem = conv2d_geometry((1, 224, 224, 3), (3, 3, 3, 32), [1, 2, 2, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    bounds = conv_direct._row_tasks(stem, False)
    assert len(bounds) == 2 and bounds[0][0] == 0 and bounds[-1][1] == stem.oh
    tiny = conv2d_geometry((1, 16, 16, 3), (3, 3, 3, 8), [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    assert len(conv_direct._row_tasks(tiny, False)) == 1
