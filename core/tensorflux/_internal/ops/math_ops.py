"""Math ops: elementwise arithmetic, comparisons, logic, casts, matmul and reductions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .common import broadcast_shape, define, normalize_axis, same_shape

NUM = dt.NUMERIC
FLOAT = dt.FLOATING
SIGNED = tuple(d for d in NUM if not d.is_unsigned)
INT_IDX = (dt.int32, dt.int64)

# -- elementwise binary -------------------------------------------------------------------
_BINARY = {
    # op name: (allowed T, output dtype or None for T)
    "AddV2": (NUM, None), "Sub": (NUM, None), "Mul": (NUM, None), "RealDiv": (NUM, None),
    "FloorDiv": (NUM, None), "FloorMod": (NUM, None), "Pow": (NUM, None),
    "Maximum": (NUM, None), "Minimum": (NUM, None), "SquaredDifference": (NUM, None),
    "Equal": (dt.ALL_DTYPES, "bool"), "NotEqual": (dt.ALL_DTYPES, "bool"),
    "Less": (NUM, "bool"), "LessEqual": (NUM, "bool"), "Greater": (NUM, "bool"), "GreaterEqual": (NUM, "bool"),
    "LogicalAnd": ((dt.bool_,), None), "LogicalOr": ((dt.bool_,), None),
}
for _name, (_allowed, _out) in _BINARY.items():
    define(_name, ["x: T", "y: T"], [f"z: {_out or 'T'}"], {"T": ("type", None, _allowed)}, shape=broadcast_shape)

_UNARY = {
    "Neg": SIGNED, "Abs": SIGNED, "Square": NUM, "Sqrt": FLOAT, "Rsqrt": FLOAT, "Exp": FLOAT, "Log": FLOAT,
    "Log1p": FLOAT, "Sign": SIGNED, "Reciprocal": FLOAT, "Floor": FLOAT, "Ceil": FLOAT, "Round": NUM,
    "LogicalNot": (dt.bool_,),
}
for _name, _allowed in _UNARY.items():
    define(_name, ["x: T"], ["y: T"], {"T": ("type", None, _allowed)}, shape=same_shape)

define("Cast", ["x: SrcT"], ["y: DstT"], {"SrcT": "type", "DstT": "type", "Truncate": ("bool", False)},
       shape=same_shape)


def _add_n_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    for t in op.inputs[1:]:
        if not shape.is_compatible_with(t.shape):
            raise ValueError(f"all inputs must have the same shape, but got {shape} and {t.shape}")
        shape = shape.merge_with(t.shape)
    return shape


define("AddN", ["*inputs: T"], ["sum: T"], {"N": "int", "T": ("type", None, NUM)}, shape=_add_n_shape)


# -- matmul ---------------------------------------------------------------------------------
def _matmul_shape(op: Any) -> TensorShape:
    a, b = op.inputs[0].shape, op.inputs[1].shape
    if op.type == "MatMul":
        ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    else:
        ta, tb = op.attrs["adj_x"], op.attrs["adj_y"]
    if a.rank is None or b.rank is None:
        return TensorShape(None)
    if a.rank < 2 or b.rank < 2 or (op.type == "MatMul" and (a.rank != 2 or b.rank != 2)):
        raise ValueError(f"matmul needs rank-2 (or batched rank >= 2) inputs, got shapes {a} and {b}")
    m, k1 = (a[-1], a[-2]) if ta else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if tb else (b[-2], b[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"inner dimensions must agree: shapes {a} and {b} (transpose_a={ta}, transpose_b={tb})")
    batch = TensorShape([])
    if a.rank > 2 or b.rank > 2:
        from ..shapes import broadcast_shapes

        batch = broadcast_shapes(a[:-2], b[:-2])
        if batch is None:
            raise ValueError(f"batch dimensions of shapes {a} and {b} do not broadcast")
    return TensorShape(list(batch.dims) + [m, n]) if batch.dims is not None else TensorShape(None)


MATMUL_T = (dt.float16, dt.bfloat16, dt.float32, dt.float64, dt.int32, dt.int64)
define("MatMul", ["a: T", "b: T"], ["product: T"],
       {"T": ("type", None, MATMUL_T), "transpose_a": ("bool", False), "transpose_b": ("bool", False)},
       shape=_matmul_shape)
define("BatchMatMulV2", ["x: T", "y: T"], ["output: T"],
       {"T": ("type", None, MATMUL_T), "adj_x": ("bool", False), "adj_y": ("bool", False)}, shape=_matmul_shape)


# -- reductions -----------------------------------------------------------------------------
def reduced_shape(op: Any) -> TensorShape:
    shape, keep = op.inputs[0].shape, op.attrs.get("keep_dims", False)
    axes = constant_value(op.inputs[1])
    if shape.rank is None:
        return TensorShape(None)
    if axes is None:
        return TensorShape([None] * shape.rank) if keep else TensorShape(None)
    rank = shape.rank
    norm = {normalize_axis(int(a), rank, "reduction axis") for a in np.reshape(axes, -1)}
    if keep:
        return TensorShape([1 if i in norm else d for i, d in enumerate(shape.dims)])
    return TensorShape([d for i, d in enumerate(shape.dims) if i not in norm])


_REDUCTIONS = {"Sum": NUM, "Mean": NUM, "Max": NUM, "Min": NUM, "Prod": NUM, "Any": (dt.bool_,), "All": (dt.bool_,)}
for _name, _allowed in _REDUCTIONS.items():
    define(_name, ["input: T", "reduction_indices: Tidx"], ["output: T"],
           {"T": ("type", None, _allowed), "Tidx": ("type", "int32", INT_IDX), "keep_dims": ("bool", False)},
           shape=reduced_shape)


def _arg_shape(op: Any) -> TensorShape:
    shape = op.inputs[0].shape
    axis = constant_value(op.inputs[1])
    if shape.rank is None or axis is None:
        return TensorShape(None)
    a = normalize_axis(int(axis), shape.rank, "argmax/argmin axis")
    return TensorShape([d for i, d in enumerate(shape.dims) if i != a])


for _name in ("ArgMax", "ArgMin"):
    define(_name, ["input: T", "dimension: Tidx"], ["output: output_type"],
           {"T": ("type", None, NUM), "Tidx": ("type", "int32", INT_IDX),
            "output_type": ("type", "int64", INT_IDX)}, shape=_arg_shape, differentiable=False)


# -- Python wrappers --------------------------------------------------------------------------
def _binary(op_type: str, py_name: str, example: str) -> Any:
    def wrapper(x: Any, y: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, x, y, name=name)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Elementwise ``{py_name}`` with numpy broadcasting (op ``{op_type}``).\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.{py_name}({example}))\n")
    return wrapper


def _unary(op_type: str, py_name: str, example: str) -> Any:
    def wrapper(x: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, x, name=name)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Elementwise ``{py_name}`` (op ``{op_type}``).\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.{py_name}({example}))\n")
    return wrapper


add = _binary("AddV2", "add", "[1.0, 2.0], 3.0")
subtract = _binary("Sub", "subtract", "[1.0, 2.0], 3.0")
multiply = _binary("Mul", "multiply", "[1.0, 2.0], 3.0")
floordiv = _binary("FloorDiv", "floordiv", "[7, -7], 2")
floor_div = floordiv
mod = _binary("FloorMod", "mod", "[7, -7], 3")
floormod = mod
pow = _binary("Pow", "pow", "[2.0, 3.0], 2.0")  # noqa: A001 - TF's public name
maximum = _binary("Maximum", "maximum", "[1, 5], 3")
minimum = _binary("Minimum", "minimum", "[1, 5], 3")
squared_difference = _binary("SquaredDifference", "squared_difference", "[1.0, 5.0], 3.0")
equal = _binary("Equal", "equal", "[1, 2], 2")
not_equal = _binary("NotEqual", "not_equal", "[1, 2], 2")
less = _binary("Less", "less", "[1, 2], 2")
less_equal = _binary("LessEqual", "less_equal", "[1, 2], 2")
greater = _binary("Greater", "greater", "[1, 2], 2")
greater_equal = _binary("GreaterEqual", "greater_equal", "[1, 2], 2")
logical_and = _binary("LogicalAnd", "logical_and", "[True, False], True")
logical_or = _binary("LogicalOr", "logical_or", "[True, False], False")
negative = _unary("Neg", "negative", "[1.0, -2.0]")
abs = _unary("Abs", "abs", "[1.0, -2.0]")  # noqa: A001
square = _unary("Square", "square", "[1.0, -2.0]")
sqrt = _unary("Sqrt", "sqrt", "[4.0, 9.0]")
rsqrt = _unary("Rsqrt", "rsqrt", "[4.0, 16.0]")
exp = _unary("Exp", "exp", "[0.0, 1.0]")
log = _unary("Log", "log", "[1.0, 2.0]")
log1p = _unary("Log1p", "log1p", "[0.0, 1.0]")
sign = _unary("Sign", "sign", "[-3.0, 0.0, 2.0]")
reciprocal = _unary("Reciprocal", "reciprocal", "[2.0, 4.0]")
floor = _unary("Floor", "floor", "[1.5, -1.5]")
ceil = _unary("Ceil", "ceil", "[1.5, -1.5]")
round = _unary("Round", "round", "[0.5, 1.5, 2.6]")  # noqa: A001
logical_not = _unary("LogicalNot", "logical_not", "[True, False]")


def truediv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Divide with Python 3 semantics: integers are cast to floats first (int32 -> float64, as TF).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.truediv(7, 2))
        3.5
    """
    xt = x if isinstance(x, Tensor) else None
    yt = y if isinstance(y, Tensor) else None
    base = (xt or yt).dtype if (xt or yt) is not None else None
    if base is not None and base.is_integer:
        target = dt.float64 if base in (dt.int32, dt.int64) else dt.float32
        x = cast(x, target) if isinstance(x, Tensor) else np.asarray(x, dtype=target.np_dtype)
        y = cast(y, target) if isinstance(y, Tensor) else np.asarray(y, dtype=target.np_dtype)
    return apply_op("RealDiv", x, y, name=name or "truediv")[0]


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y`` with true division (see :func:`truediv`).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.divide([3.0, 4.0], 2.0))
        array([1.5, 2. ], dtype=float32)
    """
    return truediv(x, y, name=name or "truediv")


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """Convert ``x`` to ``dtype``; a cast to the same dtype returns ``x`` unchanged.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.cast([1.7, -1.7], tf.int32))
        array([ 1, -1], dtype=int32)
    """
    x = convert_to_tensor(x)
    target = dt.as_dtype(dtype)
    if x.dtype is target:
        return x
    return apply_op("Cast", x, DstT=target, name=name or "Cast")[0]


def to_float(x: Any, name: str = "ToFloat") -> Tensor:
    """Cast to float32 (TF 1.x spelling). Example: ``tf.to_float(tf.constant([1, 2]))``."""
    return cast(x, dt.float32, name=name)


def to_int32(x: Any, name: str = "ToInt32") -> Tensor:
    """Cast to int32 (TF 1.x spelling). Example: ``tf.to_int32(tf.constant([1.5]))``."""
    return cast(x, dt.int32, name=name)


def to_int64(x: Any, name: str = "ToInt64") -> Tensor:
    """Cast to int64 (TF 1.x spelling). Example: ``tf.to_int64(tf.constant([1]))``."""
    return cast(x, dt.int64, name=name)


def add_n(inputs: list, name: str | None = None) -> Tensor:
    """Sum a list of same-shaped tensors.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.add_n([[1, 2], [3, 4], [5, 6]]))
        array([ 9, 12], dtype=int32)
    """
    if not inputs:
        raise ValueError("add_n needs at least one input")
    if len(inputs) == 1 and isinstance(inputs[0], Tensor) and name is None:
        return inputs[0]
    return apply_op("AddN", list(inputs), name=name)[0]


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, adjoint_a: bool = False,
           adjoint_b: bool = False, name: str | None = None) -> Tensor:
    """Matrix product; rank > 2 inputs are batched with broadcasting of the batch dimensions.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.matmul([[1.0, 2.0]], [[3.0], [4.0]]))
        array([[11.]], dtype=float32)
    """
    a, b = convert_to_tensor(a), convert_to_tensor(b, dtype=None)
    ta, tb = transpose_a or adjoint_a, transpose_b or adjoint_b
    if (a.shape.rank or 0) > 2 or (b.shape.rank or 0) > 2 or a.shape.rank is None or b.shape.rank is None:
        return apply_op("BatchMatMulV2", a, b, adj_x=ta, adj_y=tb, name=name or "MatMul")[0]
    return apply_op("MatMul", a, b, transpose_a=ta, transpose_b=tb, name=name or "MatMul")[0]


def _reduction_axes(x: Tensor, axis: Any) -> Any:
    if axis is not None:
        return axis
    if x.shape.rank is not None:
        return np.arange(x.shape.rank, dtype=np.int32)
    from .array_ops import range as tf_range, rank

    return tf_range(0, rank(x), 1)


def _reduce(op_type: str, input_tensor: Any, axis: Any, keepdims: Any, name: str | None,
            reduction_indices: Any, keep_dims: Any) -> Tensor:
    if axis is not None and reduction_indices is not None:
        raise ValueError("Pass either axis or reduction_indices, not both")
    keep = bool(keepdims if keepdims is not None else keep_dims)
    x = convert_to_tensor(input_tensor)
    axes = _reduction_axes(x, axis if axis is not None else reduction_indices)
    return apply_op(op_type, x, axes, keep_dims=keep, name=name)[0]


def _reduction(op_type: str, py_name: str, example: str) -> Any:
    def wrapper(input_tensor: Any, axis: Any = None, keepdims: bool | None = None, name: str | None = None,
                reduction_indices: Any = None, keep_dims: bool | None = None) -> Tensor:
        return _reduce(op_type, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Reduce with ``{op_type}`` over ``axis`` (all axes when None); ``keepdims`` keeps them "
                       f"as size 1. The TF 1.x spellings ``reduction_indices`` and ``keep_dims`` work too.\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.{py_name}({example}))\n")
    return wrapper


reduce_sum = _reduction("Sum", "reduce_sum", "[[1, 2], [3, 4]], axis=0")
reduce_mean = _reduction("Mean", "reduce_mean", "[[1.0, 2.0], [3.0, 4.0]]")
reduce_max = _reduction("Max", "reduce_max", "[[1, 2], [3, 4]], axis=1")
reduce_min = _reduction("Min", "reduce_min", "[[1, 2], [3, 4]], axis=1")
reduce_prod = _reduction("Prod", "reduce_prod", "[[1, 2], [3, 4]]")
reduce_any = _reduction("Any", "reduce_any", "[[True, False], [False, False]], axis=1")
reduce_all = _reduction("All", "reduce_all", "[[True, False], [True, True]], axis=1")


def argmax(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
           output_type: Any = dt.int64) -> Tensor:
    """Index of the largest value along ``axis`` (default 0).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.argmax([[1, 9], [8, 2]], axis=1))
        array([1, 0])
    """
    axis = axis if axis is not None else (dimension if dimension is not None else 0)
    return apply_op("ArgMax", input, axis, output_type=output_type, name=name)[0]


def argmin(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
           output_type: Any = dt.int64) -> Tensor:
    """Index of the smallest value along ``axis`` (default 0).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.argmin([[1, 9], [8, 2]], axis=1))
        array([0, 1])
    """
    axis = axis if axis is not None else (dimension if dimension is not None else 0)
    return apply_op("ArgMin", input, axis, output_type=output_type, name=name)[0]
