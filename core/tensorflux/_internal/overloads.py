"""Python operator overloads for Tensor and Variable (arithmetic, @, comparisons, slicing)."""

from __future__ import annotations

from typing import Any, Callable

from .graph import Tensor
from .ops import array_ops, math_ops
from .variables import Variable


def _binary(fn: Callable, reverse: bool = False) -> Callable:
    if reverse:
        return lambda self, other: fn(other, self)
    return lambda self, other: fn(self, other)


def _pow(x: Any, y: Any) -> Tensor:
    return math_ops.pow(x, y)


def _getitem(self: Any, key: Any) -> Tensor:
    return array_ops.getitem(self._as_tensor() if isinstance(self, Variable) else self, key)


def _matmul(x: Any, y: Any) -> Tensor:
    return math_ops.matmul(x, y)


OVERLOADS = {
    "__add__": _binary(math_ops.add), "__radd__": _binary(math_ops.add, True),
    "__sub__": _binary(math_ops.subtract), "__rsub__": _binary(math_ops.subtract, True),
    "__mul__": _binary(math_ops.multiply), "__rmul__": _binary(math_ops.multiply, True),
    "__truediv__": _binary(math_ops.truediv), "__rtruediv__": _binary(math_ops.truediv, True),
    "__floordiv__": _binary(math_ops.floordiv), "__rfloordiv__": _binary(math_ops.floordiv, True),
    "__mod__": _binary(math_ops.mod), "__rmod__": _binary(math_ops.mod, True),
    "__pow__": _binary(_pow), "__rpow__": _binary(_pow, True),
    "__matmul__": _binary(_matmul), "__rmatmul__": _binary(_matmul, True),
    "__and__": _binary(math_ops.logical_and), "__rand__": _binary(math_ops.logical_and, True),
    "__or__": _binary(math_ops.logical_or), "__ror__": _binary(math_ops.logical_or, True),
    "__lt__": _binary(math_ops.less), "__le__": _binary(math_ops.less_equal),
    "__gt__": _binary(math_ops.greater), "__ge__": _binary(math_ops.greater_equal),
    "__neg__": lambda self: math_ops.negative(self),
    "__abs__": lambda self: math_ops.abs(self),
    "__invert__": lambda self: math_ops.logical_not(self),
    "__getitem__": _getitem,
}

for _cls in (Tensor, Variable):
    for _name, _fn in OVERLOADS.items():
        setattr(_cls, _name, _fn)
