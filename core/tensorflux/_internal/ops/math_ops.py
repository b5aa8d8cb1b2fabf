"""Math ops: elementwise arithmetic, comparisons, logic, casts, matmul and reductions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, constant_value, convert_to_tensor
from ..shapes import TensorShape
from . import array_ops
from .common import broadcast_shape, define, gradient, normalize_axis, not_differentiable, same_shape

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


def _pow_grads(x: Tensor, y: Tensor, z: Tensor, g: Tensor) -> tuple:
    positive = greater(x, 0.0)
    log_x = where_zero(positive, log(array_ops.where(positive, x, array_ops.ones_like(x))))
    return multiply(g, multiply(y, pow(x, subtract(y, 1.0)))), multiply(g, multiply(z, log_x))


def _squared_difference_grads(x: Tensor, y: Tensor, z: Tensor, g: Tensor) -> tuple:
    gx = multiply(g, multiply(2.0, subtract(x, y)))
    return gx, negative(gx)


def _selected_grads(x_wins: Tensor, g: Tensor) -> tuple:
    return array_ops.where(x_wins, g, array_ops.zeros_like(g)), array_ops.where(x_wins, array_ops.zeros_like(g), g)


# Each rule gives (dz/dx * g, dz/dy * g) at the broadcast shape; the gradient sums them back to x's and y's shapes.
_BINARY_GRADS = {
    "AddV2": lambda x, y, z, g: (g, g),
    "Sub": lambda x, y, z, g: (g, negative(g)),
    "Mul": lambda x, y, z, g: (multiply(g, y), multiply(x, g)),
    "RealDiv": lambda x, y, z, g: (divide(g, y), multiply(g, divide(divide(negative(x), y), y))),
    "FloorMod": lambda x, y, z, g: (g, multiply(g, negative(floordiv(x, y)))),
    "Pow": _pow_grads,
    "Maximum": lambda x, y, z, g: _selected_grads(greater_equal(x, y), g),
    "Minimum": lambda x, y, z, g: _selected_grads(less_equal(x, y), g),
    "SquaredDifference": _squared_difference_grads,
}


def _binary_gradient(rule: Any) -> Any:
    def grad_fn(op: Any, grad: Tensor) -> list:
        x, y = op.inputs
        gx, gy = rule(x, y, op.outputs[0], grad)
        return [unbroadcast(gx, x, y), unbroadcast(gy, y, x)]

    return grad_fn


for _name, _rule in _BINARY_GRADS.items():
    gradient(_name)(_binary_gradient(_rule))
not_differentiable("FloorDiv", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd",
                   "LogicalOr")


def where_zero(condition: Tensor, x: Tensor) -> Tensor:
    """``x`` where ``condition`` holds, else 0 (the zero branch never sees NaN or inf from x's other branch)."""
    return array_ops.where(condition, x, array_ops.zeros_like(x))


def unbroadcast(grad: Tensor, x: Tensor, *others: Tensor, core_dims: int = 0) -> Tensor:
    """Sum ``grad``, the gradient of a broadcast result, down to the shape of the operand ``x``.

    ``others`` are the operands ``x`` was broadcast against; they let the reduction be decided at
    graph-construction time when shapes are partly unknown. The last ``core_dims`` dimensions are
    not broadcast (matmul's matrix dimensions).
    """
    axes = _static_unbroadcast_axes(grad.shape, x.shape, [o.shape for o in others], core_dims)
    if axes is None:
        x_shape, g_shape = array_ops.shape(x), array_ops.shape(grad)
        ones = array_ops.fill(array_ops.expand_dims(subtract(array_ops.rank(grad), array_ops.rank(x)), 0), 1)
        padded = array_ops.concat([ones, x_shape], 0)
        dynamic_axes = array_ops.reshape(array_ops.where(not_equal(padded, g_shape)), [-1])
        return array_ops.reshape(reduce_sum(grad, dynamic_axes, keepdims=True), x_shape)
    lead, kept = axes
    if not kept:
        return reduce_sum(grad, np.array(lead, dtype=np.int32)) if lead else grad
    out = reduce_sum(grad, np.array(lead + kept, dtype=np.int32), keepdims=True)
    return array_ops.squeeze(out, axis=lead) if lead else out


def _static_unbroadcast_axes(g: TensorShape, x: TensorShape, others: list, core_dims: int) -> tuple | None:
    """(leading axes to drop, axes to sum keeping them) when shapes decide it statically, else None."""
    n, r = g.rank, x.rank
    if n is None or r is None or r > n:
        return None
    lead, kept = list(range(n - r)), []
    for i in range(n - r, n - core_dims):
        xd, gd = x.dims[i - (n - r)], g.dims[i]
        if xd == 1:
            if gd != 1:
                kept.append(i)
        elif xd is None and gd != 1:
            # x's size here is unknown: no sum only if no other operand can be bigger than 1 here.
            for o in others:
                if o.rank is None:
                    return None
                j = i - (n - o.rank)
                if j >= 0 and o.dims[j] != 1:
                    return None
    return lead, kept

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

# Each rule gives dy/dx * g from the input x, the output y and the output gradient g.
_UNARY_GRADS = {
    "Neg": lambda x, y, g: negative(g),
    "Abs": lambda x, y, g: multiply(g, sign(x)),
    "Square": lambda x, y, g: multiply(g, multiply(2.0, x)),
    "Sqrt": lambda x, y, g: divide(multiply(0.5, g), y),
    "Rsqrt": lambda x, y, g: multiply(multiply(-0.5, g), multiply(y, square(y))),
    "Exp": lambda x, y, g: multiply(g, y),
    "Log": lambda x, y, g: divide(g, x),
    "Log1p": lambda x, y, g: divide(g, add(1.0, x)),
    "Sign": lambda x, y, g: array_ops.zeros_like(x),
    "Reciprocal": lambda x, y, g: negative(multiply(g, square(y))),
}


def _unary_gradient(rule: Any) -> Any:
    def grad_fn(op: Any, grad: Tensor) -> list:
        return [rule(op.inputs[0], op.outputs[0], grad)]

    return grad_fn


for _name, _rule in _UNARY_GRADS.items():
    gradient(_name)(_unary_gradient(_rule))
not_differentiable("Floor", "Ceil", "Round", "LogicalNot")


@gradient("Cast")
def _cast_grad(op: Any, grad: Tensor) -> list:
    src, dst = op.attrs["SrcT"], op.attrs["DstT"]
    return [cast(grad, src) if src.is_floating and dst.is_floating else None]


@gradient("AddN")
def _add_n_grad(op: Any, grad: Tensor) -> list:
    return [grad] * len(op.inputs)


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


def _matmul_grads(a: Tensor, b: Tensor, g: Tensor, ta: bool, tb: bool) -> tuple:
    """Gradients of ``op(a) @ op(b)`` where op transposes the last two dimensions when asked."""
    if not ta and not tb:
        return matmul(g, b, transpose_b=True), matmul(a, g, transpose_a=True)
    if not ta and tb:
        return matmul(g, b), matmul(g, a, transpose_a=True)
    if ta and not tb:
        return matmul(b, g, transpose_b=True), matmul(a, g)
    return matmul(b, g, transpose_a=True, transpose_b=True), matmul(g, a, transpose_a=True, transpose_b=True)


@gradient("MatMul")
def _matmul_grad(op: Any, grad: Tensor) -> list:
    a, b = op.inputs
    return list(_matmul_grads(a, b, grad, op.attrs["transpose_a"], op.attrs["transpose_b"]))


@gradient("BatchMatMulV2")
def _batch_matmul_grad(op: Any, grad: Tensor) -> list:
    x, y = op.inputs
    gx, gy = _matmul_grads(x, y, grad, op.attrs["adj_x"], op.attrs["adj_y"])
    return [unbroadcast(gx, x, y, core_dims=2), unbroadcast(gy, y, x, core_dims=2)]


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
not_differentiable("Any", "All")


def kept_dims_shape(x: Tensor, axes: Tensor) -> Any:
    """The shape of reducing ``x`` over ``axes`` with keep_dims: a list when static, else a tensor."""
    const_axes = constant_value(axes)
    rank = x.shape.rank
    if rank is not None and const_axes is not None:
        reduced = {normalize_axis(int(a), rank, "reduction axis") for a in np.reshape(const_axes, -1)}
        dims = [1 if i in reduced else d for i, d in enumerate(x.shape.dims)]
        if None not in dims:
            return dims
        mask = np.array([i in reduced for i in range(rank)], dtype=bool)
        return array_ops.where(mask, np.ones(rank, dtype=np.int32), array_ops.shape(x))
    x_shape = array_ops.shape(x)
    x_rank = array_ops.rank(x)
    norm = mod(cast(array_ops.reshape(axes, [-1]), dt.int32), x_rank)
    hit = equal(array_ops.expand_dims(array_ops.range(0, x_rank), 1), array_ops.expand_dims(norm, 0))
    return array_ops.where(reduce_any(hit, axis=1), array_ops.ones_like(x_shape), x_shape)


def _kept(op: Any, t: Tensor) -> Tensor:
    """``t`` (shaped like op's output) reshaped as if the reduction had kept its dimensions."""
    if op.attrs["keep_dims"]:
        return t
    return array_ops.reshape(t, kept_dims_shape(op.inputs[0], op.inputs[1]))


def broadcast_like(g: Tensor, x: Tensor) -> Tensor:
    """Repeat ``g`` (with size-1 dimensions where ``x`` has any size) up to the shape of ``x``."""
    if x.shape.is_fully_defined() and g.shape.is_fully_defined():
        multiples = [xd // max(gd, 1) for xd, gd in zip(x.shape.as_list(), g.shape.as_list())]
        if all(m == 1 for m in multiples):
            return g
        return array_ops.tile(g, np.array(multiples, dtype=np.int32))
    if g.shape.is_fully_defined() and x.shape.rank == g.shape.rank and all(d == 1 for d in g.shape.as_list()):
        return array_ops.tile(g, array_ops.shape(x))  # a full reduction's gradient: x's shape is the multiples
    return array_ops.tile(g, floordiv(array_ops.shape(x), maximum(array_ops.shape(g), 1)))


@gradient("Sum")
def _sum_grad(op: Any, grad: Tensor) -> list:
    return [broadcast_like(_kept(op, grad), op.inputs[0]), None]


@gradient("Mean")
def _mean_grad(op: Any, grad: Tensor) -> list:
    x, y = op.inputs[0], op.outputs[0]
    n_in, n_out = x.shape.num_elements(), y.shape.num_elements()
    if n_in is not None and n_out is not None:
        factor = np.array(n_in // max(n_out, 1), dtype=grad.dtype.np_dtype)
    elif n_out is not None:
        size = array_ops.size(x)
        factor = cast(size if n_out <= 1 else floordiv(size, n_out), grad.dtype)
    else:
        factor = cast(floordiv(array_ops.size(x), maximum(array_ops.size(y), 1)), grad.dtype)
    return [divide(broadcast_like(_kept(op, grad), x), factor), None]


@gradient("Max", "Min")
def _max_min_grad(op: Any, grad: Tensor) -> list:
    x = op.inputs[0]
    chosen = cast(equal(_kept(op, op.outputs[0]), x), grad.dtype)
    ties = reduce_sum(chosen, op.inputs[1], keepdims=True)
    return [multiply(divide(chosen, ties), _kept(op, grad)), None]


@gradient("Prod")
def _prod_grad(op: Any, grad: Tensor) -> list:
    # d prod / d x_i is the product of the other elements, computed without dividing by zero:
    # no zero in the group: prod / x_i; one zero: the product of the rest at the zero, 0 elsewhere.
    x, axes = op.inputs
    is_zero = equal(x, 0.0)
    safe_x = array_ops.where(is_zero, array_ops.ones_like(x), x)
    nonzero_prod = reduce_prod(safe_x, axes, keepdims=True)
    zeros = reduce_sum(cast(is_zero, x.dtype), axes, keepdims=True)
    one_zero = array_ops.where(logical_and(is_zero, equal(zeros, 1.0)), nonzero_prod, array_ops.zeros_like(x))
    others = array_ops.where(equal(zeros, 0.0), divide(nonzero_prod, safe_x), one_zero)
    return [multiply(others, _kept(op, grad)), None]


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
    # Variables count as tensors; Python-only operands get the dtype a constant of x would have.
    xt, yt = _tensor_or_none(x), _tensor_or_none(y)
    given = xt if xt is not None else yt
    base = given.dtype if given is not None else dt.infer_dtype(x)
    if base.is_integer:
        target = dt.float64 if base in (dt.int32, dt.int64) else dt.float32
        x = _to_float_operand(x, xt, base, target)
        y = _to_float_operand(y, yt, base, target)
    return apply_op("RealDiv", x, y, name=name or "truediv")[0]


def _tensor_or_none(v: Any) -> Tensor | None:
    if isinstance(v, Tensor):
        return v
    return v._as_tensor() if hasattr(v, "_as_tensor") else None


def _to_float_operand(v: Any, t: Tensor | None, base: dt.DType, target: dt.DType) -> Any:
    if t is None:
        return np.asarray(v, dtype=target.np_dtype)
    # A tensor of another dtype is left alone so that RealDiv reports the mismatch, naming both.
    return cast(t, target) if t.dtype is base else t


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
