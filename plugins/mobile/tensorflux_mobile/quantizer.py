"""Post-training quantization of a float model, per TF Lite's quantization spec.

- ``int8``: weights int8, symmetric, per output channel for CONV_2D (axis 0) and DEPTHWISE_CONV_2D (axis 3),
  per tensor for FULLY_CONNECTED (TF's converter did so until 2.1x; a dense layer's per-channel scales and
  int64 zero points cost 24 bytes a unit, which keeps a small MLP's file above a quarter of the float one);
  activations int8, asymmetric, from the calibrated min/max (widened to hold 0);
  biases int32 with scale input_scale * weight_scale and zero point 0. MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE
  and PAD keep their input's parameters; CONCATENATION's inputs are requantized to its output's; SOFTMAX
  and LOGISTIC write scale 1/256, zero point -128. The float
  input goes through a QUANTIZE op and each output through a DEQUANTIZE, so callers feed and read float32.
- ``dynamic``: CONV_2D and FULLY_CONNECTED weights of at least 1024 elements become int8 per channel; the
  operators run hybrid (activations quantized on the fly per batch row), as TF's dynamic-range mode.
- ``float16``: float weights stored as float16, each behind a DEQUANTIZE op that restores float32.

Example:
    >>> from tensorflux_mobile.quantizer import activation_params
    >>> scale, zp = activation_params(0.0, 6.0)
    >>> round(scale * 255, 6), zp
    (6.0, -128)
"""

from __future__ import annotations

import copy

import numpy as np

from .fixed_point import round_half_away
from .model import Model

# TF Lite op versions for what each mode writes (those TF 2.21's converter writes for the same operators).
INT8_VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "MAX_POOL_2D": 2, "AVERAGE_POOL_2D": 2,
                 "SOFTMAX": 2, "LOGISTIC": 2, "ADD": 2, "MUL": 2, "MEAN": 2, "PAD": 2, "CONCATENATION": 2,
                 "RELU": 2, "RELU6": 2, "QUANTIZE": 1, "DEQUANTIZE": 2, "RESHAPE": 1, "SQUEEZE": 1}
