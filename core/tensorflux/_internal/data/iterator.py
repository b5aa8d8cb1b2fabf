"""Iterators over datasets: one-shot, initializable and reinitializable (``Iterator.from_structure``).

``get_next()`` adds an ``IteratorGetNext`` op that feeds the graph without ``feed_dict``; an initializer is a
``MakeIterator`` op whose inputs are the tensors the dataset captures (placeholders are fed when it runs).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..graph import Operation, Tensor, get_default_graph
from ..op_builder import apply_op, constant_value
from ..shapes import TensorShape, as_shape
from .base import Node
from .structure import flatten, map_structure, pack_as, same_structure
from .tokens import register


class Iterator:
    """An iterator over datasets of one element structure (``output_types``, ``output_shapes``).

    Example:
        >>> import tensorflux as tf
        >>> it = tf.data.Dataset.range(3).make_initializable_iterator()
        >>> nxt = it.get_next()
        >>> with tf.Session() as sess:
        ...     _ = sess.run(it.initializer)
        ...     [int(sess.run(nxt)) for _ in range(3)]
        [0, 1, 2]
    """

    def __init__(self, token: str, types: Any, shapes: Any, initializer: Operation | None = None,
                 one_shot_dataset: str = "") -> None:
        self._token, self._types, self._shapes = token, types, shapes
        self._initializer, self._one_shot = initializer, one_shot_dataset

    @staticmethod
    def from_structure(output_types: Any, output_shapes: Any = None, shared_name: str | None = None,
                       output_classes: Any = None) -> "Iterator":
        """An iterator not yet bound to a dataset: ``make_initializer(dataset)`` starts it over any dataset of this
        structure (a reinitializable iterator)."""
        types = map_structure(dtypes.as_dtype, output_types)
        if output_shapes is None:
            shapes = map_structure(lambda _: TensorShape(None), types)
        else:
            shapes = pack_as(types, [as_shape(s) for s in _shapes_as(types, output_shapes)])
        return Iterator(register(get_default_graph(), "iterator", None), types, shapes)

    @property
    def output_types(self) -> Any:
        return self._types

    @property
    def output_shapes(self) -> Any:
        return self._shapes

    @property
    def output_classes(self) -> Any:
        return map_structure(lambda _: Tensor, self._types)

    @property
    def initializer(self) -> Operation:
        """The op that starts (or restarts) this iterator over its dataset in a session."""
        if self._initializer is None:
            raise ValueError("This iterator has no initializer: it is one-shot, or was made with "
                             "Iterator.from_structure (use make_initializer(dataset))")
        return self._initializer

    def make_initializer(self, dataset: Any, name: str | None = None) -> Operation:
        """The op that starts this iterator over ``dataset``, whose types must be this iterator's and whose
        shapes must be compatible with its shapes."""
        node = dataset._node
        if not same_structure(node.types, self._types) or node.flat_types != flatten(self._types):
            raise TypeError(f"Expected output types {self._types} but got dataset with output types {node.types}")
        for want, got in zip(flatten(self._shapes), node.flat_shapes):
            if not want.is_compatible_with(got):
                raise TypeError(f"Expected output shapes compatible with {self._shapes} but got dataset with "
                                f"output shapes {node.shapes}")
        captures = node.all_captures()
        token = register(get_default_graph(), "dataset", (node, captures))
        graph = get_default_graph()
        apply_op("MakeIterator", captures, dataset=token, iterator=self._token, name=name or "MakeIterator")
        return graph.get_operations()[-1]  # the captures are tensors already: the op is the last one added

    def get_next(self, name: str | None = None) -> Any:
        """The next element as tensors nested like the dataset's elements; running them advances the iterator
        once per run (``OutOfRangeError`` past the end)."""
        outputs = apply_op("IteratorGetNext", output_types=flatten(self._types), output_shapes=flatten(self._shapes),
                           iterator=self._token, one_shot_dataset=self._one_shot, name=name or "IteratorGetNext")
        return pack_as(self._types, outputs)


def _shapes_as(types: Any, shapes: Any) -> list:
    if isinstance(types, dict):
        return [s for key in sorted(types) for s in _shapes_as(types[key], shapes[key])]
    if isinstance(types, tuple):
        return [s for t, sh in zip(types, shapes) for s in _shapes_as(t, sh)]
    return [shapes]


def make_one_shot_iterator(node: Node) -> Iterator:
    """An iterator that starts over ``node`` at its first ``get_next`` in each session; it needs no initializer,
    so everything the dataset captures must be known while building (constants, not placeholders)."""
    values = {}
    for t in node.all_captures():
        value = constant_value(t)
        if value is None:
            raise ValueError(f"Failed to create a one-shot iterator for a dataset: it captures '{t.name}' "
                             f"({t.op.type}), whose value is known only when a session runs; use "
                             "make_initializable_iterator() and run its initializer instead")
        values[t] = value
    graph = get_default_graph()
    return Iterator(register(graph, "iterator", None), node.types, node.shapes,
                    one_shot_dataset=register(graph, "dataset", (node, values)))


def make_initializable_iterator(dataset: Any, shared_name: str | None = None) -> Iterator:
    """An iterator over ``dataset`` with an ``initializer`` to run before ``get_next``; running the initializer
    again restarts it, reading its placeholders' new feeds. ``shared_name`` is accepted and ignored."""
    node = dataset._node
    iterator = Iterator(register(get_default_graph(), "iterator", None), node.types, node.shapes)
    iterator._initializer = iterator.make_initializer(dataset)
    return iterator
