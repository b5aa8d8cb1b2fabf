"""``padded_batch``: consecutive elements stacked after padding each component to a common shape."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .. import dtypes
from ..errors import InvalidArgumentError
from ..graph import Tensor
from ..shapes import TensorShape, as_shape
from .base import Environment, Node
from .structure import pack_as
from .transforms import static_count


def _leaves(structure: Any, value: Any, what: str) -> list:
    """``value``'s leaves walked as ``structure`` nests (a value may be one leaf standing for a whole structure)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _leaves(structure[key], value[key], what)]
    if isinstance(structure, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(structure):
            raise ValueError(f"Dataset.padded_batch: {what} {value!r} does not nest as the elements {structure!r}")
        return [leaf for s, v in zip(structure, value) for leaf in _leaves(s, v, what)]
    if isinstance(value, (tuple, list)) and any(isinstance(v, (tuple, list)) for v in value):
        raise ValueError(f"Dataset.padded_batch: {what} {value!r} does not nest as the elements {structure!r}")
    return [value]


def _padding_value(value: Any, dtype: dtypes.DType) -> Any:
    """A padding value as a host scalar, or as a scalar tensor the node captures (read when an iterator starts)."""
    if value is None:
        return b"" if dtype is dtypes.string else np.zeros((), dtype.np_dtype)
    if isinstance(value, Tensor):
        if value.dtype is not dtype or value.shape.rank not in (None, 0):
            raise TypeError(f"Dataset.padded_batch: the padding value '{value.name}' must be a {dtype.name} scalar, "
                            f"got {value.dtype.name} of shape {value.shape}")
        return value
    value = np.asarray(value, dtype=object if dtype is dtypes.string else dtype.np_dtype)
    if value.shape != ():
        raise ValueError(f"Dataset.padded_batch: a padding value must be a scalar, got shape {list(value.shape)}")
    return value


class PaddedBatch(Node):
    """``padded_batch(batch_size, padded_shapes, padding_values, drop_remainder)``: each component padded at the
    end of each dimension to ``padded_shapes`` (a None or -1 dimension: the batch's longest) with its padding
    value (0, or b'' for strings), then stacked."""

    name = "PaddedBatchDataset"

    def __init__(self, source: Node, batch_size: Any, padded_shapes: Any = None, padding_values: Any = None,
                 drop_remainder: bool = False) -> None:
        known = static_count(batch_size)
        if known is not None and known <= 0:
            raise ValueError(f"Dataset.padded_batch: batch_size must be positive, got {known}")
        if padded_shapes is None:
            shapes = [TensorShape(None if s.rank is None else [None] * s.rank) for s in source.flat_shapes]
        else:
            shapes = [as_shape([None if d is not None and int(d) == -1 else d for d in s])
                      if isinstance(s, (list, tuple)) else as_shape(s)
                      for s in _leaves(source.types, padded_shapes, "padded_shapes")]
        for i, (want, have) in enumerate(zip(shapes, source.flat_shapes)):
            if want.rank is None:
                raise ValueError(f"Dataset.padded_batch: component {i} has an unknown rank; padded_shapes must give "
                                 "its shape")
            if (have.rank is not None and want.rank != have.rank) or any(
                    w is not None and h is not None and h > w for w, h in zip(want.dims, have.dims or [])):
                raise ValueError(f"Dataset.padded_batch: the padded shape {want} of component {i} is not compatible "
                                 f"with the component's shape {have}")
        values = (_leaves(source.types, padding_values, "padding_values") if padding_values is not None
                  else [None] * len(shapes))
        self.padding = [_padding_value(v, t) for v, t in zip(values, source.flat_types)]
        self.padded = shapes
        dim = known if drop_remainder else None
        batched = [TensorShape([dim, *s.dims]) for s in shapes]
        super().__init__(source.types, pack_as(source.shapes, batched), (source,), (batch_size, *self.padding))
        self.source, self.batch_size, self.drop_remainder = source, batch_size, bool(drop_remainder)

    def elements(self, env: Environment) -> Iterator[tuple]:
        size = env.count(self.batch_size, "Dataset.padded_batch's batch_size")
        if size <= 0:
            raise InvalidArgumentError(f"Dataset.padded_batch: batch_size must be positive, got {size}")
        padding = [env.value(p) for p in self.padding]
        pending: list = []
        for element in self.source.elements(env):
            pending.append(element)
            if len(pending) == size:
                yield self._pad(pending, padding)
                pending = []
        if pending and not self.drop_remainder:
            yield self._pad(pending, padding)

    def _pad(self, elements: list, padding: list) -> tuple:
        out = []
        for i, (shape, pad, dtype) in enumerate(zip(self.padded, padding, self.source.flat_types)):
            parts = [np.asarray(e[i]) for e in elements]
            if len({p.ndim for p in parts} | {len(shape.dims)}) != 1:
                raise InvalidArgumentError(f"Dataset.padded_batch: component {i} has rank {parts[0].ndim}, but its "
                                           f"padded shape {shape} has rank {len(shape.dims)}")
            target = [d if d is not None else max(p.shape[j] for p in parts) for j, d in enumerate(shape.dims)]
            batch = np.full([len(parts), *target], pad, dtype=object if dtype is dtypes.string else dtype.np_dtype)
            for j, p in enumerate(parts):
                if any(a > b for a, b in zip(p.shape, target)):
                    raise InvalidArgumentError(f"Dataset.padded_batch: component {i} of an element has shape "
                                               f"{list(p.shape)}, larger than its padded shape {target}")
                batch[(j, *(slice(0, n) for n in p.shape))] = p
            out.append(batch)
        return tuple(out)

