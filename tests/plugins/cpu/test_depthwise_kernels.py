"""The cpu plugin's compiled depthwise convolution kernels against core's reference kernels (array-API tap blocks),
on one thread and split across threads, for multipliers 1 and above, strides, dilations, padding and layouts.

The op-info table runs the same ops on the cpu device against numpy references; here the chunked paths, which the
table's small shapes never reach, are forced (``_PARALLEL_MACS`` lowered) and compared with the serial ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from tensorflux.extend import reference_kernels
from tensorflux_cpu.kernels import depthwise

REFERENCE = reference_kernels(np)


@pytest.fixture(params=["serial", "chunked"])
def chunking(request, monkeypatch):
    if request.param == "chunked":
        monkeypatch.setattr(depthwise, "_PARALLEL_MACS", 1)
    return request.param


CASES = [  # (NHWC input, filter [kh, kw, c, m], strides, padding, dilations)
    ((3, 9, 8, 5), (3, 3, 5, 1), (1, 1), "SAME", (1, 1)),
    ((2, 9, 9, 4), (3, 3, 4, 1), (2, 2), "VALID", (1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 2), (2, 1), "SAME", (1, 1)),
    ((1, 8, 8, 2), (3, 3, 2, 3), (1, 1), "SAME", (2, 2)),
    ((2, 6, 7, 3), (5, 5, 3, 1), (2, 2), "SAME", (1, 1)),
    ((2, 2, 2, 3), (3, 3, 3, 1), (1, 1), "SAME", (1, 1)),
    ((0, 4, 4, 2), (3, 3, 2, 1), (1, 1), "SAME", (1, 1)),
]


def _attrs(strides, padding, dilations, data_format="NHWC"):
    if data_format == "NCHW":
        return dict(strides=[1, 1, *strides], padding=padding, explicit_paddings=[], data_format="NCHW",
                    dilations=[1, 1, *dilations])
    return dict(strides=[1, *strides, 1], padding=padding, explicit_paddings=[], data_format="NHWC",
                dilations=[1, *dilations, 1])


def _inputs(x_shape, f_shape, attrs, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(dtype)
    f = rng.standard_normal(f_shape).astype(dtype)
    y = REFERENCE["DepthwiseConv2dNative"](x, f, **attrs)
    return x, f, rng.standard_normal(y.shape).astype(dtype)


def _close(got, want, dtype):
    assert got.dtype == want.dtype and got.shape == want.shape
    tol = {np.float32: 1e-5, np.float64: 1e-12, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, dilations", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depthwise_kernels_match_the_reference_kernels(x_shape, f_shape, strides, padding, dilations, dtype, chunking):
    attrs = _attrs(strides, padding, dilations)
    x, f, dy = _inputs(x_shape, f_shape, attrs, dtype)
    _close(depthwise.depthwise_conv2d(x, f, **attrs), REFERENCE["DepthwiseConv2dNative"](x, f, **attrs), dtype)
    sizes = np.array(x_shape, np.int32)
    _close(depthwise.depthwise_conv2d_backprop_input(sizes, f, dy, **attrs),
           REFERENCE["DepthwiseConv2dNativeBackpropInput"](sizes, f, dy, **attrs), dtype)
    f_sizes = np.array(f_shape, np.int32)
    _close(depthwise.depthwise_conv2d_backprop_filter(x, f_sizes, dy, **attrs),
           REFERENCE["DepthwiseConv2dNativeBackpropFilter"](x, f_sizes, dy, **attrs), dtype)


def test_nchw_and_float16_go_through_nhwc_float32_loops():
    attrs = _attrs((2, 2), "SAME", (1, 1), "NCHW")
    x, f, dy = _inputs((2, 3, 7, 6), (3, 3, 3, 2), attrs, np.float16)
    _close(depthwise.depthwise_conv2d(x, f, **attrs), REFERENCE["DepthwiseConv2dNative"](x, f, **attrs), np.float16)
    _close(depthwise.depthwise_conv2d_backprop_input(np.array(x.shape), f, dy, **attrs),
           REFERENCE["DepthwiseConv2dNativeBackpropInput"](np.array(x.shape), f, dy, **attrs), np.float16)


def test_a_wrong_out_backprop_shape_is_named():
    attrs = _attrs((1, 1), "SAME", (1, 1))
    with pytest.raises(ValueError, match=r"out_backprop has shape \[1, 4, 4, 3\], expected \[1, 4, 4, 6\]"):
        depthwise.depthwise_conv2d_backprop_input(np.array([1, 4, 4, 3]), np.ones((3, 3, 3, 2), np.float32),
                                                  np.ones((1, 4, 4, 3), np.float32), **attrs)


FUSED_CASES = [  # (NHWC input, filter, strides, padding (or explicit pairs for height and width), dilations)
    ((2, 9, 8, 16), (3, 3, 16, 1), (1, 1), "SAME", (1, 1)),  # 3x3 windows inside two at a time, the tap loop at edges
    ((2, 7, 9, 8), (3, 3, 8, 1), (1, 1), "VALID", (1, 1)),  # no padding: an odd pixel left after the pairs
    ((1, 9, 10, 8), (3, 3, 8, 1), (1, 1), "SAME", (2, 1)),  # dilated in height only
    ((1, 10, 10, 12), (3, 3, 12, 1), (2, 2), ((0, 1), (0, 1)), (1, 1)),  # MobileNet's padded stride-2 blocks
    ((1, 9, 9, 5), (3, 3, 5, 1), (1, 1), "SAME", (2, 2)),
    ((2, 8, 7, 6), (5, 5, 6, 1), (2, 2), "SAME", (1, 1)),
    ((2, 6, 6, 3), (3, 3, 3, 2), (1, 1), "VALID", (1, 1)),  # a multiplier: the general loop, then the epilogue
]


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, dilations", FUSED_CASES)
@pytest.mark.parametrize("activation", ["", "Relu", "Relu6", "Swish"])
def test_the_fused_kernel_matches_the_reference_fused_kernel(x_shape, f_shape, strides, padding, dilations, activation,
                                                             chunking):
    attrs = _attrs(strides, padding if isinstance(padding, str) else "EXPLICIT", dilations)
    if not isinstance(padding, str):
        attrs["explicit_paddings"] = [0, 0, *padding[0], *padding[1], 0, 0]
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(x_shape) * 4).astype(np.float32)
    f = rng.standard_normal(f_shape).astype(np.float32)
    bias = rng.standard_normal(f_shape[2] * f_shape[3]).astype(np.float32)
    want = REFERENCE["_FusedDepthwiseConv2dNative"](x, f, bias, activation=activation, **attrs)
    got = depthwise.fused_depthwise_conv2d(x, f, bias, activation=activation, **attrs)
    _close(got, want, np.float32)
    if activation == "Relu6":  # the clamp is exercised at both ends
        assert (want == 0).any() and (want == 6).any()


def test_the_fused_kernel_in_float64_float16_and_nchw():
    rng = np.random.default_rng(6)
    for dtype, data_format in ((np.float64, "NHWC"), (np.float16, "NHWC"), (np.float32, "NCHW")):
        attrs = _attrs((1, 1), "SAME", (1, 1), data_format)
        x = rng.standard_normal((2, 4, 6, 6) if data_format == "NCHW" else (2, 6, 6, 4)).astype(dtype)
        f, bias = rng.standard_normal((3, 3, 4, 1)).astype(dtype), rng.standard_normal(4).astype(dtype)
        for activation in ("Relu", "Swish"):
            want = REFERENCE["_FusedDepthwiseConv2dNative"](x, f, bias, activation=activation, **attrs)
            _close(depthwise.fused_depthwise_conv2d(x, f, bias, activation=activation, **attrs), want, dtype)


def test_the_fused_kernel_names_a_wrong_bias_or_activation():
    attrs = _attrs((1, 1), "SAME", (1, 1))
    x, f = np.ones((1, 4, 4, 3), np.float32), np.ones((3, 3, 3, 2), np.float32)
    with pytest.raises(ValueError, match=r"_FusedDepthwiseConv2dNative: bias of shape \[3\] must have one entry per "
                                         r"output channel \(6\)"):
        depthwise.fused_depthwise_conv2d(x, f, np.ones(3, np.float32), activation="", **attrs)
    with pytest.raises(ValueError, match="activation must be one of .* got 'Tanh'"):
        depthwise.fused_depthwise_conv2d(x, f, np.ones(6, np.float32), activation="Tanh", **attrs)
