"""Elementwise binary math ops TF 1.x adds to the arithmetic of :mod:`math_ops` (Atan2, Xdivy, Xlogy, DivNoNan,
TruncateDiv, TruncateMod), the TF 1.x division spellings (``div``, ``realdiv``) and the numerically stable
composites ``reduce_logsumexp`` and ``log_sigmoid``, built from the same ops TF builds them from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor, name_scope
from ..op_builder import apply_op, convert_to_tensor
from . import array_ops
from .common import broadcast_shape, define, gradient, not_differentiable
from .math_ops import (
    _reduction_axes,
    add,
    cast,
    divide,
    multiply,
    negative,
    not_equal,
    reduce_max,
    reduce_sum,
    square,
    unbroadcast,
)
from .special_math_ops import is_finite

FLOAT = dt.FLOATING
_BINARY = {
    "Atan2": (["y: T", "x: T"], FLOAT),
    "Xdivy": (["x: T", "y: T"], FLOAT),
    "Xlogy": (["x: T", "y: T"], FLOAT),
    "DivNoNan": (["x: T", "y: T"], FLOAT),
    "TruncateDiv": (["x: T", "y: T"], dt.NUMERIC),
    # TF's op admits these; its kernels exist for int32, int64, float32 and float64 (ours for all four floats).
    "TruncateMod": (["x: T", "y: T"], (dt.int32, dt.int64) + FLOAT),
}
for _name, (_inputs, _allowed) in _BINARY.items():
    define(_name, _inputs, ["z: T"], {"T": ("type", None, _allowed)}, shape=broadcast_shape)
not_differentiable("TruncateDiv", "TruncateMod")


def _like(t: Tensor, value: float) -> np.ndarray:
    return np.array(value, dtype=t.dtype.np_dtype)


def _nonzero(x: Tensor) -> Tensor:
    """1 where ``x`` is not zero, else 0, in x's dtype."""
    return cast(not_equal(x, _like(x, 0.0)), x.dtype)


def _atan2_grads(y: Tensor, x: Tensor, g: Tensor) -> tuple:
    scaled = divide(g, add(square(x), square(y)))
    return multiply(x, scaled), multiply(negative(y), scaled)


def _xdivy_grads(x: Tensor, y: Tensor, g: Tensor) -> tuple:
    return multiply(g, xdivy(_nonzero(x), y)), multiply(g, xdivy(negative(x), square(y)))


def _xlogy_grads(x: Tensor, y: Tensor, g: Tensor) -> tuple:
    return multiply(g, xlogy(_nonzero(x), y)), multiply(g, xdivy(x, y))


def _div_no_nan_grads(x: Tensor, y: Tensor, g: Tensor) -> tuple:
    return div_no_nan(g, y), multiply(g, div_no_nan(div_no_nan(negative(x), y), y))


# Each rule gives (dz/da * g, dz/db * g) at the broadcast shape, for the op's inputs (a, b) in order.
_GRADS = {"Atan2": _atan2_grads, "Xdivy": _xdivy_grads, "Xlogy": _xlogy_grads, "DivNoNan": _div_no_nan_grads}


def _binary_gradient(rule: Any) -> Any:
    def grad_fn(op: Any, grad: Tensor) -> list:
        a, b = op.inputs
        ga, gb = rule(a, b, grad)
        return [unbroadcast(ga, a, b), unbroadcast(gb, b, a)]

    return grad_fn


for _name, _rule in _GRADS.items():
    gradient(_name)(_binary_gradient(_rule))


# -- Python wrappers ----------------------------------------------------------------------------------------
def _binary(op_type: str, py_name: str, example: str, result: str, args: tuple = ("x", "y")) -> Any:
    def wrapper(x: Any, y: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, x, y, name=name or op_type)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Elementwise ``{py_name}({args[0]}, {args[1]})`` with numpy broadcasting (op ``{op_type}``).\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.math.{py_name}({example}))\n        {result}\n")
    return wrapper


atan2 = _binary("Atan2", "atan2", "[0.0, 1.0], [-1.0, 0.0]", "array([3.1415927, 1.5707964], dtype=float32)",
                args=("y", "x"))
