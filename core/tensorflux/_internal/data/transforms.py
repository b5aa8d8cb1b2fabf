"""Transformations: map, filter, batch, shuffle, repeat, take, skip, zip and concatenate, each a node over its
input(s). Sizes and counts may be Python ints or graph tensors (read when an iterator starts)."""

from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import numpy as np

from ..errors import InvalidArgumentError
from ..op_builder import constant_value
from ..shapes import TensorShape
from .base import Environment, Node
from .function import TracedFunction, check_predicate
from .structure import pack_as

AUTOTUNE = -1  # tf.data.experimental.AUTOTUNE: the runtime picks the degree of parallelism or the buffer size


def static_count(x: Any) -> int | None:
    """``x`` as an int when known while building (a Python int or a constant tensor), else None."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    value = constant_value(x)
    return None if value is None else int(value)


class Map(Node):
    """``map(fn, num_parallel_calls)``: ``fn`` traced once, run on each element; with parallel calls, up to that
    many elements are in flight on a thread pool and come out in input order."""

    name = "MapDataset"

    def __init__(self, source: Node, fn: Any, num_parallel_calls: Any = None) -> None:
        self.traced = TracedFunction(fn, source.types, source.shapes, "Dataset.map")
        super().__init__(self.traced.output_types, self.traced.output_shapes, (source,), (num_parallel_calls,))
        self.source, self.num_parallel_calls = source, num_parallel_calls

    def elements(self, env: Environment) -> Iterator[tuple]:
        run = env.runner(self.traced)
        parallel = 1 if self.num_parallel_calls is None else env.count(self.num_parallel_calls, "num_parallel_calls")
        if parallel == AUTOTUNE:
            parallel = os.cpu_count() or 1
        if parallel <= 1:
            for element in self.source.elements(env):
                yield tuple(run(element))
            return
        pool = ThreadPoolExecutor(parallel, thread_name_prefix="tensorflux-map")
        env.on_close(lambda: pool.shutdown(wait=False, cancel_futures=True))
        in_flight: deque = deque()
        try:
            for element in self.source.elements(env):
                in_flight.append(pool.submit(run, element))
                if len(in_flight) >= parallel:
                    yield tuple(in_flight.popleft().result())
            while in_flight:
                yield tuple(in_flight.popleft().result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


class Filter(Node):
    """``filter(predicate)``: the elements for which the traced ``predicate`` is true."""

    name = "FilterDataset"

    def __init__(self, source: Node, predicate: Any) -> None:
        self.traced = TracedFunction(predicate, source.types, source.shapes, "Dataset.filter")
        check_predicate(self.traced)
        super().__init__(source.types, source.shapes, (source,))
        self.source = source

    def elements(self, env: Environment) -> Iterator[tuple]:
        run = env.runner(self.traced)
        for element in self.source.elements(env):
            if run(element)[0]:
                yield element


class Batch(Node):
    """``batch(batch_size, drop_remainder)``: consecutive elements stacked; the batch dimension is static only
    when the remainder is dropped and the size is known while building."""

    name = "BatchDataset"

    def __init__(self, source: Node, batch_size: Any, drop_remainder: bool = False) -> None:
        known = static_count(batch_size)
        if known is not None and known <= 0:
            raise ValueError(f"Dataset.batch: batch_size must be positive, got {known}")
        dim = known if drop_remainder else None
        shapes = pack_as(source.shapes, [TensorShape(None if s.dims is None else (dim, *s.dims))
                                          for s in source.flat_shapes])
        super().__init__(source.types, shapes, (source,), (batch_size,))
        self.source, self.batch_size, self.drop_remainder = source, batch_size, bool(drop_remainder)

    def elements(self, env: Environment) -> Iterator[tuple]:
        size = env.count(self.batch_size, "Dataset.batch's batch_size")
        if size <= 0:
            raise InvalidArgumentError(f"Dataset.batch: batch_size must be positive, got {size}")
        pending: list = []
        for element in self.source.elements(env):
            pending.append(element)
            if len(pending) == size:
                yield _stack(pending)
                pending = []
        if pending and not self.drop_remainder:
            yield _stack(pending)


def _stack(elements: list) -> tuple:
    stacked = []
    for i in range(len(elements[0])):
        parts = [e[i] for e in elements]
        try:
            stacked.append(np.stack(parts))
        except ValueError:
            first = np.shape(parts[0])
            j, other = next((j, np.shape(p)) for j, p in enumerate(parts) if np.shape(p) != first)
            raise InvalidArgumentError(f"Cannot batch tensors with different shapes in component {i}: the first "
                                       f"element had shape {list(first)} and element {j} had shape "
                                       f"{list(other)}") from None
    return tuple(stacked)


class Shuffle(Node):
    """``shuffle(buffer_size, seed, reshuffle_each_iteration)``: each element is drawn at random from a buffer of
    the next ``buffer_size`` ones. Seeded (op or graph seed), the order repeats in every session."""

    name = "ShuffleDataset"

    def __init__(self, source: Node, buffer_size: Any, seed: tuple, reshuffle_each_iteration: bool | None) -> None:
        known = static_count(buffer_size)
        if known is not None and known <= 0:
            raise ValueError(f"Dataset.shuffle: buffer_size must be positive, got {known}")
        super().__init__(source.types, source.shapes, (source,), (buffer_size,))
        self.source, self.buffer_size, self.seed = source, buffer_size, seed
        self.reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)

    def elements(self, env: Environment) -> Iterator[tuple]:
        size = env.count(self.buffer_size, "Dataset.shuffle's buffer_size")
        if size <= 0:
            raise InvalidArgumentError(f"Dataset.shuffle: buffer_size must be positive, got {size}")
        rng = env.rng(self, self.seed, self.reshuffle)
        buffer: list = []
        for element in self.source.elements(env):
            if len(buffer) < size:
                buffer.append(element)
                continue
            i = int(rng.integers(size))
            yield buffer[i]
            buffer[i] = element
        while buffer:
            i = int(rng.integers(len(buffer)))
            buffer[i], buffer[-1] = buffer[-1], buffer[i]
            yield buffer.pop()


class Repeat(Node):
    """``repeat(count)``: the input's elements ``count`` times over (forever when None or -1)."""

    name = "RepeatDataset"

    def __init__(self, source: Node, count: Any = None) -> None:
        super().__init__(source.types, source.shapes, (source,), (count,))
        self.source, self.count = source, count

    def elements(self, env: Environment) -> Iterator[tuple]:
        count = -1 if self.count is None else env.count(self.count, "Dataset.repeat's count")
        done = 0
        while count < 0 or done < count:
            empty = True
            for element in self.source.elements(env):
                empty = False
                yield element
            done += 1
            if empty:  # an empty input repeated forever is still empty
                return


