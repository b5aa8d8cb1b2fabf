"""``Interpreter``: runs a ``.tflite`` model on numpy alone, with TF Lite's Python API.

``allocate_tensors`` compiles the operator list into closures (one per operator, constant inputs already laid
out, constant-only operators such as a float16 weight's DEQUANTIZE evaluated once), so ``invoke`` is a plain
loop of calls.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.model import Model
    >>> from tensorflux_mobile.flatbuffer_io import write_model
    >>> from tensorflux_mobile import Interpreter
    >>> m = Model()
    >>> x, y = m.add_tensor("x", (-1, 2), np.float32), m.add_tensor("y", (-1, 2), np.float32)
    >>> _ = m.add_op("RELU", [x], [y])
    >>> m.inputs, m.outputs = [x], [y]
    >>> it = Interpreter(model_content=write_model(m))
    >>> it.allocate_tensors()
    >>> it.set_tensor(it.get_input_details()[0]["index"], np.array([[-1.0, 2.0]], np.float32))
    >>> it.invoke()
    >>> it.get_tensor(it.get_output_details()[0]["index"]).tolist()
    [[0.0, 2.0]]
"""

from __future__ import annotations

import copy
import os
from typing import Any, Callable

import numpy as np

from .blas_threads import capped
from .flatbuffer_io import read_model
from .kernels_float import FLOAT_KERNELS
from .kernels_int8 import HYBRID_KERNELS, INT8_KERNELS
from .model import Model


def kernel_for(op, tensors: list) -> Callable:
    """The kernel builder for ``op``: integer, hybrid (float input, int8 weights) or float, by the tensor types."""
    first = tensors[op.inputs[0]] if op.inputs and op.inputs[0] >= 0 else None
    if op.code == "QUANTIZE":
        return INT8_KERNELS["QUANTIZE"]
    if op.code != "DEQUANTIZE" and first is not None and first.dtype == np.int8 and op.code in INT8_KERNELS:
        return INT8_KERNELS[op.code]
    weights = tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    if (first is not None and first.dtype == np.float32 and weights is not None and weights.dtype == np.int8
            and op.code in HYBRID_KERNELS):
        return HYBRID_KERNELS[op.code]
    if op.code not in FLOAT_KERNELS:
        raise ValueError(f"operator {op.code} on {first.dtype if first is not None else '?'} input '"
                         f"{first.name if first is not None else '?'}' has no kernel in this interpreter")
    return FLOAT_KERNELS[op.code]


def _type_of(dtype: np.dtype) -> type:
    return np.dtype(dtype).type


