"""Winograd F(4x4, 3x3) (``winograd3``) against a float64 sum over the filter taps.

Output sizes are not multiples of the 4x4 tiles, batches of 1 occur, output channels fill 3/4 of the
32-wide blocks, and the work is split both ways (tile rows across tasks, output channels across tasks).
Winograd's rounding is a few times the direct sum's: results are compared with a tolerance relative to
the output's largest value.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from tensorflux.extend import conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_gemm, winograd3


def reference(x, f, padding):
    n, h, w, _ = x.shape
    pad = 1 if padding == "SAME" else 0
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh, ow = h + 2 * pad - 2, w + 2 * pad - 2
    return sum(xp[:, i:i + oh, j:j + ow] @ f[i, j].astype(np.float64) for i in range(3) for j in range(3))


def _geo(x, f, padding):
    return conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], padding, [], "NHWC", [1, 1, 1, 1])


def _close(got, want):
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=3e-5 * scale)


@pytest.fixture(params=["whole", "split"])
def split(request, monkeypatch):
    """"split": every convolution parallel, tasks splitting the output channels and groups of one tile row."""
    if request.param == "split":
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
        monkeypatch.setattr(blas, "THREADS", 3)
        monkeypatch.setattr(winograd3, "SHARED_TILES", 1 << 20)
        monkeypatch.setattr(winograd3, "MAX_GROUP_TILES", 1)
    return request.param


@pytest.mark.parametrize("shape, padding", [
    ((2, 13, 11, 16, 24), "SAME"), ((2, 18, 15, 20, 48), "VALID"), ((3, 9, 8, 17, 96), "SAME"),
    ((1, 18, 13, 32, 64), "SAME")], ids=str)
def test_forward_matches_the_float64_sum(shape, padding, split):
    n, h, w, c, o = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    f = (rng.standard_normal((3, 3, c, o)) / np.sqrt(9 * c)).astype(np.float32)
    geo = _geo(x, f, padding)
    assert winograd3.applies(geo, np.float32)
    _close(winograd3.forward(x, f, geo, None), reference(x, f, padding))


@pytest.mark.parametrize("lo, hi", [(-np.inf, np.inf), (0.0, np.inf), (0.0, 0.5)])
def test_bias_residual_and_clamp_are_applied_per_value(lo, hi, split):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 10, 16)).astype(np.float32)
    f = (rng.standard_normal((3, 3, 16, 40)) / 12).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    side = rng.standard_normal((2, 9, 10, 40)).astype(np.float32)
    geo = _geo(x, f, "SAME")
    want = np.clip(reference(x, f, "SAME") + b + side, lo, hi)
    _close(winograd3.forward(x, f, geo, b, side, lo, hi, constant=True), want)


def test_the_fused_kernel_takes_winograd_for_a_constant_filter():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 12, 12, 32)).astype(np.float32)
    f = (rng.standard_normal((3, 3, 32, 32)) / 17).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    kw = dict(strides=[1, 1, 1, 1], padding="SAME", explicit_paddings=[], data_format="NHWC", dilations=[1, 1, 1, 1])
    geo = _geo(x, f, "SAME")
    assert conv._method(geo, np.dtype(np.float32), constant=True) is winograd3
    assert conv._method(geo, np.dtype(np.float32), constant=False) is not winograd3  # 18 tiles: not amortized
    _close(conv.fused_conv2d(x, f, b, activation="Relu", filter_const=True, **kw),
           np.maximum(reference(x, f, "SAME") + b, 0))


def test_a_constant_filter_is_transformed_once_and_forgotten_with_its_array():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    g = f.copy()
    first = winograd3.transformed_filter(f, 32, 1, constant=True)
    assert winograd3.transformed_filter(f, 32, 1, constant=True) is first
    assert winograd3.transformed_filter(g, 32, 1, constant=True) is not first  # another array: its own entry
    assert winograd3.transformed_filter(f, 32, 1, constant=False) is not first  # may change: never cached
    np.testing.assert_array_equal(winograd3.transformed_filter(f, 32, 1, constant=False)[0][1], first[0][1])
    key = (id(f), ("winograd3", 32, 1))
    assert key in conv_gemm._transforms
    del f, first
    gc.collect()
    assert key not in conv_gemm._transforms


def test_channel_blocks_hold_the_transform_of_their_channels():
    rng = np.random.default_rng(4)
    f = rng.standard_normal((3, 3, 16, 96)).astype(np.float32)
    whole = winograd3.transformed_filter(f, 96, 1, constant=False)[0][1].reshape(36, 16, 96)
    blocks = winograd3.transformed_filter(f, 96, 2, constant=False)
    assert [o0 for o0, _ in blocks] == [0, 64]
    for o0, u in blocks:
        width = u.size // (36 * 16)
        np.testing.assert_array_equal(u.reshape(36, 16, width), whole[:, :, o0:o0 + width])


def test_which_convolutions_take_f4x4_3x3():
    def applies(x_shape, f_shape, stride=1, dilation=1, dtype=np.float32):
        geo = conv2d_geometry(x_shape, f_shape, [1, stride, stride, 1], "SAME", [], "NHWC",
                              [1, dilation, dilation, 1])
        return winograd3.applies(geo, dtype)

    assert applies((2, 56, 56, 64), (3, 3, 64, 64))
    assert applies((2, 14, 14, 256), (3, 3, 256, 256))  # 32 tiles
    assert not applies((2, 7, 7, 512), (3, 3, 512, 512))  # 8 tiles: reading U costs more than it saves
    assert not applies((2, 56, 56, 8), (3, 3, 8, 64))  # too few input channels
    assert not applies((2, 56, 56, 64), (3, 3, 64, 8))  # 8 of 32 lanes in use
    assert not applies((2, 56, 56, 64), (3, 3, 64, 64), stride=2)
    assert not applies((2, 56, 56, 64), (3, 3, 64, 64), dilation=2)
    assert not applies((2, 56, 56, 64), (5, 5, 64, 64))
    assert not applies((2, 56, 56, 64), (3, 3, 64, 64), dtype=np.float64)


def test_units_that_do_not_divide_among_the_threads_split_the_tile_rows(monkeypatch):
    # Inception v3's 35x35 64 -> 96 layers: three 32-wide units, which two tasks split 2:1 (0.43 ms against 0.27).
    monkeypatch.setattr(blas, "THREADS", 2)
    geo = conv2d_geometry((1, 35, 35, 64), (3, 3, 64, 96), [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    rows, splits = winograd3._plan(geo, 96, 64)
    assert splits == 1 and len(rows) == 2
    # A large U (ResNet-50's 14x14 256 -> 256: 9.4 MB) is still split by channels, evenly.
    geo = conv2d_geometry((1, 14, 14, 256), (3, 3, 256, 256), [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    rows, splits = winograd3._plan(geo, 256, 256)
    assert len(rows) == 1 and splits == 2
