"""The convolution and pooling reference kernels over numpy and ``array_api_strict`` (2023.12), against the cpu
plugin's kernels on random inputs: SAME, VALID and EXPLICIT padding, strides, dilations, odd sizes, NHWC and
NCHW, and the fused _FusedConv2D and _FusedMaxPoolGrad."""

from __future__ import annotations

import numpy as np
import pytest
import test_nn
from test_nn import LOW, RNG, normal

from tensorflux_cpu.kernels import conv as cpu_conv, pool as cpu_pool

space = test_nn.space  # the fixture of the array namespaces under test

# A convolution's sums run in a different order on each side: tolerances are relative to the largest value.
TOL = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}

# (input NHWC, filter, strides (h, w), padding, dilations (h, w), explicit ((top, bottom), (left, right)))
CONVS = [
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1), None),
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), "VALID", (1, 1), None),
    ((1, 9, 8, 2), (3, 2, 2, 5), (2, 3), "SAME", (1, 1), None),
    ((1, 9, 8, 2), (3, 2, 2, 5), (2, 2), "VALID", (1, 1), None),
    ((2, 8, 9, 1), (5, 5, 1, 3), (1, 1), "SAME", (1, 1), None),
    ((1, 10, 7, 2), (3, 3, 2, 2), (1, 1), "SAME", (2, 2), None),
    ((1, 11, 9, 2), (2, 3, 2, 3), (1, 1), "VALID", (3, 2), None),
    ((2, 5, 6, 3), (3, 2, 3, 2), (2, 1), "EXPLICIT", (1, 1), ((2, 1), (0, 3))),
    ((1, 4, 4, 2), (1, 1, 2, 3), (3, 3), "VALID", (1, 1), None),
    ((1, 3, 3, 1), (3, 3, 1, 1), (4, 4), "SAME", (1, 1), None),
]
# (input NHWC, ksize (h, w), strides (h, w))
POOLS = [((2, 6, 6, 3), (2, 2), (2, 2)), ((1, 7, 5, 2), (3, 3), (2, 2)), ((2, 5, 7, 1), (2, 3), (1, 2)),
         ((1, 9, 8, 2), (3, 2), (3, 3)), ((1, 4, 4, 3), (1, 1), (2, 1)), ((1, 3, 4, 2), (3, 3), (1, 1))]


def four(hw: tuple, data_format: str) -> list:
    return [1, 1, *hw] if data_format == "NCHW" else [1, *hw, 1]


def layout(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))) if data_format == "NCHW" else x


def conv_attrs(case: tuple, data_format: str) -> dict:
    _, _, strides, padding, dilations, explicit = case
    pads = [0, 0, 0, 0, 0, 0, 0, 0]
    if explicit:
        h, w = (2, 3) if data_format == "NCHW" else (1, 2)
        pads[2 * h:2 * h + 2], pads[2 * w:2 * w + 2] = explicit
    return dict(strides=four(strides, data_format), padding=padding, explicit_paddings=pads if explicit else [],
                data_format=data_format, dilations=four(dilations, data_format))


def close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    scale = max(1.0, float(np.abs(want.astype(np.float64)).max(initial=0)))
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=0,
                               atol=TOL.get(np.dtype(want.dtype), 1.6e-2) * scale)


def floats(space) -> list:
    return [np.float32, np.float64] + (LOW if space.name != "array_api_strict" else [])


# -- convolutions --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("case", CONVS, ids=lambda c: f"{c[0]}x{c[1]}-s{c[2]}-{c[3]}-d{c[4]}")
def test_conv2d_and_its_gradients_match_the_cpu_kernels(space, case, data_format):
    attrs = conv_attrs(case, data_format)
    for dtype in floats(space):
        x, f = layout(normal(case[0], dtype, 1.0), data_format), normal(case[1], dtype, 1.0)
        y = cpu_conv.conv2d(x, f, **attrs)
        close(space.call("Conv2D", x, f, **attrs), y)
        dy = normal(y.shape, dtype, 1.0)
        sizes, f_sizes = np.array(x.shape, np.int32), np.array(f.shape, np.int32)
        close(space.call("Conv2DBackpropInput", sizes, f, dy, **attrs),
              cpu_conv.conv2d_backprop_input(sizes, f, dy, **attrs))
        close(space.call("Conv2DBackpropFilter", x, f_sizes, dy, **attrs),
              cpu_conv.conv2d_backprop_filter(x, f_sizes, dy, **attrs))


@pytest.mark.parametrize("activation", ["", "Relu"])
@pytest.mark.parametrize("case", CONVS, ids=lambda c: f"{c[0]}x{c[1]}-s{c[2]}-{c[3]}-d{c[4]}")
def test_fused_conv2d_matches_the_cpu_kernel(space, case, activation):
    attrs = conv_attrs(case, "NHWC")
    for dtype in floats(space):
        x, f, bias = normal(case[0], dtype, 1.0), normal(case[1], dtype, 1.0), normal(case[1][3:], dtype, 1.0)
        out_h, out_w = cpu_conv.conv2d(x, f, **attrs).shape[1:3]
        for pool in ("", "MaxPool2x2") if out_h % 2 == out_w % 2 == 0 else ("",):
            close(space.call("_FusedConv2D", x, f, bias, activation=activation, pool=pool, **attrs),
                  cpu_conv.fused_conv2d(x, f, bias, activation=activation, pool=pool, **attrs))


