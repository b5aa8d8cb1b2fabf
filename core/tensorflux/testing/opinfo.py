"""One table of op cases: how to build each op, its numpy reference, its dtypes and input domain.

The conformance suite runs it on any device; tolerances are stated per dtype in ``TOLERANCE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import ml_dtypes
import numpy as np

import tensorflux as tf
from tensorflux.extend import FLOATING, INTEGER, NUMERIC

# (rtol, atol) per dtype. Integers and bools are exact. float16 keeps ~3 decimal digits and
# bfloat16 ~2, so their tolerances reflect one rounding of the result.
TOLERANCE = {
    "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12),
}
SIGNED = tuple(d for d in NUMERIC if not d.is_unsigned)
BOOL = (tf.bool,)

# Shape cases: each entry lists one shape per input (broadcasting, scalars and empty tensors included).
UNARY_SHAPES = [(), (0,), (5,), (2, 3)]
BINARY_SHAPES = [((), ()), ((4,), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((0, 3), (3,))]


@dataclass
class OpInfo:
    """One op as the conformance suite sees it.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> info = OpInfo("Neg", tf.negative, np.negative, dtypes=SIGNED)
        >>> info.arity
        1
    """

    op: str
    fn: Callable
    reference: Callable
    dtypes: tuple = NUMERIC
    shapes: list = field(default_factory=lambda: list(UNARY_SHAPES))
    domain: str = "any"
    differentiable: bool = True
    large_values: bool = False

    @property
    def arity(self) -> int:
        first = self.shapes[0]
        return len(first) if first and isinstance(first[0], tuple) else 1


def make_input(shape: tuple, dtype: Any, domain: str, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Random values of ``dtype`` in the op's input ``domain`` (any, positive, nonzero, small)."""
    if dtype is tf.bool:
        return rng.random(shape) < 0.5
    if dtype.is_integer:
        lo = 0 if dtype.is_unsigned or domain in ("positive", "small") else -6
        hi = 4 if domain == "small" else 7
        values = rng.integers(lo, hi, size=shape)
        if domain in ("nonzero", "positive"):
            values = np.where(values == 0, 1, values)
        return values.astype(dtype.np_dtype)
    values = rng.standard_normal(shape) * scale
    if domain == "positive":
        values = np.abs(values) + 0.5
    elif domain == "nonzero":
        values = np.where(np.abs(values) < 0.25, 0.5, values)
    elif domain == "small":
        values = np.abs(values) * 0.5 + 0.5
    return values.astype(dtype.np_dtype)


def _ref_binary(fn: Callable) -> Callable:
    return lambda x, y: fn(x, y)


def _truediv_ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.true_divide(x, y)


UNARY = [
    OpInfo("Identity", tf.identity, lambda x: x, dtypes=NUMERIC + BOOL),
    OpInfo("Neg", tf.negative, np.negative, dtypes=SIGNED, large_values=True),
    OpInfo("Abs", tf.abs, np.abs, dtypes=SIGNED, large_values=True),
    OpInfo("Square", tf.square, np.square),
    OpInfo("Sqrt", tf.sqrt, np.sqrt, dtypes=FLOATING, domain="positive"),
    OpInfo("Rsqrt", tf.rsqrt, lambda x: 1 / np.sqrt(x), dtypes=FLOATING, domain="positive"),
    OpInfo("Exp", tf.exp, np.exp, dtypes=FLOATING),
    OpInfo("Log", tf.log, np.log, dtypes=FLOATING, domain="positive"),
    OpInfo("Log1p", tf.log1p, np.log1p, dtypes=FLOATING, domain="positive"),
    OpInfo("Sign", tf.sign, np.sign, dtypes=SIGNED, differentiable=False),
    OpInfo("Reciprocal", tf.reciprocal, lambda x: 1 / x, dtypes=FLOATING, domain="nonzero"),
    OpInfo("Floor", tf.floor, np.floor, dtypes=FLOATING, differentiable=False),
    OpInfo("Ceil", tf.ceil, np.ceil, dtypes=FLOATING, differentiable=False),
    OpInfo("LogicalNot", tf.logical_not, np.logical_not, dtypes=BOOL, differentiable=False),
    OpInfo("Sum", lambda x: tf.reduce_sum(x, axis=-1) if x.shape.rank else tf.reduce_sum(x), lambda x: np.sum(x, axis=-1),
           shapes=[(5,), (2, 3), (0, 3)]),
    OpInfo("Mean", lambda x: tf.reduce_mean(x, axis=0), lambda x: np.mean(x, axis=0), dtypes=FLOATING,
           shapes=[(5,), (2, 3)]),
    OpInfo("Max", lambda x: tf.reduce_max(x, axis=-1, keepdims=True), lambda x: np.max(x, axis=-1, keepdims=True),
           shapes=[(5,), (2, 3)], large_values=True),
    OpInfo("Min", lambda x: tf.reduce_min(x, axis=0), lambda x: np.min(x, axis=0), shapes=[(5,), (2, 3)]),
    OpInfo("Prod", lambda x: tf.reduce_prod(x, axis=-1), lambda x: np.prod(x, axis=-1), dtypes=FLOATING,
           shapes=[(4,), (2, 3)], domain="small"),
    OpInfo("Transpose", tf.transpose, np.transpose, dtypes=NUMERIC + BOOL, shapes=[(5,), (2, 3), (0, 3)]),
    OpInfo("Reshape", lambda x: tf.reshape(x, [-1]), lambda x: np.reshape(x, -1), dtypes=NUMERIC + BOOL),
    OpInfo("ArgMax", lambda x: tf.argmax(x, axis=0), lambda x: np.argmax(x, axis=0), shapes=[(5,), (2, 3)],
           differentiable=False),
    OpInfo("Cast", lambda x: tf.cast(x, tf.float64), lambda x: x.astype(np.float64), dtypes=NUMERIC + BOOL,
           differentiable=False),
    OpInfo("Tile", lambda x: tf.tile(x, [2] * max(x.shape.rank, 1)) if x.shape.rank else x,
           lambda x: np.tile(x, [2] * max(x.ndim, 1)) if x.ndim else x, shapes=[(3,), (2, 3)]),
]

