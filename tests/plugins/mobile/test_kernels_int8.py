"""Each int8 kernel of the interpreter, bit-exact against the element-at-a-time reference in scalar_reference.py."""

import numpy as np
import pytest

from tensorflux_mobile.fixed_point import quantize_multiplier
from tensorflux_mobile.interpreter import kernel_for
from tensorflux_mobile.kernels_int8 import activation_range
from tensorflux_mobile.model import Model

from . import scalar_reference as ref


def _run(model, op, feeds):
    vals = [t.data for t in model.tensors]
    for i, v in feeds.items():
        vals[i] = v
    kernel_for(op, model.tensors)(op, model.tensors, vals)()
    return vals[op.outputs[0]]


def _int8(rng, shape):
    return rng.integers(-128, 128, shape).astype(np.int8)


def _quantized(m, name, shape, scale, zp, data=None, dtype=np.int8):
    i = m.add_tensor(name, shape, dtype, data)
    m.tensors[i].set_quantization(scale, zp)
    return i


@pytest.mark.parametrize("depthwise, stride, dilation, padding, activation", [
    (False, 1, 1, "SAME", "NONE"), (False, 2, 1, "VALID", "RELU"), (False, 1, 2, "SAME", "RELU6"),
    (True, 1, 1, "SAME", "RELU6"), (True, 2, 1, "SAME", "NONE"), (True, 1, 1, "VALID", "RELU")])
def test_conv_and_depthwise_per_channel(depthwise, stride, dilation, padding, activation):
    rng = np.random.default_rng(stride * 10 + dilation + depthwise)
    n, h, w_, c, o, k = 2, 7, 6, 3, (6 if depthwise else 5), 3
    m = Model()
    s_in, zp_in, s_out, zp_out = 0.02, -7, 0.05, 3
    w_scale = rng.uniform(0.001, 0.01, o).astype(np.float32)
    w = rng.integers(-127, 128, (1, k, k, o) if depthwise else (o, k, k, c)).astype(np.int8)
    bias = rng.integers(-3000, 3000, o).astype(np.int32)
    x = _quantized(m, "x", (n, h, w_, c), s_in, zp_in)
    wi = m.add_tensor("w", w.shape, np.int8, w)
    m.tensors[wi].set_quantization(w_scale, np.zeros(o), 3 if depthwise else 0)
    bi = m.add_tensor("b", (o,), np.int32, bias)
    y = _quantized(m, "y", (), s_out, zp_out)
    opts = dict(padding=padding, stride_h=stride, stride_w=stride, dilation_h=dilation, dilation_w=dilation,
                activation=activation)
    if depthwise:
        opts["depth_multiplier"] = o // c
    op = m.add_op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wi, bi], [y], **opts)
    xv = _int8(rng, (n, h, w_, c))
    got = _run(m, op, {x: xv})
    mults = [ref.quantize_multiplier(float(np.float32(s_in)) * float(s) / float(np.float32(s_out))) for s in w_scale]
    lo, hi = activation_range(activation, s_out, zp_out)
    want = ref.conv2d(xv.tolist(), zp_in, w[0].tolist() if depthwise else w.tolist(), bias.tolist(), mults, zp_out,
                      lo, hi, stride, dilation, padding, depthwise)
    assert got.dtype == np.int8 and got.tolist() == want


@pytest.mark.parametrize("activation", ["NONE", "RELU"])
def test_fully_connected_per_tensor(activation):
    rng = np.random.default_rng(3)
    m = Model()
    x = _quantized(m, "x", (4, 40), 0.03, 5)
    w = rng.integers(-127, 128, (7, 40)).astype(np.int8)
    wi = m.add_tensor("w", w.shape, np.int8, w)
    m.tensors[wi].set_quantization(0.004, 0)
    bias = rng.integers(-2000, 2000, 7).astype(np.int32)
    bi = m.add_tensor("b", (7,), np.int32, bias)
    y = _quantized(m, "y", (), 0.1, -20)
    op = m.add_op("FULLY_CONNECTED", [x, wi, bi], [y], activation=activation)
    xv = _int8(rng, (4, 40))
    lo, hi = activation_range(activation, 0.1, -20)
    mult = ref.quantize_multiplier(float(np.float32(0.03)) * float(np.float32(0.004)) / float(np.float32(0.1)))
    assert _run(m, op, {x: xv}).tolist() == ref.fully_connected(xv.tolist(), 5, w.tolist(), bias.tolist(), [mult],
                                                                 -20, lo, hi)


@pytest.mark.parametrize("padding, stride", [("SAME", 2), ("VALID", 1), ("SAME", 1)])
def test_average_pool_rounds_half_away_and_counts_only_real_cells(padding, stride):
    rng = np.random.default_rng(4)
    m = Model()
    x = _quantized(m, "x", (2, 5, 5, 3), 0.1, 0)
    y = _quantized(m, "y", (), 0.1, 0)
    op = m.add_op("AVERAGE_POOL_2D", [x], [y], padding=padding, stride_h=stride, stride_w=stride, filter_h=3,
                  filter_w=3, activation="NONE")
    xv = _int8(rng, (2, 5, 5, 3))
    assert _run(m, op, {x: xv}).tolist() == ref.average_pool(xv.tolist(), 3, stride, padding, -128, 127)


@pytest.mark.parametrize("code", ["ADD", "MUL"])
def test_elementwise_with_different_scales(code):
    rng = np.random.default_rng(5)
    m = Model()
    (s1, zp1), (s2, zp2), (so, zpo) = (0.02, -3), (0.07, 10), (0.09, -1)
    a, b = _quantized(m, "a", (500,), s1, zp1), _quantized(m, "b", (500,), s2, zp2)
    y = _quantized(m, "y", (), so, zpo)
    op = m.add_op(code, [a, b], [y], activation="NONE")
    av, bv = _int8(rng, 500), _int8(rng, 500)
    fn = ref.add if code == "ADD" else ref.mul
    f32 = [float(np.float32(v)) for v in (s1, s2, so)]
    want = fn(av.tolist(), zp1, f32[0], bv.tolist(), zp2, f32[1], zpo, f32[2], -128, 127)
    assert _run(m, op, {a: av, b: bv}).tolist() == want


