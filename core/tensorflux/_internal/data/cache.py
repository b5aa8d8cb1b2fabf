"""``cache()``: the input's elements recorded during the first complete pass, replayed by every later pass."""

from __future__ import annotations

from typing import Any, Iterator

from .base import Environment, Node


class Cache(Node):
    """``cache(filename='')``: kept in memory per iterator (re-initializing starts a new cache). A pass cut short
    records nothing, so the next pass reads the input again. A file cache is refused when the dataset is built."""

    name = "CacheDataset"

    def __init__(self, source: Node, filename: Any = "") -> None:
        if not (isinstance(filename, (str, bytes)) and not filename):
            raise NotImplementedError(f"Dataset.cache: caching to a file ({filename!r}) is not supported by "
                                      "Tensorflux; use cache() for an in-memory cache")
        super().__init__(source.types, source.shapes, (source,))
        self.source = source

    def elements(self, env: Environment) -> Iterator[tuple]:
        cached = env.store.get(self)
        if cached is not None:
            yield from cached
            return
        recorded = []
        for element in self.source.elements(env):
            recorded.append(element)
            yield element
        env.store[self] = recorded
