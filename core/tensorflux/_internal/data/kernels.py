"""The kernels of ``MakeIterator`` and ``IteratorGetNext``: an iterator's position is a resource of the session
(``SessionState.resources``), so two sessions iterate independently, and a lock per iterator makes concurrent
``get_next`` runs take distinct elements."""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..errors import FailedPreconditionError, OutOfRangeError
from .base import Environment
from .tokens import lookup

_RESOURCES_LOCK = threading.Lock()


class IteratorResource:
    """One iterator's state in one session: the pass over its dataset, and the environment its nodes run in."""

    def __init__(self, node: Any, captured: dict, config: Any) -> None:
        self.env = Environment(captured, config)
        self._lock = threading.Lock()
        self._elements: Any = node.elements(self.env)

    def next(self) -> tuple:
        """The next element's components; OutOfRangeError once the dataset is exhausted (and on every later call)."""
        with self._lock:
            if self._elements is not None:
                try:
                    return next(self._elements)
                except StopIteration:
                    self._elements = None
            raise OutOfRangeError("End of sequence")

    def close(self) -> None:
        """Stop the iterator's threads and drop its pass."""
        self.env.close()
        with self._lock:
            elements, self._elements = self._elements, None
        close = getattr(elements, "close", None)
        if close is not None:
            close()


def make_iterator(*captured: Any, dataset: str, iterator: str, ctx: Any) -> tuple:
    """``MakeIterator``: (re)start ``iterator`` over ``dataset`` in this session, with its captured values."""
    node, tensors = lookup(dataset, f"op '{ctx.op_name}' ({ctx.op_type})")
    fresh = IteratorResource(node, dict(zip(tensors, captured)), ctx.state.config)
    with _RESOURCES_LOCK:
        old = ctx.state.resources.get(iterator)
        ctx.state.resources[iterator] = fresh
    if old is not None:
        old.close()
    return ()


def iterator_get_next(*, iterator: str, one_shot_dataset: str, ctx: Any) -> tuple:
    """``IteratorGetNext``: the next element of ``iterator`` in this session, started at first use when one-shot."""
    resource = ctx.state.resources.get(iterator)
    if resource is None:
        if not one_shot_dataset:
            raise FailedPreconditionError(
                "GetNext() failed because the iterator has not been initialized. Ensure that you have run the "
                "initializer operation for this iterator before getting the next element.")
        with _RESOURCES_LOCK:
            resource = ctx.state.resources.get(iterator)
            if resource is None:
                node, captured = lookup(one_shot_dataset, f"op '{ctx.op_name}' ({ctx.op_type})")
                resource = ctx.state.resources[iterator] = IteratorResource(node, captured, ctx.state.config)
    return resource.next()


def dataset_kernels() -> dict[str, Callable]:
    """``{op_name: kernel}`` for the dataset ops, as host (numpy) kernels; a device plugin registers them.

    Example:
        >>> sorted(dataset_kernels())
        ['IteratorGetNext', 'MakeIterator']
    """
    return {"MakeIterator": make_iterator, "IteratorGetNext": iterator_get_next}
