"""Helpers of the tf.data tests: run a pipeline in a framework (tensorflux or TF's compat.v1) and collect it."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def leaves(element: Any) -> list:
    """The components of a nested element (dicts in sorted-key order), as both frameworks flatten them."""
    if isinstance(element, dict):
        return [leaf for key in sorted(element) for leaf in leaves(element[key])]
    if isinstance(element, (tuple, list)):
        return [leaf for item in element for leaf in leaves(item)]
    return [element]


def spec(tf: Any, dataset: Any) -> tuple:
    """A dataset's component dtypes and shapes as plain names and lists (None: unknown rank)."""
    types = [t.name for t in leaves(tf.data.get_output_types(dataset))]
    shapes = [None if s.rank is None else list(s.as_list()) for s in leaves(tf.data.get_output_shapes(dataset))]
    return types, shapes


def drain(tf: Any, build: Callable, feed_of: Callable | None = None, limit: int = 10_000) -> tuple:
    """``(elements, spec)`` of the dataset ``build(tf)`` returns, read to its end through an initializable
    iterator; ``feed_of(placeholders)`` gives the initializer's feed when ``build`` returns ``(dataset, phs)``."""
    graph = tf.Graph()
    with graph.as_default():
        built = build(tf)
        dataset, placeholders = built if isinstance(built, tuple) else (built, None)
        iterator = tf.data.make_initializable_iterator(dataset)
        nxt = iterator.get_next()
    elements = []
    with tf.Session(graph=graph) as sess:
        sess.run(iterator.initializer, feed_of(placeholders) if feed_of else None)
        for _ in range(limit):
            try:
                elements.append(sess.run(nxt))
            except tf.errors.OutOfRangeError:
                break
    return elements, spec(tf, dataset)


def assert_same_elements(ours: list, theirs: list) -> None:
    """Equal element counts, structures, values and dtypes."""
    assert len(ours) == len(theirs), f"{len(ours)} elements, TF gives {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        la, lb = leaves(a), leaves(b)
        assert len(la) == len(lb), f"element {i}: {len(la)} components, TF gives {len(lb)}"
        for x, y in zip(la, lb):
            ours, theirs = np.asarray(x).dtype, np.asarray(y).dtype
            assert ours == theirs, f"element {i}: {ours}, TF gives {theirs}"
            np.testing.assert_array_equal(x, y, err_msg=f"element {i}")
