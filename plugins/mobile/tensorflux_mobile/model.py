"""The in-memory form of a TF Lite model that the converter builds, the file writer writes and the interpreter runs.

One subgraph (TF Lite's main graph): tensors, operators in execution order, graph inputs and outputs.

Example:
    >>> import numpy as np
    >>> from tensorflux_mobile.model import Model
    >>> m = Model()
    >>> x = m.add_tensor("x", (-1, 3), np.float32)
    >>> y = m.add_tensor("y", (-1, 3), np.float32)
    >>> _ = m.add_op("RELU", [x], [y])
    >>> m.inputs, m.outputs = [x], [y]
    >>> [op.code for op in m.ops]
    ['RELU']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Tensor:
    """A tensor: its shape (-1 for a dimension fixed only when the model runs), dtype, constant data, quantization.

    ``scale`` and ``zero_point`` are 1-D (one entry per tensor, or one per slice along ``quantized_dimension``).
    """

    name: str
    shape: tuple
    dtype: np.dtype
    data: np.ndarray | None = None
    scale: np.ndarray | None = None
    zero_point: np.ndarray | None = None
    quantized_dimension: int = 0

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def set_quantization(self, scale: Any, zero_point: Any, axis: int = 0) -> None:
        """Give this tensor affine quantization parameters (scalar or per-channel along ``axis``)."""
        self.scale = np.atleast_1d(np.asarray(scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(zero_point, dtype=np.int64))
        self.quantized_dimension = int(axis)


@dataclass
class Op:
    """One builtin operator: its TF Lite name ('CONV_2D'), tensor indices (-1: an absent optional input), options."""

    code: str
    inputs: list
    outputs: list
    options: dict = field(default_factory=dict)
    version: int = 1


@dataclass
class Model:
    """Tensors, operators in execution order, and the indices of the graph's inputs and outputs."""

    tensors: list = field(default_factory=list)
    ops: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    description: str = "tensorflux-mobile"

    def add_tensor(self, name: str, shape: Any, dtype: Any, data: np.ndarray | None = None) -> int:
        """Append a tensor and return its index; ``data`` makes it a constant (cast to ``dtype``)."""
        dtype = np.dtype(dtype)
        if data is not None:
            data = np.ascontiguousarray(np.asarray(data, dtype=dtype))
            shape = data.shape
        self.tensors.append(Tensor(self.unique_name(name), tuple(int(d) for d in shape), dtype, data))
        return len(self.tensors) - 1

    def add_constant(self, name: str, data: Any, dtype: Any = None) -> int:
        """Append a constant tensor holding ``data``."""
        data = np.asarray(data, dtype=dtype)
        return self.add_tensor(name, data.shape, data.dtype, data)

    def add_op(self, code: str, inputs: list, outputs: list, **options: Any) -> Op:
        op = Op(code, list(inputs), list(outputs), options)
        self.ops.append(op)
        return op

    def unique_name(self, name: str) -> str:
        names = self.__dict__.setdefault("_names", set())
        base, n = name, 1
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.add(name)
        return name

    def producers(self) -> dict:
        """Tensor index -> the op writing it."""
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict:
        """Tensor index -> the ops reading it (graph outputs are not counted)."""
        found: dict = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    found.setdefault(t, []).append(op)
        return found

    def compact(self) -> None:
        """Drop tensors no op or graph input/output refers to, renumbering the rest."""
        used = sorted({t for op in self.ops for t in op.inputs + op.outputs if t >= 0} | set(self.inputs) | set(self.outputs))
        remap = {old: new for new, old in enumerate(used)}
        self.tensors = [self.tensors[i] for i in used]
        for op in self.ops:
            op.inputs = [remap[t] if t >= 0 else -1 for t in op.inputs]
            op.outputs = [remap[t] for t in op.outputs]
        self.inputs = [remap[t] for t in self.inputs]
        self.outputs = [remap[t] for t in self.outputs]