HYBRID_VERSIONS = {"CONV_2D": 5, "FULLY_CONNECTED": 12}
FLOAT16_DEQUANTIZE_VERSION = 3
DYNAMIC_MIN_ELEMENTS = 1024  # TF's default: smaller weights stay float in dynamic-range mode
_WEIGHT_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
_SAME_AS_INPUT = {"MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "SQUEEZE", "PAD"}  # and CONCATENATION: see below
_FIXED_OUTPUT = {"SOFTMAX": (1.0 / 256, -128), "LOGISTIC": (1.0 / 256, -128)}
_INT8_OPS = set(INT8_VERSIONS) - {"QUANTIZE", "DEQUANTIZE"}


def activation_params(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) of asymmetric int8 for the real range [lo, hi], widened to include 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1e-6
    scale = (hi - lo) / 255.0
    zp = int(np.clip(round_half_away(-128 - lo / scale), -128, 127))
    return float(np.float32(scale)), zp


def symmetric_per_channel(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights in [-127, 127] and float32 scales (max|w| / 127 per slice along ``axis``)."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = (np.abs(moved).max(axis=1) / 127.0).astype(np.float32)
    scale[scale == 0] = np.float32(1.0)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(round_half_away(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, scale


def quantize_int8(model: Model, ranges: dict) -> Model:
    """The int8 model of float ``model``; ``ranges`` maps each non-constant tensor index to its (min, max)."""
    m = copy.deepcopy(model)
    params: dict = {}

    def missing(i: int) -> None:
        raise ValueError(f"no calibration range for tensor '{m.tensors[i].name}'; the representative data did not "
                         f"reach it")

    for i in m.inputs:
        if i not in ranges:
            missing(i)
        params[i] = activation_params(*ranges[i])
    ops = []
    for op in m.ops:
        ops.append(op)
        if op.code not in _INT8_OPS:
            raise ValueError(f"operator {op.code} has no int8 kernel; convert this model with quantize=None, "
                             f"'float16' or 'dynamic'")
        for i in op.inputs:
            t = m.tensors[i] if i >= 0 else None
            if t is not None and t.is_constant and t.dtype == np.float32 and i not in params and op.code not in _WEIGHT_AXIS:
                params[i] = activation_params(t.data.min(), t.data.max())
        out = op.outputs[0]
        if op.code in _FIXED_OUTPUT:
            params[out] = _FIXED_OUTPUT[op.code]
        elif op.code in _SAME_AS_INPUT:
            params[out] = params[op.inputs[0]]
        elif out in ranges:
            params[out] = activation_params(*ranges[out])
        else:
            missing(out)
        if op.code in _WEIGHT_AXIS:
            _quantize_linear(m, op, params[op.inputs[0]][0])
        if op.code == "CONCATENATION":
            ops[-1:] = _same_params_inputs(m, op, params) + [op]
        op.version = INT8_VERSIONS[op.code]
    m.ops = ops

    for i, (scale, zp) in params.items():
        t = m.tensors[i]
        if t.is_constant:
            t.data = np.clip(round_half_away(t.data / np.float32(scale)) + zp, -128, 127).astype(np.int8)
        t.dtype = np.dtype(np.int8)
        t.set_quantization(scale, zp)
    _float_boundary(m)
    return m


def _same_params_inputs(m: Model, op, params: dict) -> list:
    """Requantize (QUANTIZE int8 -> int8) each input of a CONCATENATION whose parameters differ from its
    output's: the spec asks one scale for all, and LiteRT's XNNPACK path refuses anything else."""
    added = []
    for pos, i in enumerate(op.inputs):
        if params[i] == params[op.outputs[0]]:
            continue
        t = m.tensors[i]
        twin = m.add_tensor(f"{t.name}_requantized", t.shape, np.float32)
        params[twin] = params[op.outputs[0]]
        added.append(m.add_op("QUANTIZE", [i], [twin]))
        m.ops.pop()
        added[-1].version = INT8_VERSIONS["QUANTIZE"]
        op.inputs[pos] = twin
    return added


def _quantize_linear(m: Model, op, input_scale: float) -> None:
    w_t = m.tensors[op.inputs[1]]
    axis = _WEIGHT_AXIS[op.code]
    if op.code == "FULLY_CONNECTED":
        q, w_scale = symmetric_per_channel(w_t.data.reshape(1, -1), 0)
        q = q.reshape(w_t.data.shape)
    else:
        q, w_scale = symmetric_per_channel(w_t.data, axis)
    w_t.data, w_t.dtype = q, np.dtype(np.int8)
    w_t.set_quantization(w_scale, np.zeros_like(w_scale, dtype=np.int64), axis)
    b_t = m.tensors[op.inputs[2]]
    b_scale = (np.float64(input_scale) * w_scale.astype(np.float64)).astype(np.float32)
    b_t.data = np.clip(round_half_away(b_t.data.astype(np.float64) / b_scale), -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
    b_t.dtype = np.dtype(np.int32)
    b_t.set_quantization(b_scale, np.zeros_like(b_scale, dtype=np.int64), 0)


def _float_boundary(m: Model) -> None:
    """Float32 inputs through QUANTIZE, outputs through DEQUANTIZE, keeping the float model's tensor names."""
    prologue = []
    for pos, i in enumerate(m.inputs):
        m.inputs[pos] = f = _rename_and_twin(m, i, "_int8", np.float32)
        prologue.append(m.add_op("QUANTIZE", [f], [i]))
        m.ops.pop()
        prologue[-1].version = INT8_VERSIONS["QUANTIZE"]
    m.ops[:0] = prologue
    for pos, i in enumerate(m.outputs):
        m.outputs[pos] = f = _rename_and_twin(m, i, "_int8", np.float32)
        m.add_op("DEQUANTIZE", [i], [f]).version = INT8_VERSIONS["DEQUANTIZE"]


def _rename_and_twin(m: Model, i: int, suffix: str, dtype: np.dtype) -> int:
    """Rename tensor ``i`` with ``suffix`` and add a ``dtype`` tensor of its shape under its old name."""
    t = m.tensors[i]
    name = t.name
    t.name = m.unique_name(name + suffix)
    twin = m.add_tensor(name, t.shape, dtype)
    m.tensors[twin].name = name
    return twin


def quantize_dynamic(model: Model) -> Model:
    """The dynamic-range model: large CONV_2D and FULLY_CONNECTED weights int8 per channel, run hybrid."""
    m = copy.deepcopy(model)
    for op in m.ops:
        if op.code not in HYBRID_VERSIONS:
            continue
        w_t = m.tensors[op.inputs[1]]
        if w_t.data.size < DYNAMIC_MIN_ELEMENTS:
            continue
        q, scale = symmetric_per_channel(w_t.data, 0)
        w_t.data, w_t.dtype = q, np.dtype(np.int8)
        w_t.set_quantization(scale, np.zeros_like(scale, dtype=np.int64), 0)
        op.version = HYBRID_VERSIONS[op.code]
        if op.code == "FULLY_CONNECTED":
            op.options["asymmetric_quantize_inputs"] = True
    return m


def quantize_float16(model: Model) -> Model:
    """The float16 model: every float32 constant stored as float16 behind a DEQUANTIZE to float32."""
    m = copy.deepcopy(model)
    prologue, replaced = [], {}
    for i, t in enumerate(list(m.tensors)):
        if not t.is_constant or t.dtype != np.float32:
            continue
        f32 = _rename_and_twin(m, i, "_fp16", np.float32)
        t.data, t.dtype = t.data.astype(np.float16), np.dtype(np.float16)
        prologue.append(m.add_op("DEQUANTIZE", [i], [f32]))
        m.ops.pop()
        prologue[-1].version = FLOAT16_DEQUANTIZE_VERSION
        replaced[i] = f32
    for op in m.ops:
        op.inputs = [replaced.get(i, i) for i in op.inputs]
    m.ops[:0] = prologue
    return m
