"""Int8 kernels (TF Lite's quantization spec) and the hybrid kernels of dynamic-range models.

Integer kernels accumulate exactly (int8 products summed on float32 BLAS in chunks that keep every partial sum
an exact float32, see :mod:`tensorflux_mobile.int_matmul`) and requantize with
:class:`tensorflux_mobile.fixed_point.Requantizer`, whose constants (multipliers, shifts, bias and zero-point
corrections) are prepared when the operator is built. SOFTMAX and LOGISTIC compute in float inside and round once, which stays
within one quantization step of LiteRT's table-driven versions.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.kernels_int8 import activation_range
    >>> activation_range("RELU6", 6 / 255, -128)
    (-128, 127)
"""

from __future__ import annotations

import numpy as np

from .fixed_point import (
    Requantizer,
    multiply_by_quantized_multiplier as mbqm,
    quantize_multiplier,
    quantize_multipliers,
    round_half_away,
)
from .int_matmul import ExactMatmul
from .kernels_float import _sigmoid, activation_fn, constant, depthwise_taps, float_weights, window_counts
from .windows import Windows, reduce_windows

QMIN, QMAX = -128, 127


def params(t) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor."""
    if t.scale is None:
        raise ValueError(f"tensor '{t.name}' ({t.dtype}) has no quantization parameters; an int8 kernel needs them")
    return float(t.scale[0]), int(t.zero_point[0])


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TF Lite's CalculateActivationRangeQuantized for int8: the clamp of a fused activation."""
    def quant(v: float) -> int:
        return zero_point + int(round_half_away(np.float32(v) / np.float32(scale)))
    low, high = {"NONE": (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0),
                 "RELU_N1_TO_1": (-1.0, 1.0)}[activation]
    return (QMIN if low is None else max(QMIN, quant(low))), (QMAX if high is None else min(QMAX, quant(high)))


def _out_clamp(op, tensors) -> tuple[int, int, float, int]:
    s_out, zp_out = params(tensors[op.outputs[0]])
    lo, hi = activation_range(op.options.get("activation", "NONE"), s_out, zp_out)
    return lo, hi, s_out, zp_out


def _channel_multipliers(op, tensors) -> tuple[np.ndarray, np.ndarray]:
    s_in, _ = params(tensors[op.inputs[0]])
    s_out, _ = params(tensors[op.outputs[0]])
    w = tensors[op.inputs[1]]
    # In double from the float32 scales, as TF Lite's PopulateConvolutionQuantizationParams does.
    return quantize_multipliers([s_in * float(s) / s_out for s in w.scale])


