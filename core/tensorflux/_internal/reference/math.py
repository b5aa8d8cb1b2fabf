"""Math reference kernels: elementwise ops, comparisons, casts, matmul and reductions, over a namespace ``xp``."""

from __future__ import annotations

import functools
from typing import Any, Callable

from .common import host_int, host_ints, low_precision_accumulator, xp_dtype


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the math ops, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> kernels(np)["AddV2"](np.array([1, 2]), np.array(3)).tolist()
        [4, 5]
    """

    def same_dtype(fn: Callable) -> Callable:
        """A unary function whose result keeps its input's dtype (the standard may widen, e.g. sign of bool)."""

        def kernel(x):
            out = fn(x)
            return out if out.dtype == x.dtype else xp.astype(out, x.dtype)

        kernel.__name__ = kernel.__qualname__ = getattr(fn, "__name__", "unary")
        return kernel

    def is_integral(x) -> bool:
        return xp.isdtype(x.dtype, "integral")

    def real_div(x, y):
        if is_integral(x):  # TF truncates an integer quotient; the standard leaves int / int unspecified
            wide = xp.divide(xp.astype(x, xp.float64), xp.astype(y, xp.float64))
            return xp.astype(wide, x.dtype)
        return xp.divide(x, y)

    def check_nonzero(y, what: str) -> None:
        if xp.any(y == 0):
            raise ZeroDivisionError(f"integer {what} by zero")

    def floor_div(x, y):
        if is_integral(x):
            check_nonzero(y, "division")
        return xp.floor_divide(x, y)

    def floor_mod(x, y):
        if is_integral(x):
            check_nonzero(y, "modulo")
        return xp.remainder(x, y)

    def pow_(x, y):
        if is_integral(x) and xp.any(y < 0):
            raise ValueError("integers to negative integer powers are not allowed")
        return xp.pow(x, y)

    def squared_difference(x, y):
        d = xp.subtract(x, y)
        return xp.multiply(d, d)

    def rsqrt(x):
        return 1 / xp.sqrt(x)

    def reciprocal(x):
        return 1 / x

    def cast(x, *, DstT):  # noqa: N803 - TF's attr name
        if DstT.name == "string":
            raise TypeError(f"Cast from {x.dtype} to string is not supported")
        return xp.astype(x, xp_dtype(xp, DstT))

    def add_n(*inputs):
        return functools.reduce(xp.add, inputs[1:], inputs[0])

    def matmul(a, b, *, transpose_a, transpose_b):
        return xp.matmul(xp.matrix_transpose(a) if transpose_a else a, xp.matrix_transpose(b) if transpose_b else b)

    def batch_matmul(x, y, *, adj_x, adj_y):
        return xp.matmul(xp.matrix_transpose(x) if adj_x else x, xp.matrix_transpose(y) if adj_y else y)

    def axes_of(x, axes) -> tuple:
        return tuple(a % x.ndim if x.ndim else a for a in host_ints(axes))

    def reduced_shape(x, axes: tuple, keep_dims: bool) -> tuple:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape) if keep_dims or i not in axes)

    def count(x, axes: tuple) -> int:
        n = 1
        for a in axes:
            n *= x.shape[a]
        return n

    def reduce_sum(x, axes, *, keep_dims):
        ax = axes_of(x, axes)
        acc = low_precision_accumulator(xp, x.dtype)
        return xp.astype(xp.sum(x, axis=ax, keepdims=keep_dims, dtype=acc), x.dtype)

    def reduce_prod(x, axes, *, keep_dims):
        ax = axes_of(x, axes)
        acc = low_precision_accumulator(xp, x.dtype)
        return xp.astype(xp.prod(x, axis=ax, keepdims=keep_dims, dtype=acc), x.dtype)

    def reduce_mean(x, axes, *, keep_dims):
        ax = axes_of(x, axes)
        n = count(x, ax)
        if is_integral(x):  # TF rounds an integer mean toward zero
            total = xp.sum(x, axis=ax, keepdims=keep_dims, dtype=xp.int64)
            n = max(n, 1)
            mean = xp.where(total < 0, -((-total) // n), total // n)
            return xp.astype(mean, x.dtype)
        # sum / count rather than xp.mean, whose empty-input behaviour the standard leaves open
        total = xp.sum(x, axis=ax, keepdims=keep_dims, dtype=low_precision_accumulator(xp, x.dtype))
        return xp.astype(total / n, x.dtype)

    def extreme(fn: Callable, empty_value: Callable) -> Callable:
        """A max or min reduction that, as TF, gives the identity (the dtype's lowest or highest) over no elements."""

        def kernel(x, axes, *, keep_dims):
            ax = axes_of(x, axes)
            if not ax:
                return x
            if count(x, ax) == 0:
                return xp.full(reduced_shape(x, ax, keep_dims), empty_value(x.dtype), dtype=x.dtype, device=x.device)
            return fn(x, axis=ax, keepdims=keep_dims)

        kernel.__name__ = kernel.__qualname__ = f"reduce_{fn.__name__}"
        return kernel

    def lowest(dtype):
        return -float("inf") if xp.isdtype(dtype, "real floating") else xp.iinfo(dtype).min

    def highest(dtype):
        return float("inf") if xp.isdtype(dtype, "real floating") else xp.iinfo(dtype).max

    def reduce_any(x, axes, *, keep_dims):
        return xp.any(x, axis=axes_of(x, axes), keepdims=keep_dims)

    def reduce_all(x, axes, *, keep_dims):
        return xp.all(x, axis=axes_of(x, axes), keepdims=keep_dims)

    def arg_max(x, dimension, *, output_type):
        return xp.astype(xp.argmax(x, axis=host_int(dimension)), xp_dtype(xp, output_type))

    def arg_min(x, dimension, *, output_type):
        return xp.astype(xp.argmin(x, axis=host_int(dimension)), xp_dtype(xp, output_type))

    def unary(fn: Callable) -> Callable:
        """``fn`` with TF's one input: the namespace's own function may take more (numpy's ufuncs do)."""

        def kernel(x):
            return fn(x)

        kernel.__name__ = kernel.__qualname__ = getattr(fn, "__name__", "unary")
        return kernel

    def binary(fn: Callable) -> Callable:
        def kernel(x, y):
            return fn(x, y)

        kernel.__name__ = kernel.__qualname__ = getattr(fn, "__name__", "binary")
        return kernel

    add, sub, mul, maximum, minimum = (binary(f) for f in (xp.add, xp.subtract, xp.multiply, xp.maximum, xp.minimum))
    return {
        "AddV2": add, "Sub": sub, "Mul": mul, "RealDiv": real_div, "FloorDiv": floor_div,
        "FloorMod": floor_mod, "Pow": pow_, "Maximum": maximum, "Minimum": minimum,
        "SquaredDifference": squared_difference,
        "Equal": binary(xp.equal), "NotEqual": binary(xp.not_equal), "Less": binary(xp.less),
        "LessEqual": binary(xp.less_equal), "Greater": binary(xp.greater), "GreaterEqual": binary(xp.greater_equal),
        "LogicalAnd": binary(xp.logical_and), "LogicalOr": binary(xp.logical_or), "LogicalNot": unary(xp.logical_not),
        "Neg": unary(xp.negative), "Abs": unary(xp.abs), "Square": unary(xp.square), "Sqrt": unary(xp.sqrt),
        "Rsqrt": rsqrt, "Exp": unary(xp.exp), "Log": unary(xp.log), "Log1p": unary(xp.log1p),
        "Sign": same_dtype(xp.sign), "Reciprocal": reciprocal,
        "Floor": same_dtype(xp.floor), "Ceil": same_dtype(xp.ceil), "Round": same_dtype(xp.round),
        "Cast": cast, "AddN": add_n, "MatMul": matmul, "BatchMatMulV2": batch_matmul,
        "Sum": reduce_sum, "Mean": reduce_mean, "Max": extreme(xp.max, lowest), "Min": extreme(xp.min, highest),
        "Prod": reduce_prod, "Any": reduce_any, "All": reduce_all, "ArgMax": arg_max, "ArgMin": arg_min,
    }
