"""The gathered-patch BLAS convolution (``conv_gemm``) and the fused epilogues, against float64 references.

The reference sums the filter taps over zero-padded shifted views of the input, in float64, written from
the definition. Geometries cover 1x1 at stride 1 (the product straight off the NHWC buffer) and 2, 3x3,
7x7/2, 1x7 and 7x1, dilation, VALID/SAME/EXPLICIT padding and odd sizes; blocks are forced small and
every product parallel, so the split into pixel blocks and into channel blocks both run.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import axis_geometry, conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv, conv_gemm


def reference(x, f, stride, dilation, padding, explicit=((0, 0), (0, 0))):
    n, h, w, _ = x.shape
    kh, kw, _, o = f.shape
    oh, pt, pb = axis_geometry(h, kh, stride[0], dilation[0], padding, explicit[0])
    ow, pl, pr = axis_geometry(w, kw, stride[1], dilation[1], padding, explicit[1])
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, o))
    for i, j in itertools.product(range(kh), range(kw)):
        r, s = i * dilation[0], j * dilation[1]
        out += xp[:, r:r + (oh - 1) * stride[0] + 1:stride[0], s:s + (ow - 1) * stride[1] + 1:stride[1]] @ f[i, j]
    return out


GEOMETRIES = [  # (input NHWC, filter, stride, dilation, padding)
    ((2, 7, 9, 24), (1, 1, 24, 40), (1, 1), (1, 1), "VALID"),
    ((2, 9, 7, 24), (1, 1, 24, 40), (2, 2), (1, 1), "SAME"),
    ((1, 11, 10, 20), (3, 3, 20, 36), (1, 1), (1, 1), "SAME"),
    ((3, 10, 9, 16), (3, 3, 16, 33), (2, 2), (1, 1), "VALID"),
    ((1, 17, 15, 3), (7, 7, 3, 64), (2, 2), (1, 1), "SAME"),
    ((2, 9, 9, 20), (1, 7, 20, 24), (1, 1), (1, 1), "SAME"),
    ((2, 9, 9, 20), (7, 1, 20, 24), (1, 1), (1, 1), "SAME"),
    ((2, 9, 11, 10), (3, 3, 10, 12), (1, 2), (2, 1), "SAME"),
]


def _kw(stride=(1, 1), dilation=(1, 1), padding="SAME", explicit=()):
    return dict(strides=[1, *stride, 1], padding=padding, explicit_paddings=list(explicit), data_format="NHWC",
                dilations=[1, *dilation, 1])


@pytest.fixture(params=["whole", "blocks", "channels"])
def blocks(request, monkeypatch):
    """"blocks": every product parallel and cut into blocks of a few pixels (and channels); "channels": too few
    pixels to split, so the output channels are split and the patches gathered once for all of them."""
    if request.param != "whole":
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
        monkeypatch.setattr(conv_gemm, "MIN_ROWS", 3 if request.param == "blocks" else 10**6)
        monkeypatch.setattr(conv_gemm, "MIN_COLUMNS", 8)
        monkeypatch.setattr(conv_gemm, "BLOCK_BYTES", 256)
        monkeypatch.setattr(conv_gemm, "PARALLEL_PASS_BYTES", 1)
    return request.param


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}x{g[1]}s{g[2]}d{g[3]}{g[4]}")
def test_forward_matches_the_float64_sum_over_taps(geometry, blocks):
    x_shape, f_shape, stride, dilation, padding = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = rng.standard_normal(f_shape).astype(np.float32)
    geo = conv2d_geometry(x.shape, f.shape, [1, *stride, 1], padding, [], "NHWC", [1, *dilation, 1])
    out = conv_gemm.forward(x, f, geo, conv_gemm.Epilogue(None))
    np.testing.assert_allclose(out, reference(x, f, stride, dilation, padding), rtol=1e-5, atol=1e-4)
    assert out.dtype == np.float32


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}x{g[1]}s{g[2]}d{g[3]}{g[4]}")
def test_a_constant_filter_is_packed_once_and_gives_the_same_convolution(geometry, blocks):
    x_shape, f_shape, stride, dilation, padding = geometry
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = rng.standard_normal(f_shape).astype(np.float32)
    b = rng.standard_normal(f_shape[3]).astype(np.float32)
    geo = conv2d_geometry(x.shape, f.shape, [1, *stride, 1], padding, [], "NHWC", [1, *dilation, 1])
    want = np.maximum(reference(x, f, stride, dilation, padding) + b, 0)
    for _ in range(2):  # packs, then reuses the panels
        out = conv_gemm.forward(x, f, geo, conv_gemm.Epilogue(b, lo=0.0), constant=True)
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-4)
    assert conv_gemm.constant_transform(f, "panels", lambda: None, True) is not None  # kept for the next call


def test_explicit_padding_reads_zeros_outside_the_image(blocks):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 6, 16)).astype(np.float32)
    f = rng.standard_normal((3, 2, 16, 8)).astype(np.float32)
    pads = [0, 0, 2, 0, 1, 3, 0, 0]
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "EXPLICIT", pads, "NHWC", [1, 1, 1, 1])
    want = reference(x, f, (1, 1), (1, 1), "EXPLICIT", ((2, 0), (1, 3)))
    np.testing.assert_allclose(conv_gemm.forward(x, f, geo, conv_gemm.Epilogue(None)), want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("activation, lo, hi", [("", -np.inf, np.inf), ("Relu", 0, np.inf), ("Relu6", 0, 6)])
@pytest.mark.parametrize("with_side", [False, True])
def test_fused_convolution_adds_bias_and_residual_then_clamps(activation, lo, hi, with_side, blocks):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 9, 20)).astype(np.float32)
    b = rng.standard_normal(40).astype(np.float32)
    for f_shape, stride in (((1, 1, 20, 40), 1), ((3, 3, 20, 40), 1), ((1, 1, 20, 40), 2), ((3, 3, 20, 40), 2)):
        f = (rng.standard_normal(f_shape) * 2).astype(np.float32)
        y = reference(x, f, (stride, stride), (1, 1), "SAME")
        side = rng.standard_normal(y.shape).astype(np.float32) * 3 if with_side else None
        want = np.clip(y + b + (0 if side is None else side), lo, hi)
        got = conv.fused_conv2d(x, f, b, side, activation=activation, residual=with_side, **_kw((stride, stride)))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_epilogue_keeps_nans_through_relu_and_relu6():
    y = np.array([[np.nan, -1.0, 7.0, 2.0]], np.float32)
    conv_gemm.Epilogue(np.zeros(4, np.float32), lo=0.0, hi=6.0).apply(y, 0, 1, 0, 4)
    assert np.isnan(y[0, 0]) and y[0, 1:].tolist() == [0.0, 6.0, 2.0]


def test_finish_applies_the_epilogue_to_a_whole_output(blocks):
    rng = np.random.default_rng(3)
    out = rng.standard_normal((2, 5, 7, 12)).astype(np.float32)
    side = rng.standard_normal(out.shape).astype(np.float32)
    want = np.minimum(np.maximum(out + side, 0), 6)
    conv_gemm.Epilogue(None, side, 0.0, 6.0).finish(out)
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_plan_splits_channels_only_where_the_pixels_are_too_few(monkeypatch):
    monkeypatch.setattr(blas, "THREADS", 2)
    rows, columns = conv_gemm.plan(98, 512, 2048, False)  # ResNet-50's 7x7 layers at batch 2
    assert len(rows) == 1 and len(columns) >= 2 and columns[-1][1] == 2048
    rows, columns = conv_gemm.plan(6272, 64, 256, False)  # 56x56 at batch 2: pixel blocks
    assert len(rows) > 1 and columns == [(0, 256)]
    rows, _ = conv_gemm.plan(6272, 2304, 256, True)  # gathered patches: cache-sized blocks
    assert all((b - a) * 2304 * 4 <= 2 * conv_gemm.BLOCK_BYTES for a, b in rows)
    rows, columns = conv_gemm.plan(392, 512, 128, False)  # DenseNet's 14x14 1x1: tasks the threads share evenly
    assert len(rows) * len(columns) % 2 == 0


def test_the_residual_input_must_have_the_output_shape():
    x = np.ones((1, 4, 4, 16), np.float32)
    f = np.ones((1, 1, 16, 8), np.float32)
    with pytest.raises(ValueError, match="added input has shape"):
        conv.fused_conv2d(x, f, np.zeros(8, np.float32), np.ones((1, 4, 4, 4), np.float32), activation="",
                          residual=True, **_kw())
    with pytest.raises(ValueError, match="activation must be one of"):
        conv.fused_conv2d(x, f, np.zeros(8, np.float32), activation="Tanh", **_kw())


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_other_dtypes_take_the_residual_input_too(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 6, 3)).astype(dtype)
    f = rng.standard_normal((3, 3, 3, 5)).astype(dtype)
    b = rng.standard_normal(5).astype(dtype)
    side = rng.standard_normal((2, 6, 6, 5)).astype(dtype)
    got = conv.fused_conv2d(x, f, b, side, activation="Relu6", residual=True, **_kw())
    want = np.clip(reference(x.astype(np.float64), f.astype(np.float64), (1, 1), (1, 1), "SAME") + b + side, 0, 6)
    assert got.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 2e-2
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 5)


def test_which_forward_convolutions_take_which_kernel():
    def method(x_shape, f_shape, stride=1, constant=False, pool=False, dtype=np.float32):
        geo = conv2d_geometry(x_shape, f_shape, [1, stride, stride, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
        m = conv._method(geo, np.dtype(dtype), pool, constant)
        return None if m is None else m.__name__.rsplit(".", 1)[-1]

    assert method((2, 56, 56, 64), (1, 1, 64, 256)) == "conv_gemm"  # 1x1: a product off the NHWC buffer
    assert method((2, 56, 56, 256), (1, 1, 256, 512), stride=2) == "conv_gemm"
    assert method((2, 230, 230, 3), (7, 7, 3, 64), stride=2) == "conv_direct"  # few channels
    assert method((2, 17, 17, 160), (1, 7, 160, 192)) == "winograd1d"  # along one axis
    assert method((2, 17, 17, 160), (7, 1, 160, 192)) == "winograd1d"
    assert method((2, 17, 17, 4), (1, 7, 4, 192)) == "conv_direct"  # too few channels for the transforms
    assert method((2, 56, 56, 64), (3, 3, 64, 64)) == "winograd3"  # 392 tiles: pays even transformed each call
    assert method((2, 14, 14, 256), (3, 3, 256, 256)) == "conv_gemm"  # 32 tiles, a filter that may change
    assert method((2, 14, 14, 256), (3, 3, 256, 256), constant=True) == "winograd3"
    assert method((2, 7, 7, 512), (3, 3, 512, 512)) == "conv_gemm"  # 8 tiles, a filter that may change
    assert method((2, 7, 7, 512), (3, 3, 512, 512), constant=True) == "winograd2"  # 8 4x4 tiles, 32 2x2 ones
    assert method((2, 28, 28, 32), (5, 5, 32, 64)) in ("winograd", "winograd4")
    assert method((2, 14, 14, 32), (3, 3, 32, 64), pool=True) == "conv_direct"
    assert method((2, 14, 14, 32), (3, 3, 32, 64), dtype=np.float64) is None


@pytest.mark.parametrize("activation", ["", "Relu", "Relu6"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_fused_scale_shift_is_one_pass_of_the_batch_norm_and_activation(activation, dtype, blocks):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((2, 5, 7, 12)) * 4).astype(dtype)
    x.flat[3] = np.nan
    scale, offset = rng.standard_normal(12).astype(dtype), rng.standard_normal(12).astype(dtype)
    want = x.astype(np.float64) * scale + offset
    want = {"": want, "Relu": np.maximum(want, 0), "Relu6": np.clip(want, 0, 6)}[activation]
    got = conv.fused_scale_shift(x, scale, offset, activation=activation)
    assert got.dtype == dtype and np.isnan(got.flat[3])
    tol = 1e-6 if dtype != np.float16 else 1e-2
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_fused_scale_shift_writes_into_a_donated_input_only():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    scale, offset = np.full(4, 2, np.float32), np.ones(4, np.float32)
    kept = x.copy()
    assert conv.fused_scale_shift(x, scale, offset, activation="") is not x
    np.testing.assert_array_equal(x, kept)
    assert conv.fused_scale_shift(x, scale, offset, activation="", donated=(0,)) is x
    np.testing.assert_array_equal(x, kept * 2 + 1)
    with pytest.raises(ValueError, match="one entry per channel"):
        conv.fused_scale_shift(x, scale[:3], offset, activation="")
