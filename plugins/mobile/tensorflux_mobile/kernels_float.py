"""Float32 kernels of the interpreter: each builder turns one operator into a closure over the value list.

A builder runs once, at ``allocate_tensors``: it reads the operator's options and constant inputs, prepares
what it can (weights laid out for a matrix product), and returns a function of no arguments that reads its
inputs from ``vals`` and stores its outputs there, so ``invoke`` is a loop of calls.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.model import Model
    >>> from tensorflux_mobile.kernels_float import FLOAT_KERNELS
    >>> m = Model()
    >>> x, y = m.add_tensor("x", (2,), np.float32), m.add_tensor("y", (2,), np.float32)
    >>> op = m.add_op("RELU6", [x], [y])
    >>> vals = [np.array([-1.0, 7.0], np.float32), None]
    >>> FLOAT_KERNELS["RELU6"](op, m.tensors, vals)()
    >>> vals[y].tolist()
    [0.0, 6.0]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .windows import Windows, pad_spatial, patches, reduce_windows


def activation_fn(name: str) -> Callable | None:
    """The float function of a fused activation ('NONE' -> None)."""
    return {"NONE": None, "RELU": lambda v: np.maximum(v, 0, out=v), "RELU6": lambda v: np.clip(v, 0, 6, out=v),
            "RELU_N1_TO_1": lambda v: np.clip(v, -1, 1, out=v), "TANH": lambda v: np.tanh(v, out=v)}[name]


def constant(tensors: list, index: int, what: str) -> np.ndarray:
    """The constant data of input ``index``; an error naming the operator when it is not constant."""
    if index < 0 or tensors[index].data is None:
        raise ValueError(f"{what}: input {index} must be a constant tensor in this interpreter")
    return tensors[index].data


def float_weights(tensors: list, index: int) -> np.ndarray:
    """Constant weights as float32: float16 and int8 (dynamic-range) constants are dequantized."""
    t = tensors[index]
    data = t.data.astype(np.float32)
    if t.dtype == np.int8 and t.scale is not None:
        shape = [1] * data.ndim
        if t.scale.size > 1:
            shape[t.quantized_dimension] = -1
        data = (data - t.zero_point.reshape(shape)) * t.scale.reshape(shape)
    return data.astype(np.float32)


def _bias(tensors: list, op, count: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        return float_weights(tensors, op.inputs[2])
    return np.zeros(count, np.float32)


def conv2d(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = float_weights(tensors, op.inputs[1])  # OHWI
    o, kh, kw, c = w.shape
    w_matrix = np.ascontiguousarray(w.transpose(1, 2, 3, 0).reshape(kh * kw * c, o))
    bias, act = _bias(tensors, op, o), activation_fn(op.options.get("activation", "NONE"))
    win = Windows(kh, kw, op.options, 0.0, np.float32)

    def product(cols):
        return cols @ w_matrix

    def run():
        out = win.conv(vals[x_i], product)
        out += bias
        vals[y_i] = act(out) if act else out
    return run


def depthwise_conv2d(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = float_weights(tensors, op.inputs[1])[0]  # [KH, KW, C*mult]
    kh, kw, channels = w.shape
    bias, act = _bias(tensors, op, channels), activation_fn(op.options.get("activation", "NONE"))
    win = Windows(kh, kw, op.options, 0.0, np.float32)

    def run():
        x = vals[x_i]
        if x.shape[3] != channels:  # a depth multiplier: each input channel feeds channels // C outputs
            x = np.repeat(x, channels // x.shape[3], axis=3)
        out = depthwise_taps(win.view(x), w)
        out += bias
        vals[y_i] = act(out) if act else out
    return run


def depthwise_taps(view: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum over taps (i, j) of view[..., i, j, :] * w[i, j]: a depthwise convolution, one step per tap."""
    kh, kw = w.shape[:2]
    out = view[:, :, :, 0, 0, :] * w[0, 0]
    step = np.empty_like(out)
    for i in range(kh):
        for j in range(kw):
            if i or j:
                np.multiply(view[:, :, :, i, j, :], w[i, j], out=step)
                out += step
    return out


