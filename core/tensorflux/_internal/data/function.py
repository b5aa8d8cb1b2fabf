"""The functions of ``map`` and ``filter``: traced once into a graph of their own, run per element as a flat plan.

Why this design: tracing once gives the element types and shapes when the dataset is built (as TF's function
tracing does), and keeps the user's graph free of the function's ops. Running the traced graph through the
executor's compiled plan costs one Python call per op and element, with no graph walk; the plan is compiled once
per iterator and session. The function's ops are pinned to a host-memory device: a pipeline works on host arrays.
"""

from __future__ import annotations

from typing import Any, Callable

from ..executor import compile_plan
from ..graph import Graph, Tensor
from ..op_builder import convert_to_tensor
from ..ops.base_array_ops import placeholder
from ..registry import DEVICES
from ..session_state import SessionState
from .structure import flatten, lists_to_tuples, pack_as


def _host_device_name() -> str | None:
    for device in DEVICES.all():
        if device.host_memory:
            return device.name
    return None


def call_with_element(fn: Callable, element: Any) -> Any:
    """Call ``fn`` as ``Dataset.map`` does: a tuple element is spread over the arguments, anything else is one.

    Example:
        >>> call_with_element(lambda a, b: a + b, (1, 2)), call_with_element(lambda d: d["x"], {"x": 3})
        (3, 3)
    """
    if isinstance(element, tuple) and not hasattr(element, "_fields"):
        return fn(*element)
    return fn(element)


class TracedFunction:
    """``fn`` traced on placeholders shaped like a dataset's elements; ``structure`` nests its outputs.

    Example:
        >>> import tensorflux as tf
        >>> traced = TracedFunction(lambda x: x * 2, tf.float32, tf.TensorShape([3]), "map")
        >>> traced.output_types, traced.output_shapes
        (tf.float32, TensorShape([3]))
    """

    def __init__(self, fn: Callable, input_types: Any, input_shapes: Any, what: str) -> None:
        self.what = what
        self.graph = Graph()
        with self.graph.as_default(), self.graph.device(_host_device_name()):
            self.inputs = [placeholder(dtype, shape, name=f"arg{i}")
                           for i, (dtype, shape) in enumerate(zip(flatten(input_types), flatten(input_shapes)))]
            try:
                result = call_with_element(fn, pack_as(input_types, self.inputs))
            except ValueError as exc:
                if "different graph" in str(exc):
                    raise ValueError(f"{what}: the function uses a tensor of the enclosing graph ({exc}); build "
                                     "what it needs inside the function, or pass it in the dataset's elements"
                                     ) from None
                raise
            result = lists_to_tuples(result)
            self.outputs = [convert_to_tensor(r) for r in flatten(result)]
        self.structure = pack_as(result, self.outputs)
        self.output_types = pack_as(result, [t.dtype for t in self.outputs])
        self.output_shapes = pack_as(result, [t.shape for t in self.outputs])

    def runner(self, config: Any) -> "FunctionRunner":
        """The function compiled for one iterator of a session with ``config`` (its own random streams)."""
        return FunctionRunner(self, SessionState(config=config))


class FunctionRunner:
    """Runs a :class:`TracedFunction` on flat element components; returns its flat outputs as host arrays."""

    def __init__(self, traced: TracedFunction, state: SessionState) -> None:
        self.traced = traced
        self.plan = compile_plan(state, list(traced.outputs), list(traced.inputs))
        self._to_host = [None if d is None or d.host_memory else d for d in self.plan.fetch_devices]

    def __call__(self, components: Any) -> list:
        values = self.plan.run(list(components))
        for i, device in enumerate(self._to_host):
            if device is not None:
                values[i] = device.to_host(values[i])
        return values


def check_predicate(traced: TracedFunction) -> None:
    """Refuse a ``filter`` predicate that does not return one scalar bool, naming what it returns."""
    outputs = traced.outputs
    if len(outputs) != 1 or outputs[0].dtype.name != "bool" or outputs[0].shape.rank not in (None, 0):
        got = ", ".join(f"{t.dtype.name}{t.shape}" for t in outputs)
        raise ValueError(f"{traced.what}: the predicate must return a scalar bool tensor, got {got}")


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a graph tensor (which a dataset captures) rather than a Python or numpy value."""
    return isinstance(value, Tensor)
