"""The global step: the int64 variable that counts training steps (collection GraphKeys.GLOBAL_STEP)."""

from __future__ import annotations

from typing import Any

from .. import dtypes as _dtypes
from ..graph import Graph, GraphKeys, get_default_graph
from ..variables import Variable


def get_global_step(graph: Graph | None = None) -> Any:
    """The global step variable of ``graph`` (default graph), or None if there is none.

    Example:
        >>> import tensorflux as tf
        >>> tf.train.get_global_step() is None
        True
    """
    graph = graph or get_default_graph()
    steps = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(steps) > 1:
        raise TypeError(f"The global_step collection holds {len(steps)} variables, but it must hold at most one")
    if steps:
        return steps[0]
    try:
        return graph.get_tensor_by_name("global_step:0")
    except (KeyError, ValueError):
        return None


def create_global_step(graph: Graph | None = None) -> Variable:
    """Create the global step (an int64 scalar variable starting at 0, not trainable); ValueError if it exists.

    Example:
        >>> import tensorflux as tf
        >>> tf.train.create_global_step().name
        'global_step:0'
    """
    graph = graph or get_default_graph()
    existing = get_global_step(graph)
    if existing is not None:
        raise ValueError(f"The global step already exists ('{existing.name}'); use tf.train.get_or_create_global_step")
    with graph.as_default(), graph.name_scope(None), graph.control_dependencies(None):
        return Variable(0, trainable=False, name="global_step", dtype=_dtypes.int64,
                        collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph: Graph | None = None) -> Any:
    """The global step of ``graph``, created first if needed.

    Example:
        >>> import tensorflux as tf
        >>> tf.train.get_or_create_global_step() is tf.train.get_or_create_global_step()
        True
    """
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The current value of ``global_step_tensor`` in ``sess``, as a Python int.

    Example:
        >>> import tensorflux as tf
        >>> step = tf.train.get_or_create_global_step()
        >>> sess = tf.Session()
        >>> sess.run(step.initializer)
        >>> tf.train.global_step(sess, step)
        0
    """
    return int(sess.run(global_step_tensor))
