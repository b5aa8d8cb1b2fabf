"""The node every dataset is built of, and the environment one iterator's nodes run in.

A node knows its element types and shapes (nested like its elements), the graph tensors it captures, and how
to produce its elements as flat tuples of host arrays given an :class:`Environment`.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import InvalidArgumentError
from ..geometry import seeded_rng
from ..graph import Tensor
from .structure import flatten


class Node:
    """One dataset: a source or a transformation of ``inputs``.

    ``types`` and ``shapes`` nest like the elements; ``captures`` are the graph tensors the node reads when an
    iterator over it starts (their values reach :meth:`elements` through ``env.value``).
    """

    name = "Dataset"

    def __init__(self, types: Any, shapes: Any, inputs: tuple = (), captures: tuple = ()) -> None:
        self.types, self.shapes = types, shapes
        self.flat_types = flatten(types)
        self.flat_shapes = flatten(shapes)
        self.inputs = inputs
        self.captures = tuple(c for c in captures if isinstance(c, Tensor))

    def elements(self, env: "Environment") -> Iterator[tuple]:
        """The node's elements, each a tuple of host arrays (one per component), for one pass."""
        raise NotImplementedError(f"{type(self).__name__}.elements")

    def all_captures(self) -> list:
        """Every tensor this node and its inputs capture, each once, inputs first."""
        seen: dict = {}
        for node in self.inputs:
            for t in node.all_captures():
                seen.setdefault(t, None)
        for t in self.captures:
            seen.setdefault(t, None)
        return list(seen)


class Environment:
    """What one iterator's nodes share in one session: captured values, compiled functions, random streams
    and the threads to stop when the iterator is dropped.

    Example:
        >>> env = Environment({}, None)
        >>> env.value(3), env.count(np.int64(5), "batch_size")
        (3, 5)
    """

    def __init__(self, captured: dict, config: Any) -> None:
        # The session's config, not its state: the threads of a pipeline reach this object, and must not keep an
        # unclosed session's iterators (and so themselves) alive.
        self.captured = captured
        self.config = config
        self._runners: dict = {}
        self._passes: dict = {}
        self._seeds: dict = {}
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._parent: Environment | None = None
        self.closed = False
        # What a node keeps for the life of the iterator (``cache``'s recorded elements), by node.
        self.store: dict = {}

    def value(self, x: Any) -> Any:
        """The value of ``x``: a captured tensor's, as evaluated when the iterator started, or ``x`` itself."""
        return self.captured[x] if isinstance(x, Tensor) else x

    def count(self, x: Any, what: str) -> int:
        """``x``'s value as a Python int (a size or count); InvalidArgumentError naming ``what`` otherwise."""
        value = np.asarray(self.value(x))
        if value.shape != () or value.dtype.kind not in "iu":
            raise InvalidArgumentError(f"{what} must be a scalar integer, got {value.dtype} of shape "
                                       f"{list(value.shape)}")
        return int(value)

    def runner(self, traced: Any) -> Callable:
        """``traced`` compiled for this iterator's session, once."""
        with self._lock:
            runner = self._runners.get(traced)
            if runner is None:
                runner = self._runners[traced] = traced.runner(self.config)
            return runner

    def rng(self, node: Node, seed: tuple, reshuffle: bool) -> np.random.Generator:
        """The generator of ``node``'s next pass: the same stream for every pass unless ``reshuffle``, then one
        per pass; a seeded node repeats its streams in every session, an unseeded one draws a seed per iterator."""
        with self._lock:
            passes = self._passes.get(node, 0)
            self._passes[node] = passes + 1
            if not any(seed):
                seed = self._seeds.setdefault(node, tuple(int(s) for s in np.random.SeedSequence().generate_state(2)))
        return seeded_rng(seed[0], seed[1] + (passes if reshuffle else 0))

    def for_element(self, captured: dict) -> "Environment":
        """The environment of a dataset made from one element (``flat_map``, ``interleave``): ``captured`` adds
        the values the element's dataset reads. Compiled functions and closers are this iterator's; random streams
        start afresh, as a dataset made anew does.

        Example:
            >>> child = Environment({"a": 1}, None).for_element({"b": 2})
            >>> sorted(child.captured)
            ['a', 'b']
        """
        child = Environment({**self.captured, **captured}, self.config)
        child._runners, child._lock, child._parent = self._runners, self._lock, self
        return child

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when the iterator is re-initialized or its session closes."""
        if self._parent is not None:
            self._parent.on_close(closer)
            return
        with self._lock:
            self._closers.append(closer)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            closers, self._closers = self._closers, []
        for closer in closers:
            closer()
