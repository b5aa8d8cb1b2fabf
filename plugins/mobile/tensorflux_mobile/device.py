"""The ``/mobile:0`` device: each run of ops placed there is converted to a ``.tflite`` model and run by the
plugin's interpreter.

What it means: a graph (or part of one) pinned with ``tf.device('/mobile:0')`` is handed to the device by
core's ``compile`` pass one segment (a run of pure ops) at a time; the device lowers it with the converter's
rules into a TFL3 flatbuffer, loads that into :class:`tensorflux_mobile.Interpreter` and invokes it per step
(``segments.py``), so a model is checked against its on-device numerics while it is still a tensorflux graph.
Ops the converter cannot express run outside the model on core's reference kernels (with a
``PlacementWarning``). The device holds its own memory (values are copied in and out, as to a phone), so
core's host-only passes (constant folding, fused convolutions and elementwise chains) leave its ops to it.
With the ``compile`` pass switched off, Conv2D, MatMul, BiasAdd, AddV2, Sub, Mul, Relu, Relu6, Sigmoid,
Softmax, MaxPool and AvgPool run one by one on the interpreter's float kernels, each call building the
one-operator model it needs.

``ConfigProto(device_options={"mobile": {"quantize": "float16"}})`` (or ``"dynamic"``) runs the models
quantized that way; float32 is the default.

Example:
    >>> import tensorflux as tf
    >>> with tf.Graph().as_default(), tf.device("/mobile:0"):
    ...     y = tf.nn.relu6(tf.constant([-1.0, 3.0, 9.0]))
    ...     tf.Session().run(y).tolist()
    [0.0, 3.0, 6.0]
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable

import numpy as np

from tensorflux.extend import Device, KernelUnavailable

from .kernels_float import FLOAT_KERNELS
from .model import Model


class MobileDevice(Device):
    """Its own memory (numpy arrays, copied in and out); compiles each placed segment into ``.tflite`` models.

    ``compiled`` holds the latest models built (:class:`~tensorflux_mobile.segments.CompiledModel`: the bytes,
    their operators, the graph ops they hold); ``stats()`` counts compiles, cache hits and recompiles.

    Example:
        >>> d = MobileDevice(0)
        >>> d.name, d.stats()["compiles"]
        ('/mobile:0', 0)
    """

    device_type = "mobile"
    host_memory = False
    priority = -1  # ops placed nowhere in particular stay on the cpu

    def __init__(self, index: int = 0) -> None:
        super().__init__(index)
        self._lock = threading.Lock()
        self._counts = {"compiles": 0, "cache_hits": 0, "recompiles": 0}
        self.compiled: collections.deque = collections.deque(maxlen=32)

    def from_host(self, array: np.ndarray) -> Any:
        return np.array(array, copy=True)

    def to_host(self, value: Any) -> np.ndarray:
        return np.array(value, copy=True)  # a copy: the device's memory is not the caller's to write

    def describe(self) -> dict:
        return {"platform": "tensorflux_mobile",
                "name": "placed segments converted to .tflite models, run by the plugin's interpreter (numpy)"}

    def compile_segment(self, segment: Any) -> Callable:
        from .segments import SegmentProgram

        return SegmentProgram(self, segment)

    def note_run(self, compiled: bool, recompiled: bool = False) -> None:
        """Count one call of a compiled segment: a compile (a recompile when weights changed) or a cache hit."""
        with self._lock:
            self._counts["compiles" if compiled else "cache_hits"] += 1
            self._counts["recompiles"] += int(recompiled)

    def note_model(self, record: Any) -> None:
        """Keep ``record`` (a model just built) in ``compiled``."""
        with self._lock:
            self.compiled.append(record)

    def stats(self) -> dict:
        """``compiles`` (models built for a new input signature or changed weights), ``cache_hits`` and
        ``recompiles`` (builds because a weight such as a variable changed) since the last ``reset_stats``."""
        with self._lock:
            return dict(self._counts)

    def reset_stats(self) -> None:
        """Start counting afresh and forget the models kept in ``compiled`` (programs stay compiled)."""
        with self._lock:
            for key in self._counts:
                self._counts[key] = 0
            self.compiled.clear()


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
    """The float32 kernels above on ``mobile``, core's reference kernels (numpy) for every other op.

    The fused ops of core's fusion pass are left out: the device converts the plain ops, and fuses them
    itself the way TF Lite does."""
    from tensorflux.extend import FUSED_OPS, reference_kernels, register_reference_kernels

    table = reference_kernels(np)
    register_reference_kernels(registrar, "mobile", np, skip=[op for op in FUSED_OPS if op in table])
    for op, fn in KERNELS.items():
        registrar.kernel(op, "mobile", fn, dtypes=["float32"])
