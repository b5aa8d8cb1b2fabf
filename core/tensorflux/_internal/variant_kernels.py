"""Host kernels of TF's TensorList and Optional ops (``ops/variant_ops.py``): a ``variant`` value is a 0-d object
array holding a :class:`TensorList` or an :class:`Optional`, which no kernel changes in place (TF's lists are
values: a loop step's list is a new one).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError
from .untrusted import check_expansion


class TensorList:
    """An immutable list of host arrays; ``None`` marks an element not set yet (``TensorListReserve``).

    Example:
        >>> lst = TensorList((np.float32(1.0), None), np.dtype("float32"), np.array([], np.int32))
        >>> len(lst.items), lst.items[1] is None
        (2, True)
    """

    __slots__ = ("items", "dtype", "element_shape")

    def __init__(self, items: tuple, dtype: np.dtype, element_shape: Any) -> None:
        self.items = items
        self.dtype = dtype
        self.element_shape = np.asarray(element_shape)

    def __repr__(self) -> str:
        return f"TensorList({len(self.items)} x {self.dtype})"


class Optional:
    """A value that may be absent: ``components`` is a tuple of host arrays, or None.

    Example:
        >>> Optional(None).components is None
        True
    """

    __slots__ = ("components",)

    def __init__(self, components: tuple | None) -> None:
        self.components = components


def _handle(lst: Any) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = lst
    return out


def _list(value: Any, what: str) -> TensorList:
    lst = value[()] if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0 else value
    if not isinstance(lst, TensorList):
        raise InvalidArgumentError(f"{what}: expected a TensorList handle, got {type(lst).__name__}")
    return lst


def _where(ctx: Any) -> str:
    return f"op '{ctx.op_name}' ({ctx.op_type})"


def _index(lst: TensorList, index: Any, ctx: Any) -> int:
    i = int(np.asarray(index))
    if not 0 <= i < len(lst.items):
        raise InvalidArgumentError(f"{_where(ctx)}: index {i} is out of range for a list of {len(lst.items)} elements")
    return i


def _known(shape: Any) -> tuple | None:
    # A fully known element shape as a tuple; None where the rank or a dimension is unknown.
    shape = np.asarray(shape)
    if shape.ndim == 0 or (shape < 0).any():
        return None
    return tuple(int(d) for d in shape.tolist())


def _reserve(element_shape: Any, num_elements: Any, *, element_dtype: Any, ctx: Any) -> np.ndarray:
    n = int(np.asarray(num_elements))
    if n < 0:
        raise InvalidArgumentError(f"{_where(ctx)}: num_elements must be at least 0, got {n}")
    check_expansion(8 * n, 0, f"{_where(ctx)}: a list of {n} elements")  # a slot per element, from one number
    return _handle(TensorList((None,) * n, element_dtype.np_dtype, element_shape))


def _empty(element_shape: Any, max_num_elements: Any, *, element_dtype: Any) -> np.ndarray:
    return _handle(TensorList((), element_dtype.np_dtype, element_shape))


def _from_tensor(tensor: Any, element_shape: Any, *, element_dtype: Any, ctx: Any) -> np.ndarray:
    tensor = np.asarray(tensor)
    if tensor.ndim == 0:
        raise InvalidArgumentError(f"{_where(ctx)}: the tensor must have at least one dimension, got a scalar")
    return _handle(TensorList(tuple(tensor[i] for i in range(tensor.shape[0])), element_dtype.np_dtype,
                              element_shape))


def _length(handle: Any, *, ctx: Any) -> np.ndarray:
    return np.int32(len(_list(handle, _where(ctx)).items))


def _get_item(handle: Any, index: Any, element_shape: Any, *, element_dtype: Any, ctx: Any) -> np.ndarray:
    lst = _list(handle, _where(ctx))
    item = lst.items[_index(lst, index, ctx)]
    if item is not None:
        return np.asarray(item)
    shape = _known(element_shape) or _known(lst.element_shape)
    if shape is None:
        raise InvalidArgumentError(f"{_where(ctx)}: element {int(np.asarray(index))} is not set and the element "
                                   "shape is not fully known, so it cannot be read as zeros")
    return np.zeros(shape, element_dtype.np_dtype)


def _set_item(handle: Any, index: Any, item: Any, *, ctx: Any, resize_if_index_out_of_bounds: bool = False) -> np.ndarray:
    lst = _list(handle, _where(ctx))
    items = list(lst.items)
    i = int(np.asarray(index))
    if resize_if_index_out_of_bounds and i >= len(items):
        items.extend([None] * (i + 1 - len(items)))
    items[_index(TensorList(tuple(items), lst.dtype, lst.element_shape), i, ctx)] = np.asarray(item)
    return _handle(TensorList(tuple(items), lst.dtype, lst.element_shape))


def _stack(handle: Any, element_shape: Any, *, element_dtype: Any, num_elements: int = -1, ctx: Any) -> np.ndarray:
    lst = _list(handle, _where(ctx))
    if num_elements >= 0 and num_elements != len(lst.items):
        raise InvalidArgumentError(f"{_where(ctx)}: the list has {len(lst.items)} elements, but num_elements is "
                                   f"{num_elements}")
    set_items = [x for x in lst.items if x is not None]
    shape = np.shape(set_items[0]) if set_items else (_known(element_shape) or _known(lst.element_shape))
    if shape is None:
        raise InvalidArgumentError(f"{_where(ctx)}: the list has no set element and its element shape is not fully "
                                   "known, so the stacked shape cannot be given")
    out = np.zeros((len(lst.items),) + tuple(shape), element_dtype.np_dtype)
    for i, x in enumerate(lst.items):
        if x is not None:
            if np.shape(x) != tuple(shape):
                raise InvalidArgumentError(f"{_where(ctx)}: element {i} has shape {np.shape(x)}, but element 0 has "
                                           f"{tuple(shape)}; stacking needs one shape")
            out[i] = x
    return out


def _push_back(handle: Any, tensor: Any, *, ctx: Any) -> np.ndarray:
    lst = _list(handle, _where(ctx))
    return _handle(TensorList(lst.items + (np.asarray(tensor),), lst.dtype, lst.element_shape))


def _pop_back(handle: Any, element_shape: Any, *, element_dtype: Any, ctx: Any) -> tuple:
    lst = _list(handle, _where(ctx))
    if not lst.items:
        raise InvalidArgumentError(f"{_where(ctx)}: cannot pop from an empty list")
    item = lst.items[-1]
    if item is None:
        shape = _known(element_shape) or _known(lst.element_shape)
        if shape is None:
            raise InvalidArgumentError(f"{_where(ctx)}: the last element is not set and its shape is not known")
        item = np.zeros(shape, element_dtype.np_dtype)
    return _handle(TensorList(lst.items[:-1], lst.dtype, lst.element_shape)), np.asarray(item)


def _element_shape(handle: Any, *, shape_type: Any, ctx: Any) -> np.ndarray:
    lst = _list(handle, _where(ctx))
    set_items = [x for x in lst.items if x is not None]
    shape = np.shape(set_items[0]) if set_items else lst.element_shape
    return np.asarray(shape, shape_type.np_dtype).reshape(-1)


def _optional(value: Any, ctx: Any) -> Optional:
    held = value[()] if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0 else value
    if not isinstance(held, Optional):
        raise InvalidArgumentError(f"{_where(ctx)}: expected an Optional, got {type(held).__name__}")
    return held


def _optional_from_value(*components: Any) -> np.ndarray:
    return _handle(Optional(tuple(np.asarray(c) for c in components)))


def _optional_none() -> np.ndarray:
    return _handle(Optional(None))


def _optional_has_value(optional: Any, *, ctx: Any) -> np.ndarray:
    return np.bool_(_optional(optional, ctx).components is not None)


def _optional_get_value(optional: Any, *, output_types: list, ctx: Any) -> tuple:
    held = _optional(optional, ctx).components
    if held is None:
        raise InvalidArgumentError(f"{_where(ctx)}: the Optional holds no value")
    if len(held) != len(output_types):
        raise InvalidArgumentError(f"{_where(ctx)}: the Optional holds {len(held)} components, the op reads "
                                   f"{len(output_types)}")
    return held


def variant_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for TF's TensorList and Optional ops.

    Example:
        >>> sorted(variant_kernels())[:3]
        ['EmptyTensorList', 'OptionalFromValue', 'OptionalGetValue']
    """
    return {"OptionalFromValue": _optional_from_value, "OptionalNone": _optional_none,
            "OptionalHasValue": _optional_has_value, "OptionalGetValue": _optional_get_value,
            "TensorListReserve": _reserve, "EmptyTensorList": _empty, "TensorListFromTensor": _from_tensor,
            "TensorListLength": _length, "TensorListGetItem": _get_item, "TensorListSetItem": _set_item,
            "TensorListStack": _stack, "TensorListPushBack": _push_back, "TensorListPopBack": _pop_back,
            "TensorListElementShape": _element_shape}