class Take(Node):
    """``take(count)``: the first ``count`` elements (all of them when -1)."""

    name = "TakeDataset"

    def __init__(self, source: Node, count: Any) -> None:
        super().__init__(source.types, source.shapes, (source,), (count,))
        self.source, self.count = source, count

    def elements(self, env: Environment) -> Iterator[tuple]:
        count = env.count(self.count, "Dataset.take's count")
        elements = self.source.elements(env)
        return elements if count < 0 else itertools.islice(elements, count)


class Skip(Node):
    """``skip(count)``: all but the first ``count`` elements (none when -1)."""

    name = "SkipDataset"

    def __init__(self, source: Node, count: Any) -> None:
        super().__init__(source.types, source.shapes, (source,), (count,))
        self.source, self.count = source, count

    def elements(self, env: Environment) -> Iterator[tuple]:
        count = env.count(self.count, "Dataset.skip's count")
        elements = self.source.elements(env)
        if count < 0:
            return iter(())
        return itertools.islice(elements, count, None)


class Zip(Node):
    """``Dataset.zip(structure)``: elements of several datasets side by side, nested as ``structure``; it ends with
    the shortest."""

    name = "ZipDataset"

    def __init__(self, structure: Any, nodes: list) -> None:
        types = pack_as(structure, [n.types for n in nodes])
        shapes = pack_as(structure, [n.shapes for n in nodes])
        super().__init__(types, shapes, tuple(nodes))

    def elements(self, env: Environment) -> Iterator[tuple]:
        for parts in zip(*(n.elements(env) for n in self.inputs)):
            yield tuple(c for part in parts for c in part)


class Concatenate(Node):
    """``concatenate(other)``: this dataset's elements, then ``other``'s (same types and structure)."""

    name = "ConcatenateDataset"

    def __init__(self, first: Node, second: Node) -> None:
        if first.flat_types != second.flat_types or len(first.flat_shapes) != len(second.flat_shapes):
            raise TypeError(f"Dataset.concatenate: the datasets' types differ ({first.types} and {second.types})")
        shapes = [_most_specific(a, b) for a, b in zip(first.flat_shapes, second.flat_shapes)]
        super().__init__(first.types, pack_as(first.shapes, shapes), (first, second))

    def elements(self, env: Environment) -> Iterator[tuple]:
        return itertools.chain(self.inputs[0].elements(env), self.inputs[1].elements(env))


def _most_specific(a: TensorShape, b: TensorShape) -> TensorShape:
    if a.rank is None or b.rank is None or a.rank != b.rank:
        return TensorShape(None)
    return TensorShape([x if x == y else None for x, y in zip(a.dims, b.dims)])