class Interpreter:
    """TF Lite's ``tf.lite.Interpreter`` API over numpy kernels.

    ``model_path`` or ``model_content`` (bytes) gives the model. ``num_threads`` caps the threads numpy's BLAS
    uses during ``invoke`` (None: 1, since a mobile model's products are too small to gain from more and
    BLAS threads stall on a busy machine, see :mod:`tensorflux_mobile.blas_threads`; -1: no cap).
    ``get_tensor`` works on every tensor after ``invoke`` (intermediate values are kept, as with TF Lite's
    ``experimental_preserve_all_tensors=True``).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, model_content: bytes | None = None,
                 num_threads: int | None = None, experimental_preserve_all_tensors: bool = False) -> None:
        del experimental_preserve_all_tensors
        if num_threads is not None and num_threads < -1:
            raise ValueError(f"num_threads must be >= -1 (or None); got {num_threads}")
        self._threads = capped(1 if num_threads is None else max(num_threads, 1) if num_threads >= 0 else None)
        if (model_path is None) == (model_content is None):
            raise ValueError("Interpreter needs exactly one of model_path and model_content")
        if model_path is not None:
            with open(model_path, "rb") as f:
                model_content, what = f.read(), f"model file '{os.fspath(model_path)}'"
        else:
            what = "model_content"
        self._model: Model = read_model(model_content, what)
        self._input_shapes = {i: tuple(max(d, 1) for d in self._model.tensors[i].shape) for i in self._model.inputs}
        self._plan: list[Callable] | None = None
        self._shapes_known = False
        self._vals: list = []
        self._tensors: list = []

    # -- set up -------------------------------------------------------------------------------------------
    def resize_tensor_input(self, input_index: int, tensor_size: Any, strict: bool = False) -> None:
        """Give input ``input_index`` a new shape; takes effect at the next ``allocate_tensors``."""
        if input_index not in self._input_shapes:
            raise ValueError(f"resize_tensor_input: tensor {input_index} is not an input; inputs are "
                             f"{list(self._input_shapes)}")
        shape = tuple(int(d) for d in tensor_size)
        signature = self._model.tensors[input_index].shape
        if len(shape) != len(signature) or (strict and any(s >= 0 and s != d for s, d in zip(signature, shape))):
            raise ValueError(f"resize_tensor_input: input '{self._model.tensors[input_index].name}' has shape "
                             f"signature {list(signature)}; cannot resize it to {list(shape)}")
        self._input_shapes[input_index] = shape
        self._plan = None

    def allocate_tensors(self) -> None:
        """Compile the operators into closures (shapes of intermediate tensors are known after the first invoke)."""
        tensors = [copy.copy(t) for t in self._model.tensors]
        vals: list = [t.data for t in tensors]
        plan = []
        for op in self._model.ops:
            build = kernel_for(op, tensors)
            if all(i < 0 or tensors[i].data is not None for i in op.inputs):
                build(op, tensors, vals)()  # constant-only operator: evaluate once, now
                for o in op.outputs:
                    tensors[o].data = vals[o]
                continue
            try:
                plan.append(build(op, tensors, vals))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"operator {op.code} writing '{tensors[op.outputs[0]].name}': {exc}") from exc
        self._tensors, self._vals, self._plan = tensors, vals, plan
        for i, shape in self._input_shapes.items():
            vals[i] = np.zeros(shape, tensors[i].dtype)
        self._shapes_known = False  # found by a run on the zero inputs, only if asked before the first invoke

    # -- running ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        with self._threads:
            for step in self._plan:
                step()

    def invoke(self) -> None:
        """Run the model on the inputs set with ``set_tensor``."""
        if self._plan is None:
            raise RuntimeError("Invoke called before allocate_tensors (or after resize_tensor_input); call "
                               "allocate_tensors() first")
        with self._threads:
            for step in self._plan:
                step()
        self._shapes_known = True

    def set_tensor(self, tensor_index: int, value: Any) -> None:
        """Copy ``value`` into input ``tensor_index``; its dtype and shape must match the input's."""
        if self._plan is None:
            raise RuntimeError("set_tensor called before allocate_tensors; call allocate_tensors() first")
        if tensor_index not in self._input_shapes:
            raise ValueError(f"set_tensor: tensor {tensor_index} is not an input; inputs are {list(self._input_shapes)}")
        value = np.asarray(value)
        t = self._tensors[tensor_index]
        if value.dtype != t.dtype:
            raise ValueError(f"Cannot set tensor: got value of type {value.dtype} but expected type {t.dtype} "
                             f"for input {tensor_index}, name: {t.name}")
        if value.shape != self._input_shapes[tensor_index]:
            raise ValueError(f"Cannot set tensor: dimension mismatch: got {list(value.shape)} but expected "
                             f"{list(self._input_shapes[tensor_index])} for input {tensor_index}, name: {t.name}")
        self._vals[tensor_index] = value.copy()

    def get_tensor(self, tensor_index: int) -> np.ndarray:
        """A copy of tensor ``tensor_index``'s current value."""
        if self._plan is None:
            raise RuntimeError("get_tensor called before allocate_tensors; call allocate_tensors() first")
        if not 0 <= tensor_index < len(self._vals):
            raise ValueError(f"get_tensor: tensor index {tensor_index} is out of range (the model has "
                             f"{len(self._vals)} tensors)")
        return np.array(self._vals[tensor_index], dtype=self._tensors[tensor_index].dtype, copy=True)

    # -- details ------------------------------------------------------------------------------------------
    def _details(self, index: int) -> dict:
        if self._plan is not None and not self._shapes_known and index not in self._input_shapes:
            inputs = {i: self._vals[i] for i in self._input_shapes}
            for i, shape in self._input_shapes.items():
                self._vals[i] = np.zeros(shape, self._tensors[i].dtype)
            self._run()
            for i, value in inputs.items():
                self._vals[i] = value
            self._shapes_known = True
        tensors = self._tensors or self._model.tensors
        t = tensors[index]
        value = self._vals[index] if self._vals and self._vals[index] is not None else None
        shape = value.shape if value is not None else self._input_shapes.get(index, tuple(max(d, 1) for d in t.shape))
        scales = t.scale if t.scale is not None else np.zeros(0, np.float32)
        zps = t.zero_point.astype(np.int32) if t.zero_point is not None else np.zeros(0, np.int32)
        per_tensor = (float(scales[0]), int(zps[0])) if scales.size == 1 else (0.0, 0)
        return {"name": t.name, "index": index, "shape": np.array(shape, np.int32),
                "shape_signature": np.array(t.shape, np.int32), "dtype": _type_of(t.dtype),
                "quantization": per_tensor,
                "quantization_parameters": {"scales": scales.astype(np.float32), "zero_points": zps,
                                            "quantized_dimension": t.quantized_dimension},
                "sparsity_parameters": {}}

    def get_input_details(self) -> list[dict]:
        """One dict per input: name, index, shape, shape_signature, dtype, quantization (as TF Lite's)."""
        return [self._details(i) for i in self._model.inputs]

    def get_output_details(self) -> list[dict]:
        """One dict per output, as :meth:`get_input_details`."""
        return [self._details(i) for i in self._model.outputs]

    def get_tensor_details(self) -> list[dict]:
        """One dict per tensor of the model."""
        return [self._details(i) for i in range(len(self._model.tensors))]

    @property
    def model(self) -> Model:
        """The parsed model (tensors, operators), for inspection."""
        return self._model