def test_fused_conv2d_refuses_a_pool_of_an_odd_output_and_a_bias_of_the_wrong_size(space):
    x, f = normal((1, 5, 5, 2), np.float32), normal((3, 3, 2, 4), np.float32)
    attrs = conv_attrs(CONVS[0], "NHWC")
    with pytest.raises(ValueError, match=r"a fused 2x2 max pool needs an NHWC output of even height and width, got "
                                         r"5x5 \(NHWC\)"):
        space.call("_FusedConv2D", x, f, normal((4,), np.float32), activation="Relu", pool="MaxPool2x2", **attrs)
    with pytest.raises(ValueError, match=r"bias of shape \[3\] must have one entry per output channel \(4\)"):
        space.call("_FusedConv2D", x, f, normal((3,), np.float32), activation="", **attrs)


def test_conv_gradients_name_an_out_backprop_of_the_wrong_shape(space):
    x, f = normal((1, 6, 6, 2), np.float64), normal((3, 3, 2, 4), np.float64)
    attrs = conv_attrs(CONVS[2], "NHWC")  # strides (2, 3), SAME: a 3x2 output
    with pytest.raises(ValueError, match=r"out_backprop has shape \[1, 6, 6, 4\], expected \[1, 3, 2, 4\]"):
        space.call("Conv2DBackpropInput", np.array(x.shape, np.int32), f, normal((1, 6, 6, 4), np.float64), **attrs)
    with pytest.raises(ValueError, match=r"input depth 2 does not match filter in_channels 3"):
        space.call("Conv2D", x, normal((3, 3, 3, 4), np.float64), **attrs)


def test_an_empty_batch_convolves_to_an_empty_batch_and_zero_gradients(space):
    attrs = conv_attrs(CONVS[0], "NHWC")
    x, f = np.zeros((0, 7, 6, 3), np.float32), normal((3, 3, 3, 4), np.float32)
    dy = np.zeros((0, 7, 6, 4), np.float32)
    assert space.call("Conv2D", x, f, **attrs).shape == (0, 7, 6, 4)
    assert space.call("Conv2DBackpropInput", np.array(x.shape, np.int32), f, dy, **attrs).shape == x.shape
    np.testing.assert_array_equal(space.call("Conv2DBackpropFilter", x, np.array(f.shape, np.int32), dy, **attrs),
                                  np.zeros(f.shape, np.float32))


# -- pooling -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data_format", ["NHWC", "NCHW"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("case", POOLS, ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}")
def test_pools_and_their_gradients_match_the_cpu_kernels(space, case, padding, data_format):
    shape, ksize, strides = case
    attrs = dict(ksize=four(ksize, data_format), strides=four(strides, data_format), padding=padding,
                 data_format=data_format)
    for dtype in floats(space):
        x = layout(normal(shape, dtype), data_format)
        y = cpu_pool.max_pool(x, **attrs)
        close(space.call("MaxPool", x, **attrs), y)
        g = normal(y.shape, dtype)
        close(space.call("MaxPoolGrad", x, y, g, **attrs), cpu_pool.max_pool_grad(x, y, g, **attrs))
        close(space.call("_FusedMaxPoolGrad", x, y, g, activation="Relu", **attrs),
              cpu_pool.fused_max_pool_grad(x, y, g, activation="Relu", **attrs))
        close(space.call("AvgPool", x, **attrs), cpu_pool.avg_pool(x, **attrs))
        sizes = np.array(x.shape, np.int32)
        close(space.call("AvgPoolGrad", sizes, g, **attrs), cpu_pool.avg_pool_grad(sizes, g, **attrs))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int8])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_integer_max_pool_routes_ties_to_the_first_maximum_as_the_cpu_kernel(space, dtype, padding):
    for shape, ksize, strides in POOLS:
        attrs = dict(ksize=four(ksize, "NHWC"), strides=four(strides, "NHWC"), padding=padding, data_format="NHWC")
        x = RNG.integers(0, 3, size=shape).astype(dtype)  # few values: many ties in each window
        y = cpu_pool.max_pool(x, **attrs)
        np.testing.assert_array_equal(space.call("MaxPool", x, **attrs), y)
        g = RNG.integers(1, 5, size=y.shape).astype(dtype)
        got = space.call("MaxPoolGrad", x, y, g, **attrs)
        np.testing.assert_array_equal(got, cpu_pool.max_pool_grad(x, y, g, **attrs))
        assert got.dtype == dtype


def test_max_pool_never_picks_padding_and_passes_nan(space):
    attrs = dict(ksize=[1, 3, 3, 1], strides=[1, 1, 1, 1], padding="SAME", data_format="NHWC")
    x = -np.abs(normal((1, 4, 4, 1), np.float32)) - 1  # all below zero: a zero pad would win
    x[0, 0, 0, 0] = np.nan
    np.testing.assert_array_equal(space.call("MaxPool", x, **attrs), cpu_pool.max_pool(x, **attrs))


def test_pool_gradients_name_a_grad_of_the_wrong_shape(space):
    attrs = dict(ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID", data_format="NHWC")
    x = normal((1, 4, 4, 2), np.float32)
    with pytest.raises(ValueError, match=r"grad has shape \[1, 3, 3, 2\], expected \[1, 2, 2, 2\]"):
        space.call("AvgPoolGrad", np.array(x.shape, np.int32), normal((1, 3, 3, 2), np.float32), **attrs)
    with pytest.raises(ValueError, match=r"grad has shape \[1, 1, 2, 2\], expected \[1, 2, 2, 2\]"):
        space.call("MaxPoolGrad", x, x, normal((1, 1, 2, 2), np.float32), **attrs)
