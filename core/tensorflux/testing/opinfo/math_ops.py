"""Op-info entries of the math ops: elementwise, comparisons, matmul, add_n, cast, reductions and arg max/min."""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import ALL, BINARY_SHAPES, BOOL, FLOATING, INDEX, INTEGER, NUMERIC, SIGNED, OpInfo

CASTABLE = NUMERIC + BOOL


def _zeros_like(x: np.ndarray) -> np.ndarray:
    return np.full(x.shape, b"", dtype=object) if x.dtype == object else np.zeros_like(x)


def _sign(x: np.ndarray) -> np.ndarray:
    return np.sign(x)


UNARY = [
    OpInfo("Identity", tf.identity, lambda x: x, dtypes=ALL, domain="distinct"),
    OpInfo("IdentityN", lambda x, y: tf.identity_n([x, y]), lambda x, y: [x, y], dtypes=ALL, domain="distinct",
           shapes=[((2, 3), (0,))]),
    OpInfo("IdentityN", lambda x, y: tf.identity_n([x, y]), lambda x, y: [x, y], dtypes=FLOATING, domain="distinct",
           shapes=[((2, 3), (4,))], input_dtypes=(None, tf.int32), variant="mixed dtypes"),
    OpInfo("StopGradient", tf.stop_gradient, lambda x: x, dtypes=ALL, domain="distinct", differentiable=False),
    OpInfo("PlaceholderWithDefault", lambda x: tf.placeholder_with_default(x, x.shape), lambda x: x, dtypes=ALL,
           domain="distinct", differentiable=False),
    OpInfo("ZerosLike", tf.zeros_like, _zeros_like, dtypes=ALL, differentiable=False),
    OpInfo("OnesLike", tf.ones_like, np.ones_like, dtypes=NUMERIC + BOOL, differentiable=False),
    OpInfo("Neg", tf.negative, np.negative, dtypes=SIGNED, domain="wide", large_values=True),
    OpInfo("Abs", tf.abs, np.abs, dtypes=SIGNED, domain="wide", large_values=True),
    OpInfo("Square", tf.square, np.square, domain="wide"),
    OpInfo("Sqrt", tf.sqrt, np.sqrt, dtypes=FLOATING, domain="positive"),
    OpInfo("Rsqrt", tf.rsqrt, lambda x: 1 / np.sqrt(x), dtypes=FLOATING, domain="positive"),
    OpInfo("Exp", tf.exp, np.exp, dtypes=FLOATING),
    OpInfo("Log", tf.log, np.log, dtypes=FLOATING, domain="positive"),
    OpInfo("Log1p", tf.log1p, np.log1p, dtypes=FLOATING, domain="gt-1"),
    OpInfo("Sign", tf.sign, _sign, dtypes=SIGNED, domain="coarse", differentiable=False),
    OpInfo("Reciprocal", tf.reciprocal, lambda x: 1 / x, dtypes=FLOATING, domain="nonzero"),
    OpInfo("Floor", tf.floor, np.floor, dtypes=FLOATING, domain="halves", differentiable=False),
    OpInfo("Ceil", tf.ceil, np.ceil, dtypes=FLOATING, domain="halves", differentiable=False),
    # Halves hit the ties: TensorFlow rounds half to even, as numpy does.
    OpInfo("Round", tf.round, np.round, domain="halves", differentiable=False),
    OpInfo("LogicalNot", tf.logical_not, np.logical_not, dtypes=BOOL, differentiable=False),
]