def fully_connected(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    w = float_weights(tensors, op.inputs[1])  # [out, in]
    w_t = np.ascontiguousarray(w.T)
    bias, act = _bias(tensors, op, w.shape[0]), activation_fn(op.options.get("activation", "NONE"))
    keep = op.options.get("keep_num_dims", False)

    def run():
        x = vals[x_i]
        out = x.reshape(-1, w_t.shape[0]) @ w_t
        out += bias
        if keep:
            out = out.reshape(x.shape[:-1] + (w_t.shape[1],))
        vals[y_i] = act(out) if act else out
    return run


def max_pool(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    opts, kh, kw = op.options, op.options["filter_h"], op.options["filter_w"]
    act, win = activation_fn(opts.get("activation", "NONE")), Windows(kh, kw, opts, -np.inf, np.float32)

    def run():
        out = reduce_windows(win.view(vals[x_i]), np.maximum)
        vals[y_i] = act(out) if act else out
    return run


def average_pool(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    opts, kh, kw = op.options, op.options["filter_h"], op.options["filter_w"]
    act = activation_fn(opts.get("activation", "NONE"))

    win, counts = Windows(kh, kw, opts, 0.0, np.float32), {}

    def run():
        x = vals[x_i]
        total = reduce_windows(win.view(x), np.add, np.float32)
        count = counts.get(x.shape[1:3])
        if count is None:
            count = counts[x.shape[1:3]] = window_counts(x.shape[1:3], kh, kw, opts, np.float32)
        out = (total / count).astype(np.float32, copy=False)
        vals[y_i] = act(out) if act else out
    return run


def window_counts(hw: tuple, kh: int, kw: int, opts: dict, dtype: np.dtype) -> np.ndarray:
    """How many real (not padding) cells each output's window covers: [1, OH, OW, 1]."""
    ones, oh, ow = pad_spatial(np.ones((1,) + tuple(hw) + (1,), dtype), kh, kw, opts, 0)
    return patches(ones, kh, kw, oh, ow, opts).sum(axis=(3, 4))


def reshape_shape(op, tensors) -> list | None:
    """The target shape of a RESHAPE: its constant shape input, else its new_shape option."""
    if len(op.inputs) > 1 and op.inputs[1] >= 0 and tensors[op.inputs[1]].data is not None:
        return [int(v) for v in tensors[op.inputs[1]].data.reshape(-1)]
    return op.options.get("new_shape")


def reshape(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    shape = reshape_shape(op, tensors)
    shape_i = op.inputs[1] if shape is None else -1

    def run():
        target = shape if shape_i < 0 else [int(v) for v in vals[shape_i].reshape(-1)]
        vals[y_i] = vals[x_i].reshape(target)
    return run


def squeeze(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    dims = op.options.get("squeeze_dims") or None

    def run():
        vals[y_i] = np.squeeze(vals[x_i], axis=tuple(dims) if dims else None)
    return run


def softmax(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    beta = np.float32(op.options.get("beta", 1.0))

    def run():
        x = vals[x_i] if beta == 1 else vals[x_i] * beta
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        vals[y_i] = e
    return run


def _binary(fn):
    def build(op, tensors, vals):
        a_i, b_i = op.inputs[:2]
        (y_i,) = op.outputs
        act = activation_fn(op.options.get("activation", "NONE"))

        def run():
            out = fn(vals[a_i], vals[b_i])
            vals[y_i] = act(out) if act else out
        return run
    return build


def _unary(fn):
    def build(op, tensors, vals):
        (x_i,), (y_i,) = op.inputs[:1], op.outputs

        def run():
            vals[y_i] = fn(vals[x_i])
        return run
    return build


def mean(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    axes = tuple(int(a) for a in constant(tensors, op.inputs[1], "MEAN").reshape(-1))
    keep = bool(op.options.get("keep_dims", False))

    def run():
        vals[y_i] = vals[x_i].mean(axis=axes, keepdims=keep, dtype=np.float32)
    return run


def pad(op, tensors, vals):
    x_i, (y_i,) = op.inputs[0], op.outputs
    widths = [tuple(int(v) for v in row) for row in constant(tensors, op.inputs[1], "PAD").reshape(-1, 2)]

    def run():
        vals[y_i] = np.pad(vals[x_i], widths)
    return run


def concatenation(op, tensors, vals):
    ins, (y_i,) = list(op.inputs), op.outputs
    axis, act = int(op.options.get("axis", 0)), activation_fn(op.options.get("activation", "NONE"))

    def run():
        out = np.concatenate([vals[i] for i in ins], axis=axis)
        vals[y_i] = act(out) if act else out
    return run


def dequantize(op, tensors, vals):
    (x_i,), (y_i,) = op.inputs[:1], op.outputs
    t = tensors[x_i]
    if t.scale is None:  # float16 -> float32
        return lambda: vals.__setitem__(y_i, vals[x_i].astype(np.float32))
    shape = [1] * max(len(t.shape), 1)
    if t.scale.size > 1:
        shape[t.quantized_dimension] = -1
    scale, zp = t.scale.reshape(shape), t.zero_point.reshape(shape).astype(np.int32)

    def run():
        vals[y_i] = ((vals[x_i].astype(np.int32) - zp) * scale).astype(np.float32)
    return run


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-x)
    e += 1
    return np.reciprocal(e, out=e)


FLOAT_KERNELS = {
    "CONV_2D": conv2d, "DEPTHWISE_CONV_2D": depthwise_conv2d, "FULLY_CONNECTED": fully_connected,
    "MAX_POOL_2D": max_pool, "AVERAGE_POOL_2D": average_pool, "RESHAPE": reshape, "SQUEEZE": squeeze,
    "SOFTMAX": softmax, "ADD": _binary(np.add), "SUB": _binary(np.subtract), "MUL": _binary(np.multiply),
    "RELU": _unary(lambda x: np.maximum(x, np.float32(0))), "RELU6": _unary(lambda x: np.clip(x, 0, 6)),
    "LOGISTIC": _unary(_sigmoid), "MEAN": mean, "PAD": pad, "CONCATENATION": concatenation,
    "DEQUANTIZE": dequantize,
}
