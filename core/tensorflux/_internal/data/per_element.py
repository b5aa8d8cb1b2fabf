"""``flat_map`` and ``interleave``: a dataset made from each input element, its elements spliced into the output.

The function is traced once, like ``map``'s, on placeholders shaped like the input's elements, and must return a
``Dataset``. What that dataset reads from the element (the tensors it captures) is computed per element by the
traced graph, and the element's dataset then runs in an environment holding those values.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator

from ..errors import InvalidArgumentError
from ..graph import Graph
from ..ops.base_array_ops import placeholder
from ..session_state import SessionState
from .base import Environment, Node
from .function import FunctionRunner, _host_device_name, call_with_element
from .structure import flatten, pack_as
from .transforms import AUTOTUNE


class DatasetFunction:
    """``fn`` traced on placeholders: ``node`` is the dataset it returns, ``outputs`` the tensors that dataset
    captures (computed from the ``inputs`` per element).

    Example:
        >>> import tensorflux as tf
        >>> traced = DatasetFunction(lambda x: tf.data.Dataset.range(x), tf.int64, tf.TensorShape([]), "flat_map")
        >>> traced.node.types, len(traced.outputs)
        (tf.int64, 1)
    """

    def __init__(self, fn: Callable, input_types: Any, input_shapes: Any, what: str) -> None:
        self.what = what
        self.graph = Graph()
        with self.graph.as_default(), self.graph.device(_host_device_name()):
            self.inputs = [placeholder(dtype, shape, name=f"arg{i}")
                           for i, (dtype, shape) in enumerate(zip(flatten(input_types), flatten(input_shapes)))]
            result = call_with_element(fn, pack_as(input_types, self.inputs))
        node = getattr(result, "_node", None)
        if not isinstance(node, Node):
            raise TypeError(f"{what}: the function must return a Dataset, got {type(result).__name__}")
        self.node = node
        self.outputs = node.all_captures()
        for t in self.outputs:
            if t.graph is not self.graph:
                raise ValueError(f"{what}: the dataset the function returns uses '{t.name}' of another graph; build "
                                 "what it needs inside the function, or pass it in the input's elements")

    def runner(self, config: Any) -> Callable:
        """The captures' computation compiled for one iterator of a session with ``config``."""
        if not self.outputs:
            return lambda components: []
        return FunctionRunner(self, SessionState(config=config))


class _PerElement(Node):
    def __init__(self, source: Node, fn: Callable, what: str, captures: tuple = ()) -> None:
        self.traced = DatasetFunction(fn, source.types, source.shapes, what)
        inner = self.traced.node
        super().__init__(inner.types, inner.shapes, (source,), captures)
        self.source = source

    def _open(self, env: Environment, element: tuple) -> Iterator[tuple]:
        """The elements of the dataset made from ``element``."""
        values = env.runner(self.traced)(element)
        return self.traced.node.elements(env.for_element(dict(zip(self.traced.outputs, values))))


class FlatMap(_PerElement):
    """``flat_map(fn)``: the elements of ``fn(element)``'s dataset, for each input element in turn."""

    name = "FlatMapDataset"

    def __init__(self, source: Node, fn: Callable) -> None:
        super().__init__(source, fn, "Dataset.flat_map")

    def elements(self, env: Environment) -> Iterator[tuple]:
        for element in self.source.elements(env):
            yield from self._open(env, element)


class Interleave(_PerElement):
    """``interleave(fn, cycle_length, block_length)``: ``cycle_length`` element datasets open at once, taken
    ``block_length`` elements at a time in turn; an exhausted one is replaced by the next input element's, in
    its place in the cycle (TF's order, also when ``num_parallel_calls`` is given)."""

    name = "InterleaveDataset"

    def __init__(self, source: Node, fn: Callable, cycle_length: Any, block_length: Any) -> None:
        super().__init__(source, fn, "Dataset.interleave", (cycle_length, block_length))
        self.cycle_length, self.block_length = cycle_length, block_length

    def elements(self, env: Environment) -> Iterator[tuple]:
        cycle = env.count(self.cycle_length, "Dataset.interleave's cycle_length")
        block = env.count(self.block_length, "Dataset.interleave's block_length")
        if cycle == AUTOTUNE:
            cycle = os.cpu_count() or 1
        if cycle <= 0 or block <= 0:
            raise InvalidArgumentError(f"Dataset.interleave: cycle_length and block_length must be positive, got "
                                       f"{cycle} and {block}")
        return interleave((self._open(env, element) for element in self.source.elements(env)), cycle, block)


def interleave(inputs: Iterator[Iterator[tuple]], cycle: int, block: int) -> Iterator[tuple]:
    """TF's interleave order: ``cycle`` of the ``inputs`` open at once, ``block`` elements from each in turn; an
    exhausted one is replaced in its place by the next input, opened when its turn comes.

    Example:
        >>> [e[0] for e in interleave(iter([iter([(1,), (2,)]), iter([(3,)]), iter([(4,), (5,)])]), 2, 1)]
        [1, 3, 2, 4, 5]
    """
    slots: list = [None] * cycle
    index = taken = is_open = 0
    exhausted = False
    while not exhausted or is_open:
        current = slots[index]
        if current is not None:
            element = next(current, None)
            if element is not None:
                taken += 1
                if taken == block:
                    index, taken = (index + 1) % cycle, 0
                yield element
                continue
            slots[index], is_open = None, is_open - 1
            index, taken = (index + 1) % cycle, 0
        elif not exhausted:
            opened = next(inputs, None)
            if opened is None:
                exhausted = True
            else:
                slots[index], is_open = opened, is_open + 1
        else:
            index, taken = (index + 1) % cycle, 0
