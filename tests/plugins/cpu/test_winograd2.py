"""Winograd F(2x2, 3x3) (``winograd2``) against float64 sums over the filter taps, and where it runs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import axis_geometry, conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_gemm, winograd2


def reference(x, f, padding, explicit=((0, 0), (0, 0))):
    n, h, w, _ = x.shape
    oh, pt, pb = axis_geometry(h, 3, 1, 1, padding, explicit[0])
    ow, pl, pr = axis_geometry(w, 3, 1, 1, padding, explicit[1])
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, f.shape[3]))
    for i, j in itertools.product(range(3), range(3)):
        out += xp[:, i:i + oh, j:j + ow] @ f[i, j].astype(np.float64)
    return out


@pytest.fixture(params=["serial", "chunked"])
def threads(request, monkeypatch):
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1 if request.param == "chunked" else float("inf"))
    return request.param


CASES = [  # (input NHWC, output channels, padding, explicit padding)
    ((1, 7, 7, 32), 48, "SAME", None),  # odd sizes: the last tiles are half outside
    ((2, 8, 8, 16), 40, "SAME", None),
    ((1, 9, 6, 24), 32, "VALID", None),
    ((1, 6, 7, 16), 33, "EXPLICIT", ((2, 0), (1, 3))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}to{c[1]}{c[2]}")
def test_forward_matches_the_float64_sum(case, threads):
    x_shape, o, padding, explicit = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = (rng.standard_normal((3, 3, x_shape[3], o)) / np.sqrt(9 * x_shape[3])).astype(np.float32)
    pads = [0, 0, *explicit[0], *explicit[1], 0, 0] if explicit else []
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], padding, pads, "NHWC", [1, 1, 1, 1])
    want = reference(x, f, padding, explicit or ((0, 0), (0, 0)))
    for _ in range(2):  # transforms the filter, then reuses it
        got = winograd2.forward(x, f, geo, conv_gemm.Epilogue(None))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6 * np.abs(want).max())


@pytest.mark.parametrize("activation, lo, hi", [("", -np.inf, np.inf), ("Relu", 0.0, np.inf), ("Relu6", 0.0, 6.0)])
def test_the_fused_convolution_takes_it_with_bias_residual_and_clamp(activation, lo, hi, monkeypatch):
    monkeypatch.setattr(winograd2, "MIN_FLOPS", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 7, 7, 24)).astype(np.float32)
    f = (rng.standard_normal((3, 3, 24, 40)) / 5).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    side = (rng.standard_normal((1, 7, 7, 40)) * 3).astype(np.float32)
    kw = dict(strides=[1, 1, 1, 1], padding="SAME", explicit_paddings=[], data_format="NHWC", dilations=[1, 1, 1, 1])
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    assert conv._method(geo, np.float32, constant=True) is winograd2
    want = np.clip(reference(x, f, "SAME") + b + side, lo, hi)
    got = conv.fused_conv2d(x, f, b, side, activation=activation, residual=True, filter_const=True, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_which_convolutions_take_it():
    def method(x_shape, f_shape, constant=True, stride=1, padding="SAME"):
        geo = conv2d_geometry(x_shape, f_shape, [1, stride, stride, 1], padding, [], "NHWC", [1, 1, 1, 1])
        return conv._method(geo, np.float32, constant=constant)

    assert method((1, 7, 7, 512), (3, 3, 512, 512)) is winograd2  # ResNet-50's last stage at batch 1
    assert method((1, 8, 8, 448), (3, 3, 448, 384)) is winograd2  # Inception v3's last blocks at batch 1
    assert method((1, 7, 7, 512), (3, 3, 512, 512), constant=False) is not winograd2  # transform on every call
    assert method((1, 14, 14, 256), (3, 3, 256, 256)) is not winograd2  # enough tiles for F(4x4, 3x3)
    assert method((32, 7, 7, 512), (3, 3, 512, 512)) is not winograd2  # many tiles
    assert method((1, 7, 7, 512), (3, 3, 512, 512), stride=2) is not winograd2
    assert method((1, 7, 7, 8), (3, 3, 8, 512)) is not winograd2  # too few input channels
    assert method((1, 9, 11, 20), (3, 3, 20, 33)) is not winograd2  # too little work for the transforms