xdivy = _binary("Xdivy", "xdivy", "[0.0, 1.0], [0.0, 2.0]", "array([0. , 0.5], dtype=float32)")
xlogy = _binary("Xlogy", "xlogy", "[0.0, 2.0], [0.0, 1.0]", "array([0., 0.], dtype=float32)")
truncatediv = _binary("TruncateDiv", "truncatediv", "[7, -7], 2", "array([ 3, -3], dtype=int32)")
truncatemod = _binary("TruncateMod", "truncatemod", "[7, -7], 3", "array([ 1, -1], dtype=int32)")


def realdiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y`` for operands of one dtype, as the op computes it: integers divide truncating (op ``RealDiv``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.realdiv([7.0, -7.0], 2.0))
        array([ 3.5, -3.5], dtype=float32)
    """
    return apply_op("RealDiv", x, y, name=name or "RealDiv")[0]


def div(x: Any, y: Any, name: str | None = None) -> Tensor:
    """TF 1.x's Python-2-style division: floats divide (``RealDiv``), integers floor-divide (``FloorDiv``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.div([7, -7], 2))
        array([ 3, -4], dtype=int32)
    """
    with name_scope(name or "div") as scope:
        x = convert_to_tensor(x, name="x")
        y = convert_to_tensor(y, name="y", dtype=x.dtype)
        op_type = "RealDiv" if x.dtype.is_floating else "FloorDiv"
        return apply_op(op_type, x, y, name=scope)[0]


def div_no_nan(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y``, and 0 wherever ``y`` is 0 (op ``DivNoNan``); integers are first cast to a float, as ``truediv``.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.div_no_nan([1.0, 1.0], [0.0, 2.0]))
        array([0. , 0.5], dtype=float32)
    """
    with name_scope(name or "div_no_nan") as scope:
        y = convert_to_tensor(y, name="y")
        x = convert_to_tensor(x, name="x", dtype=y.dtype)
        if x.dtype.is_integer:
            target = dt.float64 if x.dtype in (dt.int32, dt.int64) else dt.float32
            x, y = cast(x, target), cast(y, target)
        return apply_op("DivNoNan", x, y, name=scope)[0]


divide_no_nan = div_no_nan


def log_sigmoid(x: Any, name: str | None = None) -> Tensor:
    """``log(sigmoid(x))``, computed stably as ``-softplus(-x)`` (TF's graph: Neg, Softplus, Neg).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.log_sigmoid([0.0]))
        array([-0.6931472], dtype=float32)
    """
    with name_scope(name or "LogSigmoid") as scope:
        x = convert_to_tensor(x, name="x")
        return negative(apply_op("Softplus", negative(x))[0], name=scope)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: bool | None = None, name: str | None = None,
                     reduction_indices: Any = None, keep_dims: bool | None = None) -> Tensor:
    """``log(sum(exp(input_tensor)))`` over ``axis`` without overflow: the (finite) maximum is subtracted first.

    Example:
        >>> import tensorflux as tf
        >>> float(tf.Session().run(tf.reduce_logsumexp([[0.0, 0.0]])))  # log(2)
        0.6931471824645996
    """
    if axis is not None and reduction_indices is not None:
        raise ValueError("reduce_logsumexp: pass either axis or reduction_indices, not both")
    keep = bool(keepdims if keepdims is not None else keep_dims)
    with name_scope(name or "ReduceLogSumExp") as scope:
        x = convert_to_tensor(input_tensor)
        axes = _reduction_axes(x, axis if axis is not None else reduction_indices)
        raw_max = reduce_max(x, axes, keepdims=True)
        # An all -inf (or inf, or NaN) row would give inf - inf: its maximum is taken as 0 instead.
        zeros = (np.zeros(raw_max.shape.as_list(), raw_max.dtype.np_dtype) if raw_max.shape.is_fully_defined()
                 else array_ops.zeros_like(raw_max))
        shift = array_ops.stop_gradient(array_ops.where(is_finite(raw_max), raw_max, zeros))
        result = apply_op("Log", reduce_sum(apply_op("Exp", apply_op("Sub", x, shift)[0])[0], axes,
                                            keepdims=keep))[0]
        if not keep:
            shift = array_ops.reshape(shift, array_ops.shape(result))
        return add(result, shift, name=scope)
