"""The cpu plugin's 3-D convolution and pooling kernels (im2col over a strided view, BLAS products) against the
op table's numpy references, in one block and cut into many (whole planes, rows of one plane), run serially and
as parallel tasks, with strides, dilations, padding and both layouts.

The op-info table runs the same ops on the cpu device with small shapes, which always fit one block; here the
block size is lowered and the task count raised (``BLOCK_BYTES``, ``blas.n_chunks``) to reach the other paths.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import kernels_for_device
from tensorflux.testing.opinfo import conv3d_ops as ref
from tensorflux_cpu.kernels import conv3d

CASES = [  # (NDHWC input, filter [kd, kh, kw, c, o], strides, padding, dilations)
    ((2, 5, 6, 7, 3), (2, 3, 2, 3, 4), (1, 1, 1), "SAME", (1, 1, 1)),
    ((2, 6, 5, 7, 2), (3, 2, 3, 2, 3), (2, 1, 2), "VALID", (1, 1, 1)),
    ((1, 7, 8, 6, 2), (3, 3, 2, 2, 5), (2, 2, 1), "SAME", (1, 2, 1)),
    ((3, 4, 6, 8, 1), (2, 2, 3, 1, 2), (1, 3, 2), "SAME", (2, 1, 1)),
    ((2, 5, 6, 7, 2), (2, 2, 3, 2, 3), (1, 1, 1), "VALID", (2, 1, 2)),
    ((1, 5, 6, 4, 3), (3, 2, 2, 3, 2), (1, 1, 1), "SAME", (1, 3, 2)),
    ((1, 3, 3, 3, 2), (5, 5, 5, 2, 2), (1, 1, 1), "SAME", (1, 1, 1)),  # the window is larger than the input
]


@pytest.fixture(params=["one block", "plane blocks, parallel", "row blocks, parallel"])
def split(request, monkeypatch):
    if request.param != "one block":
        # Small blocks of a few whole output planes each, or of a few rows of one plane (float64 patches of these
        # filters take 96 to 2,000 bytes a pixel), in 2 or 5 parallel tasks.
        planes = request.param.startswith("plane")
        monkeypatch.setattr(conv3d, "BLOCK_BYTES", 40_000 if planes else 300)
        monkeypatch.setattr(conv3d.blas, "n_chunks", lambda flops, *args, **kwargs: 2 if planes else 5)
    return request.param


def _attrs(strides, padding, dilations, data_format="NDHWC"):
    if data_format == "NCDHW":
        return dict(strides=[1, 1, *strides], padding=padding, data_format="NCDHW", dilations=[1, 1, *dilations])
    return dict(strides=[1, *strides, 1], padding=padding, data_format="NDHWC", dilations=[1, *dilations, 1])


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, dilations", CASES)
@pytest.mark.parametrize("data_format", ["NDHWC", "NCDHW"])
def test_convolutions_match_the_reference(split, x_shape, f_shape, strides, padding, dilations, data_format):
    rng = np.random.default_rng(sum(x_shape) + sum(f_shape))
    x, f = rng.standard_normal(x_shape), rng.standard_normal(f_shape)
    if data_format == "NCDHW":
        x = x.transpose(0, 4, 1, 2, 3)
    attrs = _attrs(strides, padding, dilations, data_format)
    y = conv3d.conv3d(x, f, **attrs)
    np.testing.assert_allclose(y, ref.np_conv3d(x, f, **attrs), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dx = conv3d.conv3d_backprop_input(np.array(x.shape, np.int32), f, dy, **attrs)
    np.testing.assert_allclose(dx, ref.np_conv3d_backprop_input(f, dy, list(x.shape), **attrs), rtol=1e-10, atol=1e-10)
    df = conv3d.conv3d_backprop_filter(x, np.array(f_shape, np.int32), dy, **attrs)
    np.testing.assert_allclose(df, ref.np_conv3d_backprop_filter(x, dy, list(f_shape), **attrs), rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("x_shape, f_shape, strides, padding, dilations", CASES[:4])
def test_pools_match_the_reference(x_shape, f_shape, strides, padding, dilations):
    rng = np.random.default_rng(sum(x_shape))
    x = np.round(rng.standard_normal(x_shape) * 2).astype(np.float32) / 2  # coarse: windows tie
    attrs = dict(ksize=[1, *f_shape[:3], 1], strides=[1, *strides, 1], padding=padding, data_format="NDHWC")
    top = conv3d.max_pool3d(x, **attrs)
    np.testing.assert_array_equal(top, ref.np_max_pool3d(x, **attrs))
    g = rng.standard_normal(top.shape).astype(np.float32)
    np.testing.assert_allclose(conv3d.max_pool3d_grad(x, top, g, **attrs), ref.np_max_pool3d_grad(x, g, **attrs),
                               rtol=1e-6, atol=1e-6)
    gx = rng.standard_normal(x_shape).astype(np.float32)
    np.testing.assert_array_equal(conv3d.max_pool3d_grad_grad(x, top, gx, **attrs),
                                  ref.np_max_pool3d_grad_grad(x, gx, **attrs))
    xi = (x * 2).astype(np.int32) - 100  # SAME pads integers with their least value, never a maximum
    np.testing.assert_array_equal(conv3d.max_pool3d_grad_grad(xi, top, gx.astype(np.int32), **attrs),
                                  ref.np_max_pool3d_grad_grad(xi, gx.astype(np.int32), **attrs))
    np.testing.assert_allclose(conv3d.avg_pool3d(x, **attrs), ref.np_avg_pool3d(x, **attrs), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(conv3d.avg_pool3d_grad(np.array(x_shape), g, **attrs),
                               ref.np_avg_pool3d_grad(g, list(x_shape), **attrs), rtol=1e-6, atol=1e-6)


def test_low_precision_is_computed_in_float32_and_rounded_once():
    rng = np.random.default_rng(3)
    x, f = rng.standard_normal((1, 4, 4, 4, 8)), rng.standard_normal((3, 3, 3, 8, 2))
    attrs = _attrs((1, 1, 1), "SAME", (1, 1, 1))
    exact = ref.np_conv3d(x.astype(np.float16).astype(np.float64), f.astype(np.float16).astype(np.float64), **attrs)
    y = conv3d.conv3d(x.astype(np.float16), f.astype(np.float16), **attrs)
    assert y.dtype == np.float16
    # One rounding to float16 is at most half its spacing (2**-11 relative) off; float16 sums would be far worse.
    np.testing.assert_allclose(y.astype(np.float64), exact, rtol=2**-11 + 1e-5, atol=1e-4)


def test_the_cpu_device_runs_the_3d_ops():
    ops = {"Conv3D", "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2", "MaxPool3D", "MaxPool3DGrad",
           "MaxPool3DGradGrad", "AvgPool3D", "AvgPool3DGrad"}
    cpu = {k.op: k for k in kernels_for_device("cpu") if k.op in ops}
    assert set(cpu) == ops and all(k.fn.__module__ == conv3d.__name__ for k in cpu.values())
    x = tf.placeholder(tf.float32, [None, 4, 4, 4, 2])
    with tf.device("/cpu:0"):  # with soft placement off, a missing cpu kernel fails the run
        y = tf.nn.max_pool3d(tf.nn.conv3d(x, tf.ones([2, 2, 2, 2, 3]), 1, "SAME"), 2, 2, "SAME")
        loss = tf.reduce_sum(tf.nn.avg_pool3d(y, 2, 1, "VALID"))
        dx, df = tf.gradients(loss, [x, y.op.inputs[0].op.inputs[1]])
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=False)) as sess:
        got = sess.run([dx, df], {x: np.ones((1, 4, 4, 4, 2), np.float32)})
    assert got[0].shape == (1, 4, 4, 4, 2) and got[1].shape == (2, 2, 2, 2, 3)
