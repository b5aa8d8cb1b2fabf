"""``prefetch(buffer_size)``: a background thread runs the input pipeline ahead into a bounded queue, so that
producing the next elements overlaps the training step that consumes the current one."""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator

from .base import Environment, Node
from .transforms import AUTOTUNE

AUTOTUNE_BUFFER = 4  # what AUTOTUNE buffers: enough to hide jitter, few enough to bound memory
_END = object()
_POLL_SECONDS = 0.1  # how often a producer blocked on a full queue checks whether it should stop


class Prefetch(Node):
    """Elements of ``source``, produced up to ``buffer_size`` ahead by a thread (none ahead when 0).

    The thread starts with the first element asked for, and stops when the pass ends, the iterator is
    re-initialized, or its session closes; an error in the pipeline reaches the consumer at its element.
    """

    name = "PrefetchDataset"

    def __init__(self, source: Node, buffer_size: Any) -> None:
        super().__init__(source.types, source.shapes, (source,), (buffer_size,))
        self.source, self.buffer_size = source, buffer_size

    def elements(self, env: Environment) -> Iterator[tuple]:
        size = env.count(self.buffer_size, "Dataset.prefetch's buffer_size")
        if size == AUTOTUNE:
            size = AUTOTUNE_BUFFER
        if size <= 0:
            return self.source.elements(env)
        return self._ahead(env, size)

    def _ahead(self, env: Environment, size: int) -> Iterator[tuple]:
        ready: queue.Queue = queue.Queue(maxsize=size)
        stop = threading.Event()
        env.on_close(stop.set)
        thread = threading.Thread(target=_produce, args=(self.source.elements(env), ready, stop), daemon=True,
                                  name="tensorflux-prefetch")
        thread.start()
        try:
            while True:
                item, error = ready.get()
                if error is not None:
                    raise error
                if item is _END:
                    return
                yield item
        finally:
            stop.set()


def _produce(elements: Iterator[tuple], ready: queue.Queue, stop: threading.Event) -> None:
    try:
        for element in elements:
            if not _put(ready, (element, None), stop):
                return
        _put(ready, (_END, None), stop)
    except BaseException as error:  # noqa: BLE001 - handed to the consumer, who raises it at its element
        _put(ready, (None, error), stop)
    finally:
        close = getattr(elements, "close", None)
        if close is not None:
            close()


def _put(ready: queue.Queue, item: tuple, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            ready.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