BINARY = [
    # The wide domain's integer products and sums overflow int8 and uint8, which wrap as in numpy.
    OpInfo("AddV2", tf.add, np.add, shapes=BINARY_SHAPES, domain="wide", large_values=True),
    OpInfo("Sub", tf.subtract, np.subtract, shapes=BINARY_SHAPES, domain="wide", large_values=True),
    OpInfo("Mul", tf.multiply, np.multiply, shapes=BINARY_SHAPES, domain="wide"),
    OpInfo("RealDiv", tf.divide, np.true_divide, dtypes=FLOATING, shapes=BINARY_SHAPES, domain=("any", "divisor")),
    # Integer operands are cast to a float (TF's truediv), so the op runs on the float dtype.
    OpInfo("RealDiv", tf.divide, np.true_divide, dtypes=INTEGER, shapes=BINARY_SHAPES, domain=("any", "divisor"),
           variant="integer operands", differentiable=False),
    OpInfo("FloorDiv", tf.floordiv, np.floor_divide, shapes=BINARY_SHAPES, domain=("dividend", "divisor"),
           differentiable=False),
    OpInfo("FloorMod", tf.mod, np.mod, shapes=BINARY_SHAPES, domain=("dividend", "divisor"), differentiable=False),
    OpInfo("Pow", tf.pow, np.power, shapes=BINARY_SHAPES, domain=("base", "exponent")),
    OpInfo("Maximum", tf.maximum, np.maximum, shapes=BINARY_SHAPES, domain="wide", large_values=True),
    OpInfo("Minimum", tf.minimum, np.minimum, shapes=BINARY_SHAPES, domain="wide", large_values=True),
    OpInfo("SquaredDifference", tf.squared_difference, lambda x, y: np.square(x - y), dtypes=SIGNED,
           shapes=BINARY_SHAPES, domain="coarse"),
    OpInfo("Equal", tf.equal, np.equal, dtypes=ALL, shapes=BINARY_SHAPES, domain="coarse", differentiable=False),
    OpInfo("NotEqual", tf.not_equal, np.not_equal, dtypes=ALL, shapes=BINARY_SHAPES, domain="coarse",
           differentiable=False),
    OpInfo("Less", tf.less, np.less, shapes=BINARY_SHAPES, domain="coarse", differentiable=False),
    OpInfo("LessEqual", tf.less_equal, np.less_equal, shapes=BINARY_SHAPES, domain="coarse", differentiable=False),
    OpInfo("Greater", tf.greater, np.greater, shapes=BINARY_SHAPES, domain="coarse", differentiable=False),
    OpInfo("GreaterEqual", tf.greater_equal, np.greater_equal, shapes=BINARY_SHAPES, domain="coarse",
           differentiable=False),
    OpInfo("LogicalAnd", tf.logical_and, np.logical_and, dtypes=BOOL, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("LogicalOr", tf.logical_or, np.logical_or, dtypes=BOOL, shapes=BINARY_SHAPES, differentiable=False),
]


def _matmul(a: np.ndarray, b: np.ndarray, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    return np.matmul(np.swapaxes(a, -1, -2) if transpose_a else a, np.swapaxes(b, -1, -2) if transpose_b else b)


def _tf_matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Any:
    return tf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)


MATMUL_T = FLOATING + INDEX
_NN, _TN = {"transpose_a": False, "transpose_b": False}, {"transpose_a": True, "transpose_b": False}
_NT, _TT = {"transpose_a": False, "transpose_b": True}, {"transpose_a": True, "transpose_b": True}
MATMUL = [
    OpInfo("MatMul", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_NN],
           shapes=[((2, 3), (3, 4)), ((1, 1), (1, 1)), ((1, 5), (5, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3))]),
    OpInfo("MatMul", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_TN], shapes=[((3, 2), (3, 4))], variant="TN"),
    OpInfo("MatMul", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_NT], shapes=[((2, 3), (4, 3))], variant="NT"),
    OpInfo("MatMul", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_TT], shapes=[((3, 2), (4, 3))], variant="TT"),
    OpInfo("BatchMatMulV2", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_NN],
           shapes=[((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((3, 2, 3), (3, 2)), ((2, 1, 2, 3), (4, 3, 2))]),
    OpInfo("BatchMatMulV2", _tf_matmul, _matmul, dtypes=MATMUL_T, attrs=[_TT], shapes=[((5, 3, 2), (5, 4, 3))],
           variant="TT"),
    OpInfo("AddN", lambda *xs: tf.add_n(list(xs)), lambda *xs: sum(xs[1:], xs[0]),
           shapes=[((2, 3), (2, 3), (2, 3)), ((4,), (4,)), ((), ()), ((0, 2), (0, 2))]),
]

# Sources and targets of every pair; values on quarter steps within +-100 are exact in every float
# dtype and in range of every integer one (non-negative where the target is unsigned).
CAST = [
    OpInfo("Cast", lambda x, to: tf.cast(x, to), lambda x, to: x.astype(to.np_dtype), dtypes=CASTABLE,
           shapes=[(), (0,), (2, 4)], domain="cast", differentiable=False,
           attrs=[{"to": d} for d in CASTABLE if not d.is_unsigned]),
    OpInfo("Cast", lambda x, to: tf.cast(x, to), lambda x, to: x.astype(to.np_dtype), dtypes=CASTABLE,
           shapes=[(), (0,), (2, 4)], domain="cast-unsigned", differentiable=False,
           attrs=[{"to": d} for d in CASTABLE if d.is_unsigned], variant="unsigned"),
]


# -- reductions ---------------------------------------------------------------------------------------
def _np_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _lowest(x: np.ndarray) -> Any:
    return -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min


def _highest(x: np.ndarray) -> Any:
    return np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max


