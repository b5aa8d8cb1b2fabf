"""Winograd F(4x4, 5x5) filter gradient (``winograd4``) against float64 references.

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
from test_conv_direct import _kw, ref_filter_grad

from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_direct, winograd, winograd4


@pytest.fixture(params=["serial", "chunked"])
def threads(request, monkeypatch):
    """One task, or the batch cut into up to 4 tasks per thread (each with its own accumulator)."""
    monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1 if request.param == "chunked" else float("inf"))
    monkeypatch.setattr(winograd4, "TASKS_PER_THREAD", 4)
    return request.param


def _geo(x_shape, f_shape, padding="SAME"):
    return conv._Conv(x_shape, f_shape, [1, 1, 1, 1], padding, [], "NHWC", [1, 1, 1, 1])


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
