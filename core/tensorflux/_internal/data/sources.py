"""Source datasets: slices of tensors, one tensor structure, a range of integers, a Python generator."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .. import dtypes
from ..errors import InvalidArgumentError
from ..op_builder import convert_to_tensor
from ..shapes import TensorShape, as_shape
from .base import Environment, Node
from .structure import flatten, map_structure, pack_as


def _as_tensors(element: Any) -> Any:
    return map_structure(lambda v: convert_to_tensor(v), element)


class TensorSlices(Node):
    """``Dataset.from_tensor_slices``: the i-th element holds the i-th slice of every component."""

    name = "TensorSliceDataset"

    def __init__(self, element: Any) -> None:
        tensors = _as_tensors(element)
        flat = flatten(tensors)
        rows = None
        for t in flat:
            if t.shape.rank == 0:
                raise ValueError(f"from_tensor_slices: component '{t.name}' is a scalar; every component needs a "
                                 "first dimension to slice")
            dims = t.shape.dims
            first = None if dims is None else dims[0]
            if first is not None and rows is not None and first != rows:
                raise ValueError(f"from_tensor_slices: components have different first dimensions ({rows} and "
                                 f"{first}, '{t.name}'); every component must have as many slices")
            rows = rows if first is None else first
        shapes = [TensorShape(None if t.shape.dims is None else t.shape.dims[1:]) for t in flat]
        super().__init__(pack_as(tensors, [t.dtype for t in flat]), pack_as(tensors, shapes), captures=tuple(flat))
        self.tensors = flat

    def elements(self, env: Environment) -> Iterator[tuple]:
        values = [np.asarray(env.value(t)) for t in self.tensors]
        rows = {len(v) for v in values}
        if len(rows) > 1:
            raise InvalidArgumentError(f"from_tensor_slices: components have different first dimensions "
                                       f"{[v.shape[0] for v in values]}")
        for i in range(rows.pop() if rows else 0):
            # A scalar slice keeps its array's dtype: a string's element would otherwise become numpy bytes_.
            yield tuple(v[i] if v.ndim > 1 else np.asarray(v[i], dtype=v.dtype) for v in values)


class Tensors(Node):
    """``Dataset.from_tensors``: one element, the whole structure."""

    name = "TensorDataset"

    def __init__(self, element: Any) -> None:
        tensors = _as_tensors(element)
        flat = flatten(tensors)
        super().__init__(pack_as(tensors, [t.dtype for t in flat]), pack_as(tensors, [t.shape for t in flat]),
                         captures=tuple(flat))
        self.tensors = flat

    def elements(self, env: Environment) -> Iterator[tuple]:
        yield tuple(np.asarray(env.value(t)) for t in self.tensors)


class Range(Node):
    """``Dataset.range(start, stop, step)``: int64 scalars, as Python's ``range``."""

    name = "RangeDataset"

    def __init__(self, *args: Any) -> None:
        if not 1 <= len(args) <= 3:
            raise ValueError(f"Dataset.range takes 1 to 3 arguments (start, stop, step), got {len(args)}")
        self.bounds = (0, args[0], 1) if len(args) == 1 else tuple(args) + (1,) * (3 - len(args))
        super().__init__(dtypes.int64, TensorShape([]), captures=self.bounds)

    def elements(self, env: Environment) -> Iterator[tuple]:
        start, stop, step = (env.count(b, "Dataset.range's argument") for b in self.bounds)
        if step == 0:
            raise InvalidArgumentError("Dataset.range: step must not be 0")
        for i in range(start, stop, step):
            yield (np.asarray(i, np.int64),)


class Generator(Node):
    """``Dataset.from_generator``: the elements a Python generator yields, converted to ``output_types`` and
    checked against ``output_shapes`` (unknown shapes when none are given)."""

    name = "GeneratorDataset"

    def __init__(self, generator: Callable, output_types: Any, output_shapes: Any = None, args: Any = None) -> None:
        if not callable(generator):
            raise TypeError(f"from_generator: generator must be callable, got {type(generator).__name__}")
        types = map_structure(dtypes.as_dtype, output_types)
        if output_shapes is None:
            shapes = map_structure(lambda _: TensorShape(None), types)
        else:
            shapes = pack_as(types, [as_shape(s) for s in _shape_leaves(types, output_shapes)])
        super().__init__(types, shapes)
        self.generator, self.args = generator, tuple(args or ())

    def elements(self, env: Environment) -> Iterator[tuple]:
        for element in self.generator(*self.args):
            yield self._convert(element)

    def _convert(self, element: Any) -> tuple:
        try:
            flat = flatten(element if not isinstance(element, list) or len(self.flat_types) == 1
                           else tuple(element))
            if len(flat) != len(self.flat_types):
                raise ValueError(f"{len(flat)} components for {len(self.flat_types)}")
            values = tuple(np.asarray(v, dtype=t.np_dtype) for v, t in zip(flat, self.flat_types))
        except (TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"from_generator: the generator yielded {element!r}, which does not match "
                                       f"output_types {self.types} ({exc})") from None
        for value, shape in zip(values, self.flat_shapes):
            if not shape.is_compatible_with(list(value.shape)):
                raise InvalidArgumentError(f"from_generator: the generator yielded an element of shape "
                                           f"{list(value.shape)}, which is not compatible with output_shapes {shape}")
        return values


def _shape_leaves(types: Any, shapes: Any) -> list:
    """The shapes in ``output_shapes``, walked as ``output_types`` nests (a shape is a leaf where a type is)."""
    if isinstance(types, dict):
        return [leaf for key in sorted(types) for leaf in _shape_leaves(types[key], shapes[key])]
    if isinstance(types, tuple):
        if not isinstance(shapes, (tuple, list)) or len(shapes) != len(types):
            raise ValueError(f"from_generator: output_shapes {shapes!r} does not nest as output_types {types!r}")
        return [leaf for t, s in zip(types, shapes) for leaf in _shape_leaves(t, s)]
    return [shapes]