def _np_mean(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axes = range(x.ndim) if axis is None else [a % max(x.ndim, 1) for a in np.atleast_1d(axis).astype(int).tolist()]
    count = int(np.prod([x.shape[a] for a in axes]))
    if x.dtype.kind in "iu":
        # TF's integer mean divides the integer sum by the count, truncating toward zero.
        total = np.sum(x.astype(np.int64), axis=_np_axis(axis), keepdims=keepdims)
        return np.trunc(total / count).astype(x.dtype)
    return np.sum(x, axis=_np_axis(axis), keepdims=keepdims) / count


_REDUCE_REFS = {
    "Sum": lambda x, axis, keepdims: np.sum(x, axis=_np_axis(axis), keepdims=keepdims, dtype=x.dtype),
    "Mean": _np_mean,
    "Max": lambda x, axis, keepdims: np.max(x, axis=_np_axis(axis), keepdims=keepdims, initial=_lowest(x)),
    "Min": lambda x, axis, keepdims: np.min(x, axis=_np_axis(axis), keepdims=keepdims, initial=_highest(x)),
    "Prod": lambda x, axis, keepdims: np.prod(x, axis=_np_axis(axis), keepdims=keepdims, dtype=x.dtype),
    "Any": lambda x, axis, keepdims: np.any(x, axis=_np_axis(axis), keepdims=keepdims),
    "All": lambda x, axis, keepdims: np.all(x, axis=_np_axis(axis), keepdims=keepdims),
}
_REDUCE_FNS = {"Sum": tf.reduce_sum, "Mean": tf.reduce_mean, "Max": tf.reduce_max, "Min": tf.reduce_min,
               "Prod": tf.reduce_prod, "Any": tf.reduce_any, "All": tf.reduce_all}
# (variant, shapes, axes): every axis spelling TF accepts, over scalars, empty tensors and ranks 1 to 3, each
# with and without keepdims.
_REDUCE_CASES = [
    ("all", [(), (5,), (2, 3), (2, 0)], [None]),
    ("first-last", [(5,), (2, 3), (0, 3), (2, 3, 4)], [0, -1]),
    ("middle", [(2, 3), (0, 3), (2, 3, 4)], [1]),
    ("several", [(2, 3, 4)], [(0, 2), [-1, 0], []]),
]


def _reductions(op: str, dtypes: tuple, domain: str, large_values: bool = False, suffix: str = "") -> list[OpInfo]:
    fn, ref = _REDUCE_FNS[op], _REDUCE_REFS[op]
    infos = []
    for variant, shapes, axes in _REDUCE_CASES:
        attrs = [{"axis": axis, "keepdims": keep} for axis in axes for keep in (False, True)]
        if op == "Mean" and any(d.is_integer for d in dtypes):
            # An integer mean of nothing divides by zero; TF leaves that value undefined.
            shapes = [s for s in shapes if 0 not in s]
        infos.append(OpInfo(op, lambda x, axis, keepdims, fn=fn: fn(x, axis=axis, keepdims=keepdims), ref,
                            dtypes=dtypes, shapes=shapes, attrs=attrs, domain=domain, variant=variant + suffix,
                            large_values=large_values, differentiable=op not in ("Any", "All")))
    return infos


REDUCTIONS = (_reductions("Sum", NUMERIC, "any") + _reductions("Mean", FLOATING, "any")
              + _reductions("Mean", INTEGER, "any", suffix=",integer")
              + _reductions("Max", NUMERIC, "any", large_values=True)
              + _reductions("Min", NUMERIC, "any", large_values=True) + _reductions("Prod", NUMERIC, "prod")
              + _reductions("Any", BOOL, "any") + _reductions("All", BOOL, "any"))

# Ties (frequent among small integers) go to the first index, as in numpy.
_ARG_ATTRS = [{"axis": a, "output_type": t} for a in (0, -1) for t in INDEX]
ARG = [
    OpInfo(op, lambda x, axis, output_type, fn=fn: fn(x, axis=axis, output_type=output_type),
           lambda x, axis, output_type, ref=ref: ref(x, axis=axis).astype(output_type.np_dtype),
           shapes=shapes, attrs=attrs, variant=variant, differentiable=False)
    for op, fn, ref in (("ArgMax", tf.argmax, np.argmax), ("ArgMin", tf.argmin, np.argmin))
    for variant, shapes, attrs in (
        ("", [(5,), (2, 3), (2, 3, 4)], _ARG_ATTRS),
        ("middle", [(2, 3, 4)], [{"axis": 1, "output_type": t} for t in INDEX]),
        ("empty", [(3, 0)], [{"axis": 0, "output_type": t} for t in INDEX]),
    )
]

INFOS = UNARY + BINARY + MATMUL + CAST + REDUCTIONS + ARG
