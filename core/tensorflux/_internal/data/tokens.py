"""Names that let a kernel find the Python objects behind a graph's dataset ops, as ``py_func`` finds its function.

A graph holds its datasets (and so they live exactly as long as it does); the process-wide table maps each token
to them weakly, so a dropped graph leaves nothing behind.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any

from ..errors import NotFoundError

_COUNTER = itertools.count(1)
_LOCK = threading.Lock()
_BY_TOKEN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class _Held:
    """One registered object, strongly held by its graph and weakly by the token table."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value: Any) -> None:
        self.value = value


def register(graph: Any, kind: str, value: Any) -> str:
    """File ``value`` under a new token of ``kind`` for as long as ``graph`` lives; returns the token.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> token = register(g, "dataset", "anything")
        >>> lookup(token, "op 'x'")
        'anything'
    """
    held = _Held(value)
    with _LOCK:
        token = f"{kind}_{next(_COUNTER)}"
        _BY_TOKEN[token] = held
    kept = graph.__dict__.setdefault("_data_objects", [])
    kept.append(held)
    return token


def lookup(token: str, where: str) -> Any:
    """The object filed under ``token``; NotFoundError naming ``where`` when this process has none."""
    held = _BY_TOKEN.get(token)
    if held is None:
        raise NotFoundError(f"{where}: no dataset or iterator '{token}' in this process; datasets are Python "
                            "objects built with tf.data in the process that runs them (a GraphDef does not carry "
                            "them)")
    return held.value
