"""The ``/mobile:0`` device: ops placed there run on the interpreter's float kernels.

What it means: a graph (or part of one) pinned with ``tf.device('/mobile:0')`` computes its convolutions,
dense layers, pools, activations and elementwise arithmetic with exactly the numpy kernels that
:class:`tensorflux_mobile.Interpreter` runs for a float ``.tflite`` file, so a model can be checked against
its on-device numerics while it is still a tensorflux graph. Every other op runs on core's reference kernels
over numpy. Each kernel call builds the one-operator model it needs (weights laid out per call): this device
is for checking numerics, not for speed.

Example:
    >>> import tensorflux as tf
    >>> with tf.Graph().as_default(), tf.device("/mobile:0"):
    ...     y = tf.nn.relu6(tf.constant([-1.0, 3.0, 9.0]))
    ...     tf.Session().run(y).tolist()
    [0.0, 3.0, 6.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorflux.extend import Device, KernelUnavailable

from .kernels_float import FLOAT_KERNELS
from .model import Model


class MobileDevice(Device):
    """Host memory; the TF Lite float kernels of this plugin."""

    device_type = "mobile"
    priority = -1  # ops placed nowhere in particular stay on the cpu

    def describe(self) -> dict:
        return {"platform": "tensorflux_mobile", "name": "TF Lite float kernels of the mobile interpreter (numpy)"}


def run_builtin(code: str, inputs: list, constants: dict | None = None, **options: Any) -> np.ndarray:
    """Run one TF Lite operator on ``inputs`` with the interpreter's float kernel; ``constants`` maps input
    positions to arrays given as constant tensors (weights, bias, shapes).

    Example:
        >>> import numpy as np
        >>> from tensorflux_mobile.device import run_builtin
        >>> run_builtin("RELU", [np.array([-2.0, 2.0], np.float32)]).tolist()
        [0.0, 2.0]
    """
    constants = constants or {}
    m = Model()
    vals: list = []
    ids = []
    for pos in range(len(inputs) + len(constants)):
        if pos in constants:
            ids.append(m.add_constant(f"c{pos}", constants[pos]))
            vals.append(m.tensors[-1].data)
        else:
            value = np.asarray(inputs[len([p for p in range(pos) if p not in constants])])
            ids.append(m.add_tensor(f"x{pos}", value.shape, value.dtype))
            vals.append(value)
    out = m.add_tensor("y", (), np.float32)
    vals.append(None)
    op = m.add_op(code, ids, [out], **options)
    FLOAT_KERNELS[code](op, m.tensors, vals)()
    return vals[out]


def _window(op_name: str, strides: Any, padding: Any, data_format: Any, dilations: Any = (1, 1, 1, 1)) -> dict:
    padding = padding.decode() if isinstance(padding, bytes) else padding
    fmt = data_format.decode() if isinstance(data_format, bytes) else data_format
    if fmt not in (None, "NHWC") or padding not in ("SAME", "VALID"):
        raise KernelUnavailable(f"{op_name} on /mobile:0 takes NHWC and SAME/VALID padding (TF Lite's), got "
                                f"{fmt} and {padding}")
    return {"padding": padding, "stride_h": int(strides[1]), "stride_w": int(strides[2]),
            "dilation_h": int(dilations[1]), "dilation_w": int(dilations[2])}


def conv2d(x, w, *, strides, padding, data_format="NHWC", dilations=(1, 1, 1, 1)):
    opts = _window("Conv2D", strides, padding, data_format, dilations)
    w = np.asarray(w, np.float32)
    bias = np.zeros(w.shape[3], np.float32)
    return run_builtin("CONV_2D", [x], {1: w.transpose(3, 0, 1, 2), 2: bias}, activation="NONE", **opts)


def matmul(a, b, *, transpose_a=False, transpose_b=False):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    a = a.T if transpose_a else a
    weights = b if transpose_b else b.T
    return run_builtin("FULLY_CONNECTED", [a], {1: weights, 2: np.zeros(weights.shape[0], np.float32)},
                       activation="NONE")


def _pool(code: str, name: str):
    def kernel(x, *, ksize, strides, padding, data_format="NHWC"):
        opts = _window(name, strides, padding, data_format)
        opts.pop("dilation_h"), opts.pop("dilation_w")
        return run_builtin(code, [x], filter_h=int(ksize[1]), filter_w=int(ksize[2]), activation="NONE", **opts)
    return kernel


def _binary(code: str):
    return lambda a, b: run_builtin(code, [np.asarray(a, np.float32), np.asarray(b, np.float32)], activation="NONE")


def _unary(code: str, **options: Any):
    return lambda x: run_builtin(code, [np.asarray(x, np.float32)], **options)


def bias_add(x, b, *, data_format="NHWC"):
    if (data_format.decode() if isinstance(data_format, bytes) else data_format) not in (None, "NHWC"):
        raise KernelUnavailable("BiasAdd on /mobile:0 takes NHWC only (TF Lite's layout)")
    return _binary("ADD")(x, b)


KERNELS = {
    "Conv2D": conv2d, "MatMul": matmul, "BiasAdd": bias_add, "AddV2": _binary("ADD"), "Sub": _binary("SUB"),
    "Mul": _binary("MUL"), "Relu": _unary("RELU"), "Relu6": _unary("RELU6"), "Sigmoid": _unary("LOGISTIC"),
    "Softmax": _unary("SOFTMAX", beta=1.0), "MaxPool": _pool("MAX_POOL_2D", "MaxPool"),
    "AvgPool": _pool("AVERAGE_POOL_2D", "AvgPool"),
}


def register(registrar: Any) -> None:
    """The float32 kernels above on ``mobile``, core's reference kernels (numpy) for every other op."""
    from tensorflux.extend import register_reference_kernels

    register_reference_kernels(registrar, "mobile", np)
    for op, fn in KERNELS.items():
        registrar.kernel(op, "mobile", fn, dtypes=["float32"])