BINARY = [
    OpInfo("AddV2", tf.add, np.add, shapes=BINARY_SHAPES, large_values=True),
    OpInfo("Sub", tf.subtract, np.subtract, shapes=BINARY_SHAPES, large_values=True),
    OpInfo("Mul", tf.multiply, np.multiply, shapes=BINARY_SHAPES),
    OpInfo("RealDiv", lambda x, y: tf.divide(x, y), _truediv_ref, dtypes=FLOATING, shapes=BINARY_SHAPES,
           domain="nonzero"),
    OpInfo("FloorDiv", tf.floordiv, np.floor_divide, dtypes=INTEGER, shapes=BINARY_SHAPES, domain="nonzero",
           differentiable=False),
    OpInfo("FloorMod", tf.mod, np.mod, dtypes=INTEGER, shapes=BINARY_SHAPES, domain="nonzero", differentiable=False),
    OpInfo("Pow", tf.pow, np.power, dtypes=FLOATING, shapes=BINARY_SHAPES, domain="small"),
    OpInfo("Maximum", tf.maximum, np.maximum, shapes=BINARY_SHAPES, large_values=True),
    OpInfo("Minimum", tf.minimum, np.minimum, shapes=BINARY_SHAPES, large_values=True),
    OpInfo("SquaredDifference", tf.squared_difference, lambda x, y: np.square(x - y), dtypes=FLOATING + (tf.int32,),
           shapes=BINARY_SHAPES),
    OpInfo("Equal", tf.equal, np.equal, dtypes=NUMERIC + BOOL, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("NotEqual", tf.not_equal, np.not_equal, dtypes=NUMERIC + BOOL, shapes=BINARY_SHAPES,
           differentiable=False),
    OpInfo("Less", tf.less, np.less, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("LessEqual", tf.less_equal, np.less_equal, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("Greater", tf.greater, np.greater, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("GreaterEqual", tf.greater_equal, np.greater_equal, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("LogicalAnd", tf.logical_and, np.logical_and, dtypes=BOOL, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("LogicalOr", tf.logical_or, np.logical_or, dtypes=BOOL, shapes=BINARY_SHAPES, differentiable=False),
    OpInfo("MatMul", tf.matmul, np.matmul, dtypes=FLOATING + (tf.int32, tf.int64),
           shapes=[((2, 3), (3, 4)), ((1, 5), (5, 1)), ((0, 3), (3, 2))]),
    OpInfo("BatchMatMulV2", tf.matmul, np.matmul, dtypes=FLOATING, shapes=[((2, 2, 3), (2, 3, 4)), ((3, 2, 3), (3, 2))]),
    OpInfo("ConcatV2", lambda x, y: tf.concat([x, y], axis=0), lambda x, y: np.concatenate([x, y], axis=0),
           dtypes=NUMERIC + BOOL, shapes=[((2, 3), (1, 3)), ((4,), (0,))]),
    OpInfo("Pack", lambda x, y: tf.stack([x, y], axis=1), lambda x, y: np.stack([x, y], axis=1), dtypes=NUMERIC + BOOL,
           shapes=[((2, 3), (2, 3)), ((4,), (4,))]),
]



def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _np_windows(x: np.ndarray, kh: int, kw: int, pad_value: float) -> tuple[np.ndarray, int, int]:
    """SAME-padded stride-1 windows of NHWC ``x``: [N, H, W, C, kh, kw] (a reference, not a fast path)."""
    pt, pl = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((0, 0), (pt, kh - 1 - pt), (pl, kw - 1 - pl), (0, 0)), constant_values=pad_value)
    return np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2)), pt, pl


def _np_conv2d_same(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    windows, _, _ = _np_windows(x, f.shape[0], f.shape[1], 0.0)
    return np.einsum("nhwcij,ijco->nhwo", windows, f)


def _np_max_pool_2x2_same(x: np.ndarray) -> np.ndarray:
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = np.pad(x, ((0, 0), (0, x.shape[1] % 2), (0, x.shape[2] % 2), (0, 0)), constant_values=low)
    n, h, w, c = padded.shape
    return padded.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _np_avg_pool_3x3_same(x: np.ndarray) -> np.ndarray:
    windows, _, _ = _np_windows(x, 3, 3, 0.0)
    counts, _, _ = _np_windows(np.ones_like(x), 3, 3, 0.0)
    return windows.sum(axis=(-2, -1)) / counts.sum(axis=(-2, -1))


def _sparse_labels(n: int, classes: int) -> np.ndarray:
    return (np.arange(n) * 7 + 3) % classes


IMAGE_SHAPES = [(1, 4, 4, 2), (2, 5, 3, 1)]
NN = [
    OpInfo("Relu", tf.nn.relu, lambda x: np.maximum(x, 0), large_values=True),
    OpInfo("Relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), large_values=True),
    OpInfo("Elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), dtypes=FLOATING,
           large_values=True),
    OpInfo("LeakyRelu", lambda x: tf.nn.leaky_relu(x, alpha=0.2), lambda x: np.where(x > 0, x, 0.2 * x),
           dtypes=FLOATING, large_values=True),
    OpInfo("Softplus", tf.nn.softplus, lambda x: np.logaddexp(0, x), dtypes=FLOATING, large_values=True),
    OpInfo("Sigmoid", tf.nn.sigmoid, lambda x: 0.5 * (1 + np.tanh(x / 2)), dtypes=FLOATING, large_values=True),
    OpInfo("Tanh", tf.nn.tanh, np.tanh, dtypes=FLOATING, large_values=True),
    OpInfo("Softmax", tf.nn.softmax, lambda x: np.exp(_np_log_softmax(x)), dtypes=FLOATING, shapes=[(5,), (2, 3)],
           large_values=True),
    OpInfo("LogSoftmax", tf.nn.log_softmax, _np_log_softmax, dtypes=FLOATING, shapes=[(5,), (2, 3)], large_values=True),
    OpInfo("SoftmaxCrossEntropyWithLogits",
           lambda x, y: tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.nn.softmax(y), logits=x),
           lambda x, y: -np.sum(np.exp(_np_log_softmax(y)) * _np_log_softmax(x), axis=-1), dtypes=FLOATING,
           shapes=[((2, 3), (2, 3)), ((4, 5), (4, 5))], large_values=True),
    OpInfo("SparseSoftmaxCrossEntropyWithLogits",
           lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(
               labels=_sparse_labels(x.shape[0], x.shape[1]), logits=x),
           lambda x: -np.take_along_axis(_np_log_softmax(x), _sparse_labels(*x.shape)[:, None], axis=1)[:, 0],
           dtypes=FLOATING, shapes=[(2, 3), (4, 5)], large_values=True),
    OpInfo("BiasAdd", tf.nn.bias_add, np.add, shapes=[((2, 3), (3,)), ((2, 2, 4), (4,))]),
    OpInfo("L2Loss", tf.nn.l2_loss, lambda x: np.sum(x * x) / 2, dtypes=FLOATING, shapes=[(0,), (5,), (2, 3)]),
    OpInfo("TopKV2", lambda x: tf.nn.top_k(x, k=2).values, lambda x: np.flip(np.sort(x, axis=-1), axis=-1)[..., :2],
           shapes=[(5,), (2, 3)], large_values=True),
    OpInfo("Conv2D", lambda x, f: tf.nn.conv2d(x, f, strides=1, padding="SAME"), _np_conv2d_same, dtypes=FLOATING,
           shapes=[((1, 4, 4, 2), (3, 3, 2, 3)), ((2, 5, 3, 1), (2, 2, 1, 2))]),
    OpInfo("MaxPool", lambda x: tf.nn.max_pool(x, 2, 2, "SAME"), _np_max_pool_2x2_same, shapes=IMAGE_SHAPES,
           large_values=True),
    OpInfo("AvgPool", lambda x: tf.nn.avg_pool(x, 3, 1, "SAME"), _np_avg_pool_3x3_same, dtypes=FLOATING,
           shapes=IMAGE_SHAPES),
]

OP_INFOS = UNARY + BINARY + NN


def reference_result(info: OpInfo, inputs: list) -> np.ndarray:
    """Compute the numpy reference, at float64 for low-precision floats so only the result is rounded."""
    widened = [x.astype(np.float64) if x.dtype in (np.float16, ml_dtypes.bfloat16) else x for x in inputs]
    return np.asarray(info.reference(*widened))
