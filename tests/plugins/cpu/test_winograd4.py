"""Winograd F(4x4, 5x5) (``winograd4``) against float64 references: the filter gradient, and the forward
convolution (fused bias, relu and 2x2 max pool; the stride-1 input gradient) with the rule that picks it
over F(2x2) (``beats_f2``).

The reference is the definition (a sum over output pixels of input patch times output gradient),
written in float64 in ``test_conv_direct``, independent of the plugin's code. Winograd's transforms
carry more rounding error than a direct float32 sum, so results are compared with an absolute
tolerance scaled to the gradient's magnitude (2e-5 of its largest value; measured: about 5e-6,
the direct kernel's 2e-7). Sizes cover partial tiles (outputs not a multiple of 4), batch 1, VALID
padding, output channels that leave part of a 32-wide block unused, input channels that are not a
multiple of the 8-channel register block, and tile groups that span images.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_conv_direct import _kw, ref_conv, ref_filter_grad, ref_input_grad, ref_pool

from tensorflux.extend import conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_direct, winograd, winograd4


@pytest.fixture(params=["serial", "chunked"])
def threads(request, monkeypatch):
    """One task, or the batch cut into up to 4 tasks per thread (each with its own accumulator)."""
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1 if request.param == "chunked" else float("inf"))
    monkeypatch.setattr(winograd4, "TASKS_PER_THREAD", 4)
    return request.param


def _geo(x_shape, f_shape, padding="SAME"):
    return conv2d_geometry(x_shape, f_shape, [1, 1, 1, 1], padding, [], "NHWC", [1, 1, 1, 1])


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def _data(x_shape, o, padding, seed):
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.standard_normal(x_shape), 0).astype(np.float32)  # relu'd, like the CNN's
    geo = _geo(x_shape, (5, 5, x_shape[3], o), padding)
    dy = rng.standard_normal((x_shape[0], geo.oh, geo.ow, o)).astype(np.float32)
    return x, dy


CASES = [  # (input NHWC, output channels, padding)
    ((3, 14, 14, 32), 64, "SAME"),  # the CNN's second layer
    ((1, 14, 14, 32), 64, "SAME"),
    ((2, 9, 11, 16), 32, "SAME"),  # partial tiles at the bottom and right
    ((3, 12, 13, 20), 50, "VALID"),  # 50 of 64 lanes; an 8x9 output
    ((1, 5, 7, 24), 32, "VALID"),  # a single output row
    ((11, 6, 6, 17), 32, "SAME"),  # 17 channels (a partial register block); groups that span images
    ((2, 30, 6, 16), 32, "SAME"),  # 8 tile rows per image: a group of tile rows ends inside an image
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}{c[2]}")
def test_winograd_filter_grad_matches_float64(case, threads):
    x_shape, o, padding = case
    x, dy = _data(x_shape, o, padding, 0)
    f_shape = (5, 5, x_shape[3], o)
    assert winograd.applies(_geo(x_shape, f_shape, padding), np.float32)
    df = conv.conv2d_backprop_filter(x, np.array(f_shape, np.int32), dy, **_kw(padding=padding))
    assert df.dtype == np.float32 and df.shape == f_shape
    _close(df, ref_filter_grad(x, dy, f_shape, padding=padding))


def test_small_groups_of_tile_rows(monkeypatch):
    monkeypatch.setattr(winograd4, "GROUP_TILES", 1)  # one tile row per group
    monkeypatch.setattr(winograd4, "_FLUSH_GROUPS", 2)  # the float32 sums flushed every other group
    x, dy = _data((2, 9, 10, 16), 32, "SAME", 1)
    _close(winograd4.filter_grad(x, dy, _geo(x.shape, (5, 5, 16, 32))), ref_filter_grad(x, dy, (5, 5, 16, 32)))


def test_winograd_filter_grad_agrees_with_the_direct_kernel_and_im2col(monkeypatch):
    x, dy = _data((50, 14, 14, 32), 64, "SAME", 2)
    dy *= np.random.default_rng(3).random(dy.shape) > 0.5  # relu's gradient mask, as in training

    def run():
        return conv.conv2d_backprop_filter(x, np.array((5, 5, 32, 64)), dy, **_kw())

    fast = run()
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    direct = run()
    monkeypatch.setattr(conv_direct, "MAX_FILTER_BYTES", 0)
    im2col = run()
    want = ref_filter_grad(x, dy, (5, 5, 32, 64))
    _close(fast, want)
    _close(direct, want)
    _close(im2col, want)
    np.testing.assert_allclose(fast, im2col, rtol=0, atol=2e-5 * np.abs(im2col).max())


def test_half_precision_and_nchw_go_through_winograd():
    x, dy = _data((2, 10, 10, 16), 32, "SAME", 4)
    want = ref_filter_grad(x, dy, (5, 5, 16, 32))
    nchw = dict(_kw(), strides=[1, 1, 1, 1], dilations=[1, 1, 1, 1], data_format="NCHW")
    got = conv.conv2d_backprop_filter(x.transpose(0, 3, 1, 2), np.array((5, 5, 16, 32)), dy.transpose(0, 3, 1, 2), **nchw)
    _close(got, want)
    half = conv.conv2d_backprop_filter(x.astype(np.float16), np.array((5, 5, 16, 32)), dy.astype(np.float16), **_kw())
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, want, rtol=0, atol=5e-3 * np.abs(want).max())


def test_a_nan_in_the_input_reaches_only_its_channel():
    x, dy = _data((2, 8, 8, 16), 32, "SAME", 5)
    x[1, 3, 4, 5] = np.nan
    df = winograd4.filter_grad(x, dy, _geo(x.shape, (5, 5, 16, 32)))
    assert np.isnan(df[:, :, 5]).all()
    assert not np.isnan(np.delete(df, 5, axis=2)).any()


# --- The forward direction (and the stride-1 input gradient, a forward convolution with the flipped filter).

@pytest.fixture
def f4_always(monkeypatch):
    """F(4x4) for every forward convolution Winograd takes, however small its output (``beats_f2`` aside)."""
    monkeypatch.setattr(winograd4, "MAX_PRODUCT_RATIO", float("inf"))


@pytest.fixture(params=["serial", "chunked"])
def forward_threads(request, monkeypatch):
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1 if request.param == "chunked" else float("inf"))
    return request.param


def _weights(x_shape, o, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = (rng.standard_normal((5, 5, x_shape[3], o)) * 0.1).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    return x, f, b


def _close_to(got, want, scale):
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}{c[2]}")
def test_winograd_conv2d_matches_float64(case, forward_threads, f4_always):
    x_shape, o, padding = case
    x, f, _ = _weights(x_shape, o, 10)
    out = conv.conv2d(x, f, **_kw(padding=padding))
    want = ref_conv(x, f, padding=padding)
    assert out.dtype == np.float32 and out.shape == want.shape
    _close_to(out, want, np.abs(want).max())
    err = np.abs(out - want) / np.maximum(np.abs(want), 1e-3 * np.abs(want).max())
    assert np.median(err) < 5e-6


@pytest.mark.parametrize("pool", ["", "MaxPool2x2"])
@pytest.mark.parametrize("activation", ["Relu", ""])
@pytest.mark.parametrize("x_shape", [(3, 14, 10, 32), (1, 6, 18, 16), (2, 8, 8, 24)])  # partial tiles; whole tiles
def test_winograd_fused_bias_relu_and_pool_match_float64(x_shape, activation, pool, forward_threads, f4_always):
    x, f, b = _weights(x_shape, 64, 11)
    conv_only = ref_conv(x, f)
    y = conv_only + b
    if activation:
        y = np.maximum(y, 0)
    if pool:
        y = ref_pool(y)
    got = conv.fused_conv2d(x, f, b, activation=activation, pool=pool, **_kw())
    assert got.shape == y.shape
    _close_to(got, y, np.abs(conv_only).max())


@pytest.mark.parametrize("shape", [(2, 14, 14, 32, 64), (1, 14, 14, 32, 64), (1, 9, 7, 32, 16), (3, 11, 13, 20, 40)])
def test_winograd_input_grad_matches_float64(shape, forward_threads, f4_always):
    n, h, w, c, o = shape
    rng = np.random.default_rng(12)
    f = (rng.standard_normal((5, 5, c, o)) * 0.1).astype(np.float32)
    dy = rng.standard_normal((n, h, w, o)).astype(np.float32)
    dx = conv.conv2d_backprop_input(np.array((n, h, w, c), np.int32), f, dy, **_kw())
    want = ref_input_grad((n, h, w, c), f, dy)
    _close_to(dx, want, np.abs(want).max())


def test_small_forward_groups(monkeypatch, f4_always):
    monkeypatch.setattr(winograd4, "FORWARD_GROUP_TILES", 1)  # one tile row per group
    x, f, b = _weights((2, 9, 10, 16), 32, 13)
    want = np.maximum(ref_conv(x, f) + b, 0)
    _close_to(winograd4.forward(x, f, b, _geo(x.shape, f.shape), relu=True), want, np.abs(want).max())


def test_the_cnn_layer_agrees_with_f2_direct_and_im2col(monkeypatch):
    """The CNN's second layer at batch 50 (fused bias, relu and pool; and its input gradient), every path."""
    rng = np.random.default_rng(14)
    x = np.maximum(rng.standard_normal((50, 14, 14, 32)), 0).astype(np.float32)  # relu'd, like the CNN's
    f = (rng.standard_normal((5, 5, 32, 64)) * 0.1).astype(np.float32)
    b = (rng.standard_normal(64) * 0.1).astype(np.float32)
    dy = rng.standard_normal((50, 14, 14, 64)).astype(np.float32)
    assert winograd4.beats_f2(_geo(x.shape, f.shape)) and winograd4.beats_f2(_geo(dy.shape, (5, 5, 64, 32)))

    def run():
        return (conv.fused_conv2d(x, f, b, activation="Relu", pool="MaxPool2x2", **_kw()),
                conv.conv2d_backprop_input(np.array(x.shape), f, dy, **_kw()))

    f4 = run()
    monkeypatch.setattr(winograd4, "MAX_PRODUCT_RATIO", 0.0)
    f2 = run()
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    direct = run()
    monkeypatch.setattr(conv_direct, "MAX_FILTER_BYTES", 0)
    im2col = run()
    scale = np.abs(ref_conv(x[:4], f)).max()  # the pre-pool output's magnitude, from a few images
    for paths, scale_ in zip(zip(f4, f2, direct, im2col), (scale, np.abs(im2col[1]).max())):
        for got in paths[:3]:
            _close_to(got, paths[3], scale_)
    want = ref_pool(np.maximum(ref_conv(x, f) + b, 0))
    _close_to(f4[0], want, scale)