def _bias_int(op, tensors, count: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        return constant(tensors, op.inputs[2], op.code).astype(np.int64)
    return np.zeros(count, np.int64)


def _requantizer(op, tensors, offset: np.ndarray, acc_bound: np.ndarray) -> Requantizer:
    mult, shift = _channel_multipliers(op, tensors)
    lo, hi, _, zp_out = _out_clamp(op, tensors)
    return Requantizer(mult, shift, zp_out, lo, hi, offset, acc_bound)


# Convolutions and dense layers take their int8 input as it is (|x| <= 128), pad it with its zero point (the
# value TF Lite's padding stands for), and fold the zero point into a constant: sum_k (x - zp) w = sum_k x w
# - zp sum_k w. The products run exactly on float32 BLAS (int_matmul.py says why that is exact).
def conv2d(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = constant(tensors, op.inputs[1], op.code)
    o, kh, kw, c = w.shape
    w_matrix = w.transpose(1, 2, 3, 0).reshape(kh * kw * c, o)
    _, zp_in = params(tensors[x_i])
    matmul = ExactMatmul(w_matrix, a_max=128)
    requant = _requantizer(op, tensors, _bias_int(op, tensors, o) - zp_in * w_matrix.sum(axis=0, dtype=np.int64),
                           matmul.bound)
    win = Windows(kh, kw, op.options, zp_in, np.float32)

    def run():
        vals[y_i] = requant(win.conv(vals[x_i], matmul))
    return run


def depthwise_conv2d(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = constant(tensors, op.inputs[1], op.code)[0]  # [KH, KW, C*mult]
    kh, kw, channels = w.shape
    _, zp_in = params(tensors[x_i])
    # Each output sums kh*kw products of magnitude <= 128 * 128: exact in float32 up to 1024 taps.
    dtype = np.float32 if kh * kw * 128 * 128 <= (1 << 24) else np.float64
    w_float = w.astype(dtype)
    requant = _requantizer(op, tensors, _bias_int(op, tensors, channels) - zp_in * w.sum(axis=(0, 1), dtype=np.int64),
                           128 * np.abs(w.astype(np.int64)).sum(axis=(0, 1)))
    win = Windows(kh, kw, op.options, zp_in, dtype)

    def run():
        x = vals[x_i]
        if x.shape[3] != channels:  # a depth multiplier: each input channel feeds channels // C outputs
            x = np.repeat(x, channels // x.shape[3], axis=3)
        vals[y_i] = requant(depthwise_taps(win.view(x), w_float))
    return run


def fully_connected(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = constant(tensors, op.inputs[1], op.code)  # [out, in]
    out_n, in_n = w.shape
    _, zp_in = params(tensors[x_i])
    matmul = ExactMatmul(w.T, a_max=128)
    requant = _requantizer(op, tensors, _bias_int(op, tensors, out_n) - zp_in * w.sum(axis=1, dtype=np.int64),
                           matmul.bound)
    keep = op.options.get("keep_num_dims", False)

    def run():
        x = vals[x_i]
        out = requant(matmul(x.reshape(-1, in_n).astype(np.float32)))
        vals[y_i] = out.reshape(x.shape[:-1] + (out_n,)) if keep else out
    return run


def max_pool(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    opts, kh, kw = op.options, op.options["filter_h"], op.options["filter_w"]
    lo, hi, _, _ = _out_clamp(op, tensors)
    win = Windows(kh, kw, opts, QMIN, np.int8)  # TF Lite skips cells outside; QMIN never wins a max

    def run():
        out = reduce_windows(win.view(vals[x_i]), np.maximum)
        vals[y_i] = np.clip(out, lo, hi, out=out) if (lo, hi) != (QMIN, QMAX) else out
    return run


def _divide_round_away(acc: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(acc +- count/2) / count with C's truncating division, as TF Lite's integer average pool and mean do."""
    half = count // 2
    num = np.where(acc > 0, acc + half, acc - half)
    return np.sign(num) * (np.abs(num) // count)


def average_pool(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    opts, kh, kw = op.options, op.options["filter_h"], op.options["filter_w"]
    lo, hi, _, _ = _out_clamp(op, tensors)

    win, counts = Windows(kh, kw, opts, 0, np.int32), {}

    def run():
        x = vals[x_i]
        total = reduce_windows(win.view(x), np.add, np.int64)
        count = counts.get(x.shape[1:3])
        if count is None:
            count = counts[x.shape[1:3]] = window_counts(x.shape[1:3], kh, kw, opts, np.int64)
        vals[y_i] = np.clip(_divide_round_away(total, count), lo, hi).astype(np.int8)
    return run


def softmax(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    s_in, zp_in = params(tensors[x_i])
    s_out, zp_out = params(tensors[y_i])
    beta = np.float32(op.options.get("beta", 1.0)) * np.float32(s_in)

    def run():
        x = (vals[x_i].astype(np.int32) - zp_in).astype(np.float32) * beta
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        vals[y_i] = np.clip(round_half_away(y / np.float32(s_out)) + zp_out, QMIN, QMAX).astype(np.int8)
    return run


def logistic(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    s_in, zp_in = params(tensors[x_i])
    s_out, zp_out = params(tensors[y_i])

    def run():
        x = (vals[x_i].astype(np.int32) - zp_in).astype(np.float32) * np.float32(s_in)
        vals[y_i] = np.clip(round_half_away(_sigmoid(x) / np.float32(s_out)) + zp_out, QMIN, QMAX).astype(np.int8)
    return run


def add(op, tensors, vals):
    a_i, b_i = op.inputs[:2]
    (y_i,) = op.outputs
    (s1, zp1), (s2, zp2) = params(tensors[a_i]), params(tensors[b_i])
    lo, hi, s_out, zp_out = _out_clamp(op, tensors)
    left_shift = 20  # TF Lite's headroom for int8 ADD
    twice_max = 2 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * s_out))

    def run():
        a = mbqm((vals[a_i].astype(np.int64) - zp1) << left_shift, m1, sh1)
        b = mbqm((vals[b_i].astype(np.int64) - zp2) << left_shift, m2, sh2)
        vals[y_i] = np.clip(mbqm(a + b, mo, sho) + zp_out, lo, hi).astype(np.int8)
    return run


def mul(op, tensors, vals):
    a_i, b_i = op.inputs[:2]
    (y_i,) = op.outputs
    (s1, zp1), (s2, zp2) = params(tensors[a_i]), params(tensors[b_i])
    lo, hi, s_out, zp_out = _out_clamp(op, tensors)
    m, sh = quantize_multiplier(s1 * s2 / s_out)

    def run():
        prod = (vals[a_i].astype(np.int64) - zp1) * (vals[b_i].astype(np.int64) - zp2)
        vals[y_i] = np.clip(mbqm(prod, m, sh) + zp_out, lo, hi).astype(np.int8)
    return run


def _requantize_builder(activation: str):
    def build(op, tensors, vals):
        (x_i,), (y_i,) = op.inputs[:1], op.outputs
        s_in, zp_in = params(tensors[x_i])
        s_out, zp_out = params(tensors[y_i])
        lo, hi = activation_range(activation, s_out, zp_out)
        m, sh = quantize_multiplier(s_in / s_out)

        def run():
            vals[y_i] = np.clip(mbqm(vals[x_i].astype(np.int64) - zp_in, m, sh) + zp_out, lo, hi).astype(np.int8)
        return run
    return build


def mean(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    axes = tuple(int(a) for a in constant(tensors, op.inputs[1], "MEAN").reshape(-1))
    keep = bool(op.options.get("keep_dims", False))
    s_in, zp_in = params(tensors[x_i])
    s_out, zp_out = params(tensors[y_i])
    m, sh = quantize_multiplier(s_in / s_out)

    def run():
        x = vals[x_i]
        count = int(np.prod([x.shape[a] for a in axes]))
        total = (x.astype(np.int64) - zp_in).sum(axis=axes, keepdims=keep)
        vals[y_i] = np.clip(_divide_round_away(mbqm(total, m, sh), np.int64(count)) + zp_out, QMIN, QMAX).astype(np.int8)
    return run


def pad(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    widths = [tuple(int(v) for v in row) for row in constant(tensors, op.inputs[1], "PAD").reshape(-1, 2)]
    _, zp = params(tensors[y_i])

    def run():
        vals[y_i] = np.pad(vals[x_i], widths, constant_values=zp)
    return run


def concatenation(op, tensors, vals):
    ins, (y_i,) = list(op.inputs), op.outputs
    axis = int(op.options.get("axis", 0))
    s_out, zp_out = params(tensors[y_i])
    maps = []
    for i in ins:
        s, zp = params(tensors[i])
        scale = np.float32(s) * (np.float32(1.0) / np.float32(s_out))
        maps.append(None if (s, zp) == (s_out, zp_out) else (scale, -np.float32(zp) * scale))

    def run():
        parts = []
        for i, rescale in zip(ins, maps):
            if rescale is None:
                parts.append(vals[i])
            else:
                v = round_half_away(vals[i].astype(np.float32) * rescale[0] + rescale[1]) + zp_out
                parts.append(np.clip(v, QMIN, QMAX).astype(np.int8))
        vals[y_i] = np.concatenate(parts, axis=axis)
    return run


def quantize(op, tensors, vals):
    (x_i,), (y_i,) = op.inputs[:1], op.outputs
    s_out, zp_out = params(tensors[y_i])
    out_dtype = tensors[y_i].dtype
    info = np.iinfo(out_dtype)
    if tensors[x_i].dtype == np.float32:
        scale = np.float32(s_out)

        def run():
            q = round_half_away(vals[x_i] / scale) + zp_out
            vals[y_i] = np.clip(q, info.min, info.max).astype(out_dtype)
        return run
    s_in, zp_in = params(tensors[x_i])
    m, sh = quantize_multiplier(s_in / s_out)

    def requantize():
        q = mbqm(vals[x_i].astype(np.int64) - zp_in, m, sh) + zp_out
        vals[y_i] = np.clip(q, info.min, info.max).astype(out_dtype)
    return requantize


INT8_KERNELS = {
    "CONV_2D": conv2d, "DEPTHWISE_CONV_2D": depthwise_conv2d, "FULLY_CONNECTED": fully_connected,
    "MAX_POOL_2D": max_pool, "AVERAGE_POOL_2D": average_pool, "SOFTMAX": softmax, "LOGISTIC": logistic,
    "ADD": add, "MUL": mul, "RELU": _requantize_builder("RELU"), "RELU6": _requantize_builder("RELU6"),
    "MEAN": mean, "PAD": pad, "CONCATENATION": concatenation, "QUANTIZE": quantize,
}


# -- hybrid kernels: float activations, int8 weights quantized on the fly per batch row (dynamic range) --------
def symmetric_quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row of ``x`` to int8 in [-127, 127] with scale max|row| / 127 (TF Lite's SymmetricQuantizeFloats)."""
    rng = np.abs(x).max(axis=1)
    safe = np.where(rng == 0, np.float32(1), rng).astype(np.float32)
    q = np.clip(round_half_away(x * (np.float32(127) / safe)[:, None]), -127, 127)
    q[rng == 0] = 0
    return q, np.where(rng == 0, np.float32(1), safe / np.float32(127)).astype(np.float32)


def asymmetric_quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row of ``x`` to int8 in [-128, 127] with a nudged zero point (TF Lite's AsymmetricQuantizeFloats)."""
    rmin = np.minimum(x.min(axis=1), 0).astype(np.float64)
    rmax = np.maximum(x.max(axis=1), 0).astype(np.float64)
    flat = rmin == rmax
    scale = np.where(flat, 1.0, (rmax - rmin) / 255.0)
    from_min, from_max = QMIN - rmin / scale, QMAX - rmax / scale
    use_min = (abs(QMIN) + np.abs(rmin / scale)) < (abs(QMAX) + np.abs(rmax / scale))
    zp = np.clip(round_half_away(np.where(use_min, from_min, from_max)), QMIN, QMAX)
    zp = np.where(flat, 0, zp)
    scale32 = scale.astype(np.float32)
    q = np.clip(round_half_away(zp[:, None].astype(np.float32) + x * (np.float32(1) / scale32)[:, None]), QMIN, QMAX)
    q[flat] = 0
    return q, scale32, zp.astype(np.int64)


def hybrid_fully_connected(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    wt = tensors[op.inputs[1]]
    w = wt.data
    matmul = ExactMatmul(w.T, a_max=128)  # the row-quantized input lies in [-128, 127]
    row_sums = w.astype(np.int64).sum(axis=1)
    w_scale = np.broadcast_to(wt.scale, (w.shape[0],)).astype(np.float32)
    bias = float_weights(tensors, op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else np.float32(0)
    act = activation_fn(op.options.get("activation", "NONE"))
    asymmetric = bool(op.options.get("asymmetric_quantize_inputs", False))

    def run():
        x = vals[x_i].reshape(-1, w.shape[1])
        if asymmetric:
            q, scale, zp = asymmetric_quantize_rows(x)
            acc = matmul(q).astype(np.int64) - zp[:, None] * row_sums
        else:
            q, scale = symmetric_quantize_rows(x)
            acc = matmul(q).astype(np.int64)
        out = (acc.astype(np.float32) * scale[:, None]) * w_scale + bias
        vals[y_i] = act(out) if act else out.astype(np.float32)
    return run


def hybrid_conv2d(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    wt = tensors[op.inputs[1]]
    o, kh, kw, c = wt.data.shape
    matmul = ExactMatmul(wt.data.transpose(1, 2, 3, 0).reshape(kh * kw * c, o), a_max=255)  # |q - zp| <= 255
    w_scale = np.broadcast_to(wt.scale, (o,)).astype(np.float32)
    bias = float_weights(tensors, op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else np.float32(0)
    act, opts = activation_fn(op.options.get("activation", "NONE")), op.options
    win = Windows(kh, kw, opts, 0, np.float32)
    # LiteRT quantizes each image; a 1x1, stride-1 convolution is a plain product, and there each pixel (a row
    # of that product) gets its own scale.
    per_pixel = win.pointwise

    def run():
        x = vals[x_i]
        rows = x.reshape(-1, x.shape[3]) if per_pixel else x.reshape(x.shape[0], -1)
        q, scale, zp = asymmetric_quantize_rows(rows)
        centered = (q - zp[:, None].astype(np.float32)).reshape(x.shape)
        acc = win.conv(centered, matmul)
        scale = scale.reshape(x.shape[:3] + (1,)) if per_pixel else scale[:, None, None, None]
        out = (acc.astype(np.float32) * scale) * w_scale + bias
        vals[y_i] = act(out) if act else out.astype(np.float32)
    return run


HYBRID_KERNELS = {"FULLY_CONNECTED": hybrid_fully_connected, "CONV_2D": hybrid_conv2d}
