"""Winograd F(2x2, 5x5) convolution (``winograd``) against float64 references.

F(4x4, 5x5) (``winograd4``) takes the forward direction wherever its tiles do not waste much on a small
output; here it is switched off, so that ``conv`` routes every case through F(2x2) (``test_winograd4.py``
checks F(4x4) and the rule between them).

Winograd's transforms carry a few times the rounding error of a direct float32 sum, so results are
compared with an absolute tolerance scaled to the output's magnitude (2e-5 of its largest value;
direct sums land near 1.5e-6 of it, Winograd near 5e-6), and the typical error is checked too.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_conv_direct import _kw, _out_size, ref_conv, ref_input_grad, ref_pool

from tensorflux.extend import conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_direct, winograd, winograd4


@pytest.fixture(autouse=True)
def f2_only(monkeypatch):
    monkeypatch.setattr(winograd4, "MAX_PRODUCT_RATIO", 0.0)


@pytest.fixture(params=["serial", "chunked"])
def threads(request, monkeypatch):
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1 if request.param == "chunked" else float("inf"))
    return request.param


def _geo(x_shape, f_shape, padding="SAME", explicit=()):
    return conv2d_geometry(x_shape, f_shape, [1, 1, 1, 1], padding, list(explicit), "NHWC", [1, 1, 1, 1])


def _close(got, want, scale=None):
    scale = np.abs(want).max() if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


CASES = [  # (input NHWC, output channels, padding)
    ((2, 14, 14, 32), 64, "SAME"),  # the CNN's second layer
    ((1, 14, 14, 32), 64, "SAME"),
    ((2, 9, 11, 16), 32, "SAME"),  # odd sizes: partial tiles at the bottom and right
    ((3, 12, 13, 20), 50, "VALID"),  # 50 of 64 lanes, an odd output width
    ((1, 5, 7, 24), 32, "VALID"),  # one row of tiles, a single output row
    ((11, 6, 6, 16), 32, "SAME"),  # groups of tile rows that span images
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}{c[2]}")
def test_winograd_conv2d_matches_float64(case, threads):
    x_shape, o, padding = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = (rng.standard_normal((5, 5, x_shape[3], o)) * 0.1).astype(np.float32)
    assert winograd.applies(_geo(x.shape, f.shape, padding), np.float32)
    out = conv.conv2d(x, f, **_kw(padding=padding))
    want = ref_conv(x, f, padding=padding)
    assert out.dtype == np.float32 and out.shape == want.shape
    _close(out, want)
    err = np.abs(out - want) / np.maximum(np.abs(want), 1e-3 * np.abs(want).max())
    assert np.median(err) < 5e-6


@pytest.mark.parametrize("pool", ["", "MaxPool2x2"])
@pytest.mark.parametrize("activation", ["Relu", ""])
def test_winograd_fused_bias_relu_and_pool_match_float64(activation, pool, threads):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 14, 10, 32)).astype(np.float32)
    f = (rng.standard_normal((5, 5, 32, 64)) * 0.1).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    y = ref_conv(x, f) + b
    if activation:
        y = np.maximum(y, 0)
    if pool:
        y = ref_pool(y)
    got = conv.fused_conv2d(x, f, b, activation=activation, pool=pool, **_kw())
    _close(got, y, scale=np.abs(ref_conv(x, f)).max())


@pytest.mark.parametrize("shape", [(2, 14, 14, 32, 64), (1, 9, 7, 32, 16)])
def test_winograd_input_grad_matches_float64(shape, threads):
    """Stride 1: the input gradient is a forward convolution with the flipped filter, through Winograd too."""
    n, h, w, c, o = shape
    rng = np.random.default_rng(2)
    f = (rng.standard_normal((5, 5, c, o)) * 0.1).astype(np.float32)
    dy = rng.standard_normal((n, h, w, o)).astype(np.float32)
    assert winograd.applies(_geo((n, h, w, o), (5, 5, o, c), "EXPLICIT", [0, 0, 2, 2, 2, 2, 0, 0]), np.float32)
    dx = conv.conv2d_backprop_input(np.array((n, h, w, c), np.int32), f, dy, **_kw())
    _close(dx, ref_input_grad((n, h, w, c), f, dy))


def test_winograd_agrees_with_the_direct_kernels_and_im2col(monkeypatch):
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((50, 14, 14, 32)), 0).astype(np.float32)  # relu'd, like the CNN's
    f = (rng.standard_normal((5, 5, 32, 64)) * 0.1).astype(np.float32)
    b = (rng.standard_normal(64) * 0.1).astype(np.float32)
    dy = rng.standard_normal((50, 14, 14, 64)).astype(np.float32)
    kw = _kw()

    def run():
        return (conv.fused_conv2d(x, f, b, activation="Relu", pool="MaxPool2x2", **kw),
                conv.conv2d_backprop_input(np.array(x.shape), f, dy, **kw))

    fast = run()
    monkeypatch.setattr(winograd, "MIN_CHANNELS", 1 << 30)
    direct = run()
    monkeypatch.setattr(conv_direct, "MAX_FILTER_BYTES", 0)
    im2col = run()
    for a, b_, c in zip(fast, direct, im2col):
        _close(a, c)
        _close(b_, c)


def test_winograd_keeps_nans():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 8, 8, 16)).astype(np.float32)
    x[0, 1, 1, 3] = np.nan
    f = rng.standard_normal((5, 5, 16, 32)).astype(np.float32)
    out = conv.fused_conv2d(x, f, np.zeros(32, np.float32), activation="Relu", pool="MaxPool2x2", **_kw())
    assert np.isnan(out[0, :2, :2]).all() and not np.isnan(out[0, 2:, 2:]).any()


def test_which_convolutions_take_winograd():
    assert winograd.applies(_geo((2, 14, 14, 32), (5, 5, 32, 64)), np.float32)
    assert not winograd.applies(_geo((2, 14, 14, 32), (5, 5, 32, 64)), np.float64)
    assert not winograd.applies(_geo((2, 28, 28, 1), (5, 5, 1, 32)), np.float32)  # too few channels
    assert not winograd.applies(_geo((2, 14, 14, 32), (3, 3, 32, 64)), np.float32)  # not 5x5
    assert not winograd.applies(_geo((2, 14, 14, 32), (5, 5, 32, 8)), np.float32)  # 8 of 32 lanes
    strided = conv2d_geometry((2, 14, 14, 32), (5, 5, 32, 64), [1, 2, 2, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    assert not winograd.applies(strided, np.float32)
    assert _out_size(14, 5, 1, 1, "SAME") == (14, 2)
