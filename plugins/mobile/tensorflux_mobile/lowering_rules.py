"""One rule per TensorFlow op type: how it becomes TF Lite builtins, with the fusions into the op before it.

Each rule receives the lowering state (``lw``: the model being built, constant values, reader counts) and the
op; it emits operators or, when the op folds into its producer, maps its output to the producer's tensor.

Example:
    >>> from tensorflux_mobile.lowering_rules import RULES
    >>> sorted(RULES)[:3]
    ['Add', 'AddV2', 'AvgPool']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .lowering_base import _ACTIVATIONS, _IDENTITIES, _LINEAR, ONES, ConversionError, _shape


def _attr(op: Any, name: str, default: Any = None) -> Any:
    value = op.attrs.get(name, default)
    return value.decode() if isinstance(value, bytes) else value


def _nhwc(op: Any) -> None:
    fmt = _attr(op, "data_format", "NHWC")
    if fmt not in ("NHWC", None):
        raise ConversionError(f"op '{op.name}' ({op.type}) uses data_format {fmt}; TF Lite takes NHWC only")


def _padding(op: Any) -> str:
    padding = _attr(op, "padding", "VALID")
    if padding not in ("SAME", "VALID"):
        raise ConversionError(f"op '{op.name}' ({op.type}) has padding {padding}; TF Lite takes SAME or VALID "
                              f"(an explicit pad converts through a Pad op)")
    return padding


def _weights(lw: Any, op: Any, t: Any) -> np.ndarray:
    w = lw.const(t)
    if w is None:
        raise ConversionError(f"op '{op.name}' ({op.type}): its weights '{t.name}' depend on the inputs; TF Lite's "
                              f"{op.type} needs constant weights")
    return w.astype(np.float32)


def _emit_linear(lw: Any, op: Any, code: str, weights: np.ndarray, channels: int, **options: Any) -> None:
    x = lw.tensor(op.inputs[0], op.name)
    w_i = lw.model.add_constant(f"{op.name}/weights", weights, np.float32)
    b_i = lw.model.add_constant(f"{op.name}/bias", np.zeros(channels, np.float32))
    lw.model.add_op(code, [x, w_i, b_i], [lw.new_output(op.outputs[0])], activation="NONE", **options)


def conv2d(lw, op):
    _nhwc(op)
    w = _weights(lw, op, op.inputs[1])  # HWIO
    strides, dilations = _attr(op, "strides", [1] * 4), _attr(op, "dilations", [1] * 4)
    _emit_linear(lw, op, "CONV_2D", w.transpose(3, 0, 1, 2), w.shape[3], padding=_padding(op),
                 stride_h=int(strides[1]), stride_w=int(strides[2]),
                 dilation_h=int(dilations[1]), dilation_w=int(dilations[2]))


def depthwise(lw, op):
    _nhwc(op)
    w = _weights(lw, op, op.inputs[1])  # [KH, KW, C, M]
    kh, kw, c, m = w.shape
    strides, dilations = _attr(op, "strides", [1] * 4), _attr(op, "dilations", [1] * 4)
    _emit_linear(lw, op, "DEPTHWISE_CONV_2D", w.reshape(1, kh, kw, c * m), c * m, padding=_padding(op),
                 stride_h=int(strides[1]), stride_w=int(strides[2]), depth_multiplier=int(m),
                 dilation_h=int(dilations[1]), dilation_w=int(dilations[2]))


def matmul(lw, op):
    if _attr(op, "transpose_a", False) or _attr(op, "adj_x", False):
        raise ConversionError(f"op '{op.name}' ({op.type}) transposes its input; FULLY_CONNECTED cannot")
    w = _weights(lw, op, op.inputs[1])
    if w.ndim != 2:
        raise ConversionError(f"op '{op.name}' ({op.type}): weights of rank {w.ndim}; FULLY_CONNECTED takes rank 2")
    transposed = _attr(op, "transpose_b", False) or _attr(op, "adj_y", False)
    w = w if transposed else w.T  # TF Lite keeps [out, in]
    _emit_linear(lw, op, "FULLY_CONNECTED", w, w.shape[0])


def _linear_producer(lw: Any, t: Any) -> Any:
    """The CONV/DEPTHWISE/FC op writing ``t`` when it may absorb what follows (no fused activation, one reader)."""
    idx = lw.value.get(t.name)
    if not isinstance(idx, int) or not lw.sole_reader(t):
        return None
    op = lw.model.producers().get(idx)
    if op is None or op.code not in _LINEAR or op.options.get("activation", "NONE") != "NONE":
        return None
    return op


def _per_channel(c: np.ndarray, channels: int) -> np.ndarray | None:
    """``c`` as a [channels] vector when it broadcasts along the last axis only; None otherwise."""
    if c.size == 1:
        return np.full(channels, float(c.reshape(-1)[0]), np.float32)
    if c.shape[-1:] == (channels,) and c.size == channels:
        return c.reshape(channels).astype(np.float32)
    return None


def _fold_scale(lw: Any, producer: Any, scale: np.ndarray) -> None:
    w_t, b_t = lw.model.tensors[producer.inputs[1]], lw.model.tensors[producer.inputs[2]]
    axis = 3 if producer.code == "DEPTHWISE_CONV_2D" else 0
    shape = [1] * w_t.data.ndim
    shape[axis] = -1
    w_t.data = (w_t.data * scale.reshape(shape)).astype(np.float32)
    b_t.data = (b_t.data * scale).astype(np.float32)


def _fold_bias(lw: Any, producer: Any, bias: np.ndarray) -> None:
    b_t = lw.model.tensors[producer.inputs[2]]
    b_t.data = (b_t.data + bias).astype(np.float32)


def _channels(lw: Any, producer: Any) -> int:
    return lw.model.tensors[producer.inputs[2]].data.shape[0]


def _alias(lw: Any, op: Any, source: Any) -> None:
    lw.value[op.outputs[0].name] = lw.value[source.name]


def _binary(code: str):
    def rule(lw, op):
        a, b = op.inputs[:2]
        ca, cb = lw.const(a), lw.const(b)
        if code in ("ADD", "MUL") and ca is not None and cb is None:
            a, b, ca, cb = b, a, cb, ca
        if cb is not None:
            if code == "SUB":
                code_now, cb = "ADD", -cb
            elif code == "DIV":
                code_now, cb = "MUL", (1.0 / cb.astype(np.float64)).astype(np.float32)
            else:
                code_now = code
            neutral = 0.0 if code_now == "ADD" else 1.0
            if np.all(cb == neutral) and _shape(op.outputs[0]) == _shape(a):
                return _alias(lw, op, a)
            producer = _linear_producer(lw, a)
            vec = _per_channel(cb, _channels(lw, producer)) if producer is not None else None
            if vec is not None:
                (_fold_bias if code_now == "ADD" else _fold_scale)(lw, producer, vec)
                return _alias(lw, op, a)
            c_i = lw.model.add_constant(f"{op.name}/{'y' if b is op.inputs[1] else 'x'}", cb.astype(np.float32))
            lw.model.add_op(code_now, [lw.tensor(a, op.name), c_i], [lw.new_output(op.outputs[0])], activation="NONE")
            return None
        if code == "DIV":
            raise ConversionError(f"op '{op.name}' ({op.type}) divides by a tensor computed from the inputs; "
                                  f"this converter divides by constants only")
        lw.model.add_op(code, [lw.tensor(a, op.name), lw.tensor(b, op.name)], [lw.new_output(op.outputs[0])],
                        activation="NONE")
        return None
    return rule


def mul(lw, op):
    for i in (0, 1):
        if lw.value.get(op.inputs[i].name) is ONES:
            return _alias(lw, op, op.inputs[1 - i])
    return _binary("MUL")(lw, op)


def bias_add(lw, op):
    _nhwc(op)
    return _binary("ADD")(lw, op)


def activation(lw, op):
    x = op.inputs[0]
    idx = lw.value.get(x.name)
    if isinstance(idx, int) and lw.sole_reader(x):
        producer = lw.model.producers().get(idx)
        if (producer is not None and producer.code in _LINEAR | {"ADD", "MUL"}
                and producer.options.get("activation", "NONE") == "NONE"):
            producer.options["activation"] = _ACTIVATIONS[op.type]
            return _alias(lw, op, x)
    lw.model.add_op(_ACTIVATIONS[op.type], [lw.tensor(x, op.name)], [lw.new_output(op.outputs[0])])
    return None


def unary(code: str):
    def rule(lw, op):
        lw.model.add_op(code, [lw.tensor(op.inputs[0], op.name)], [lw.new_output(op.outputs[0])])
    return rule


def identity(lw, op):
    _alias(lw, op, op.inputs[0])


def pool(code: str):
    def rule(lw, op):
        _nhwc(op)
        ksize, strides = _attr(op, "ksize"), _attr(op, "strides")
        lw.model.add_op(code, [lw.tensor(op.inputs[0], op.name)], [lw.new_output(op.outputs[0])],
                        padding=_padding(op), stride_h=int(strides[1]), stride_w=int(strides[2]),
                        filter_h=int(ksize[1]), filter_w=int(ksize[2]), activation="NONE")
    return rule


def _reshape_to(lw: Any, op: Any, x: Any, target: list) -> None:
    shape_i = lw.model.add_constant(f"{op.name}/shape", np.asarray(target, np.int32))
    lw.model.add_op("RESHAPE", [lw.tensor(x, op.name), shape_i], [lw.new_output(op.outputs[0])], new_shape=list(target))


def reshape(lw, op):
    target = lw.const(op.inputs[1])
    static = list(_shape(op.outputs[0]))
    if target is None or list(target.reshape(-1)).count(-1) > 1:
        target = static  # known but for at most one dimension, as the shape function saw it
        if target.count(-1) > 1:
            raise ConversionError(f"op '{op.name}' (Reshape): shape {target} has more than one unknown dimension")
    _reshape_to(lw, op, op.inputs[0], [int(v) for v in np.asarray(target).reshape(-1)])


def squeeze(lw, op):
    target = list(_shape(op.outputs[0]))
    if target.count(-1) > 1:
        raise ConversionError(f"op '{op.name}' (Squeeze): output shape {target} has more than one unknown dimension")
    _reshape_to(lw, op, op.inputs[0], target)


def softmax(lw, op):
    lw.model.add_op("SOFTMAX", [lw.tensor(op.inputs[0], op.name)], [lw.new_output(op.outputs[0])], beta=1.0)


def mean(lw, op):
    axes = lw.const(op.inputs[1])
    if axes is None:
        raise ConversionError(f"op '{op.name}' (Mean): its axes depend on the inputs; MEAN needs constant axes")
    rank = len(_shape(op.inputs[0]))
    axes_i = lw.model.add_constant(f"{op.name}/axes", np.asarray(axes, np.int64).reshape(-1) % rank, np.int32)
    lw.model.add_op("MEAN", [lw.tensor(op.inputs[0], op.name), axes_i], [lw.new_output(op.outputs[0])],
                    keep_dims=bool(_attr(op, "keep_dims", False)))


def pad(lw, op):
    paddings = lw.const(op.inputs[1])
    if paddings is None:
        raise ConversionError(f"op '{op.name}' ({op.type}): its paddings depend on the inputs; PAD needs constants")
    if len(op.inputs) > 2 and np.any(lw.const(op.inputs[2]) != 0):
        raise ConversionError(f"op '{op.name}' ({op.type}) pads with a nonzero value; this converter pads with zeros")
    p_i = lw.model.add_constant(f"{op.name}/paddings", np.asarray(paddings), np.int32)
    lw.model.add_op("PAD", [lw.tensor(op.inputs[0], op.name), p_i], [lw.new_output(op.outputs[0])])


def concat(lw, op):
    axis = lw.const(op.inputs[-1])
    if axis is None:
        raise ConversionError(f"op '{op.name}' (ConcatV2): its axis depends on the inputs")
    rank = len(_shape(op.outputs[0]))
    ins = [lw.tensor(t, op.name) for t in op.inputs[:-1]]
    lw.model.add_op("CONCATENATION", ins, [lw.new_output(op.outputs[0])], axis=int(axis) % rank, activation="NONE")


def fused_batch_norm(lw, op):
    if _attr(op, "is_training", False):
        raise ConversionError(f"op '{op.name}' ({op.type}) is in training mode; freeze the graph for inference "
                              f"(is_training=False) before converting")
    _nhwc(op)
    x = op.inputs[0]
    scale, offset, mean_, var = (lw.const(t) for t in op.inputs[1:5])
    if any(v is None for v in (scale, offset, mean_, var)):
        raise ConversionError(f"op '{op.name}' ({op.type}): its scale, offset, mean and variance must be constants")
    eps = float(_attr(op, "epsilon", 1e-3))
    a = (scale / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
    b = (offset - mean_ * a).astype(np.float32)
    producer = _linear_producer(lw, x)
    if producer is not None:
        _fold_scale(lw, producer, a)
        _fold_bias(lw, producer, b)
        return _alias(lw, op, x)
    mid = lw.model.add_tensor(f"{op.name}/scaled", _shape(x), np.float32)
    lw.model.add_op("MUL", [lw.tensor(x, op.name), lw.model.add_constant(f"{op.name}/a", a)], [mid], activation="NONE")
    lw.model.add_op("ADD", [mid, lw.model.add_constant(f"{op.name}/b", b)], [lw.new_output(op.outputs[0])],
                    activation="NONE")
    return None


RULES = {
    "Conv2D": conv2d, "DepthwiseConv2dNative": depthwise, "MatMul": matmul, "BatchMatMulV2": matmul,
    "BiasAdd": bias_add, "Add": _binary("ADD"), "AddV2": _binary("ADD"), "Sub": _binary("SUB"), "Mul": mul,
    "RealDiv": _binary("DIV"), "Relu": activation, "Relu6": activation, "Sigmoid": unary("LOGISTIC"),
    "MaxPool": pool("MAX_POOL_2D"), "AvgPool": pool("AVERAGE_POOL_2D"), "Reshape": reshape, "Squeeze": squeeze,
    "Softmax": softmax, "Mean": mean, "Pad": pad, "PadV2": pad, "ConcatV2": concat,
    "FusedBatchNorm": fused_batch_norm, "FusedBatchNormV2": fused_batch_norm, "FusedBatchNormV3": fused_batch_norm,
    **{name: identity for name in _IDENTITIES}, "PlaceholderWithDefault": identity,
}
