"""``tf.init_scope``: leave every traced function graph for the graph that holds the variables.

A cell or layer called inside a traced function (a ``tf.cond`` branch, a loop body, ``dynamic_rnn``'s step) may
create its variables there, as TF 1.x allows inside ``while_loop``. A variable must live in the user's graph, where
its initializer runs and the session keeps its value; inside the function only its read is used, captured as any
outer tensor is. TF 2 lifts such creations with ``init_scope``; this module does the same for ``FuncGraph`` s,
which it recognises by their ``outer`` graph without importing them (they import this module's users).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from .graph import Graph, get_default_graph


def outermost_graph(graph: Graph | None = None) -> Graph:
    """The graph that encloses ``graph`` (the default graph when None) and is not a traced function's graph.

    Example:
        >>> import tensorflux as tf
        >>> g = tf.Graph()
        >>> outermost_graph(g) is g
        True
    """
    graph = graph if graph is not None else get_default_graph()
    while isinstance(getattr(graph, "outer", None), Graph):
        graph = graph.outer
    return graph


@contextlib.contextmanager
def init_scope() -> Iterator[None]:
    """Build ops in the outermost graph, free of control dependencies, under the current name scope.

    Outside traced functions it only clears the control dependencies, as TF 1.x's graph mode does. The name scope
    in force inside the function carries over, so lifted ops keep readable names; the outer graph's devices apply.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant(1.0)
        >>> with tf.control_dependencies([x]), tf.init_scope():
        ...     y = tf.constant(2.0)
        >>> y.op.control_inputs
        []
    """
    inner = get_default_graph()
    outer = outermost_graph(inner)
    if outer is inner:
        with inner.control_dependencies(None):
            yield
        return
    scope = inner.get_name_scope()
    with outer.as_default(), outer.control_dependencies(None), outer.name_scope(scope + "/" if scope else None):
        yield
