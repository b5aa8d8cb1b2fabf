"""Nested elements (tuples and dicts of components) flattened to lists and packed back, as ``tf.nest`` does.

Dicts flatten in sorted-key order; tuples (named or not) in order; anything else is one component. Lists are
components, not structure, as in TF's ``from_tensor_slices`` (a list becomes one tensor).
"""

from __future__ import annotations

from typing import Any, Callable


def _is_structure(value: Any) -> bool:
    return isinstance(value, (tuple, dict))


def flatten(element: Any) -> list:
    """The components of ``element``, depth first.

    Example:
        >>> flatten(({"b": 2, "a": 1}, 3))
        [1, 2, 3]
    """
    if isinstance(element, dict):
        return [leaf for key in sorted(element) for leaf in flatten(element[key])]
    if isinstance(element, tuple):
        return [leaf for item in element for leaf in flatten(item)]
    return [element]


def pack_as(structure: Any, flat: list) -> Any:
    """``flat`` (as many components as ``structure`` has) arranged as ``structure``.

    Example:
        >>> pack_as(({"b": 0, "a": 0}, 0), [1, 2, 3])
        ({'b': 2, 'a': 1}, 3)
    """
    items = iter(flat)
    packed = _pack(structure, items)
    if next(items, _END) is not _END:
        raise ValueError(f"{len(flat)} components given for a structure of {len(flatten(structure))}")
    return packed


_END = object()


def _pack(structure: Any, items: Any) -> Any:
    if isinstance(structure, dict):
        values = {key: _pack(structure[key], items) for key in sorted(structure)}
        return {key: values[key] for key in structure}
    if isinstance(structure, tuple):
        values = [_pack(item, items) for item in structure]
        return type(structure)(*values) if hasattr(structure, "_fields") else tuple(values)
    value = next(items, _END)
    if value is _END:
        raise ValueError(f"too few components for the structure {structure!r}")
    return value


def map_structure(fn: Callable, structure: Any) -> Any:
    """``structure`` with ``fn`` applied to each component.

    Example:
        >>> map_structure(lambda x: x * 10, (1, {"a": 2}))
        (10, {'a': 20})
    """
    return pack_as(structure, [fn(leaf) for leaf in flatten(structure)])


def lists_to_tuples(structure: Any) -> Any:
    """A map function's result with its lists read as tuples (TF 1.x does the same, warning)."""
    if isinstance(structure, list):
        return tuple(lists_to_tuples(item) for item in structure)
    if isinstance(structure, dict):
        return {key: lists_to_tuples(value) for key, value in structure.items()}
    if isinstance(structure, tuple) and not hasattr(structure, "_fields"):
        return tuple(lists_to_tuples(item) for item in structure)
    return structure


def same_structure(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` nest alike (the same dict keys, tuple lengths and component positions)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and sorted(a) == sorted(b)
                and all(same_structure(a[k], b[k]) for k in a))
    if _is_structure(a) or _is_structure(b):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_structure(x, y) for x, y in zip(a, b)))
    return True