def test_mean_over_height_and_width():
    rng = np.random.default_rng(6)
    m = Model()
    x = _quantized(m, "x", (2, 4, 5, 3), 0.05, -10)
    axes = m.add_constant("axes", np.array([1, 2], np.int32))
    y = _quantized(m, "y", (), 0.02, 4)
    op = m.add_op("MEAN", [x, axes], [y], keep_dims=False)
    xv = _int8(rng, (2, 4, 5, 3))
    want = ref.mean_hw(xv.tolist(), -10, float(np.float32(0.05)), 4, float(np.float32(0.02)))
    assert _run(m, op, {x: xv}).tolist() == want


def test_quantize_requantize_and_relu6_requantize():
    rng = np.random.default_rng(7)
    m = Model()
    f = m.add_tensor("f", (300,), np.float32)
    q = _quantized(m, "q", (), 0.05, -3)
    op = m.add_op("QUANTIZE", [f], [q])
    fv = rng.uniform(-8, 8, 300).astype(np.float32)
    want = [ref.clamp(ref.round_away(float(v / np.float32(0.05))) - 3) for v in fv]
    assert _run(m, op, {f: fv}).tolist() == want
    r = _quantized(m, "r", (), 0.03, -128)
    relu6 = m.add_op("RELU6", [q], [r])
    qv = _int8(rng, 300)
    mult, shift = quantize_multiplier(float(np.float32(0.05)) / float(np.float32(0.03)))
    lo, hi = activation_range("RELU6", 0.03, -128)
    want = [ref.clamp(ref.mbqm(int(v) + 3, mult, shift) - 128, lo, hi) for v in qv]
    assert _run(m, relu6, {q: qv}).tolist() == want


@pytest.mark.parametrize("kind", ["conv", "depthwise", "fully_connected"])
def test_extreme_values_stay_exact(kind):
    """Accumulators far past float32's 2**24 (4000-long rows, 5x5x64 windows), odd values that float32 would round,
    the zero point at its end (-128, so the padding the kernel adds is the most negative int8) and per-channel
    scales two decades apart: bit-exact against the Python-integer reference."""
    rng = np.random.default_rng(11)
    m = Model()
    s_in, zp_in, s_out, zp_out = 0.02, -128, 0.05, 7
    if kind == "fully_connected":
        shape_x, w_shape, o, w_scale = (3, 4000), (5, 4000), 5, np.float32(2.5e-6)
    elif kind == "conv":
        shape_x, w_shape, o = (1, 5, 5, 64), (3, 5, 5, 64), 3
        w_scale = (np.float32(5e-6) * 10.0 ** rng.uniform(-1, 1, o)).astype(np.float32)
    else:
        shape_x, w_shape, o = (1, 6, 5, 8), (1, 5, 5, 16), 16
        w_scale = (np.float32(2.5e-4) * 10.0 ** rng.uniform(-1, 1, o)).astype(np.float32)
    x_v = (rng.choice([127, 125, 123], shape_x) * (1 if kind != "depthwise" else rng.choice([-1, 1], shape_x))).astype(np.int8)
    if kind == "conv":  # one sign per output channel: the sums only grow
        w = rng.choice([127, 125, 121], w_shape) * rng.choice([-1, 1], (o, 1, 1, 1))
    elif kind == "fully_connected":  # each output's weights mostly of one sign, in proportions 15% to 85%
        w = rng.choice([127, 125, 121], w_shape) * np.where(rng.random(w_shape) < np.linspace(0.15, 0.85, o)[:, None], 1, -1)
    else:
        w = rng.choice([127, 125, 121, -127], w_shape)
    w = w.astype(np.int8)
    bias = rng.integers(-100000, 100000, o).astype(np.int32)
    x = _quantized(m, "x", shape_x, s_in, zp_in)
    wi = m.add_tensor("w", w.shape, np.int8, w)
    m.tensors[wi].set_quantization(w_scale, np.zeros(np.size(w_scale)), 3 if kind == "depthwise" else 0)
    bi = m.add_tensor("b", (o,), np.int32, bias)
    y = _quantized(m, "y", (), s_out, zp_out)
    mults = [ref.quantize_multiplier(float(np.float32(s_in)) * float(s) / float(np.float32(s_out)))
             for s in np.atleast_1d(w_scale)]
    if kind == "fully_connected":
        op = m.add_op("FULLY_CONNECTED", [x, wi, bi], [y], activation="NONE")
        want = ref.fully_connected(x_v.tolist(), zp_in, w.tolist(), bias.tolist(), mults, zp_out, -128, 127)
    else:
        depthwise = kind == "depthwise"
        opts = dict(padding="SAME", stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, activation="NONE")
        op = m.add_op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, wi, bi], [y],
                      depth_multiplier=2, **opts) if depthwise else m.add_op("CONV_2D", [x, wi, bi], [y], **opts)
        want = ref.conv2d(x_v.tolist(), zp_in, w[0].tolist() if depthwise else w.tolist(), bias.tolist(), mults, zp_out,
                          -128, 127, 1, 1, "SAME", depthwise)
    got = _run(m, op, {x: x_v})
    assert got.dtype == np.int8 and got.tolist() == want
    assert len(set(got.reshape(-1).tolist())) >= 5  # the outputs spread over the range, not clamped to its ends