def test_a_nan_reaches_only_the_tiles_that_read_it(f4_always):
    x, f, _ = _weights((2, 12, 12, 16), 32, 15)
    x[1, 5, 6, 3] = np.nan  # padded row 7, column 8: read by tile rows 0-1 and tile columns 1-2
    out = conv.fused_conv2d(x, f, np.zeros(32, np.float32), activation="Relu", pool="", **_kw())
    assert not np.isnan(out[0]).any()
    assert np.isnan(out[1, 3:8, 4:9]).all()  # every output whose window holds the NaN
    assert not np.isnan(out[1, 8:]).any() and not np.isnan(out[1, :, :4]).any()
    pooled = conv.fused_conv2d(x, f, np.zeros(32, np.float32), activation="Relu", pool="MaxPool2x2", **_kw())
    assert np.isnan(pooled[1, 2:4, 2:5]).all() and not np.isnan(pooled[1, 4:]).any()


def test_which_forward_convolutions_take_f4(monkeypatch):
    cnn = _geo((50, 14, 14, 32), (5, 5, 32, 64))
    assert winograd4.beats_f2(cnn)
    assert winograd4.beats_f2(_geo((1000, 14, 14, 32), (5, 5, 32, 64)))
    assert winograd4.beats_f2(_geo((8, 28, 28, 32), (5, 5, 32, 64)))
    assert winograd4.beats_f2(_geo((8, 7, 7, 32), (5, 5, 32, 64)))
    assert not winograd4.beats_f2(_geo((8, 6, 6, 32), (5, 5, 32, 64)))  # 4x4 tiles of a 6x6 output: 44% padding
    assert not winograd4.beats_f2(_geo((8, 6, 6, 32), (5, 5, 32, 64), "VALID"))  # a 2x2 output
    calls = []
    monkeypatch.setattr(winograd4, "forward", lambda *a, **k: calls.append("f4"))
    monkeypatch.setattr(winograd, "forward", lambda *a, **k: calls.append("f2"))
    x, f, _ = _weights((2, 14, 14, 32), 64, 16)
    conv._fast_forward(x, f, None, _geo(x.shape, f.shape), np.dtype(np.float32))
    conv._fast_forward(x[:, :6, :6], f, None, _geo((2, 6, 6, 32), f.shape), np.dtype(np.float32))
    assert calls == ["f4", "f2"]
