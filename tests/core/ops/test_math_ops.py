"""Math ops as a graph-building API: dtypes refused, Python operands, TF 1.x spellings, operators, errors.

Their numerics over every dtype, shape and axis are the op-info table's (test_op_table.py); here are the
behaviours the table cannot express: build-time refusals, operand conversion, edge values (division by
zero, out-of-domain inputs) and the Python operator overloads.
"""

from __future__ import annotations

from typing import Any, Callable

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf
from tensorflux.testing.opcheck import assert_close, case_inputs
from tensorflux.testing.opinfo import make_input as table_input, reference_result
from tensorflux.testing.opinfo.math_ops import BINARY as BINARY_INFOS

FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
SIGNED_INTS = (tf.int8, tf.int16, tf.int32, tf.int64)
INTS = SIGNED_INTS + (tf.uint8,)
NUMERIC = FLOATS + INTS
ALL = NUMERIC + (tf.bool, tf.string)
# (rtol, atol) per result numpy dtype; bfloat16 has 8 significant bits, float16 11.
TOLERANCE = {
    np.dtype(np.float16): (2e-3, 1e-3),
    np.dtype(ml_dtypes.bfloat16): (1.6e-2, 1e-2),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-12, 1e-12),
}


# -- inputs ----------------------------------------------------------------------------------------
def make_input(dtype: tf.DType, shape: tuple, domain: str = "any", seed: int = 0) -> np.ndarray:
    """A deterministic numpy array of ``dtype`` and ``shape`` from the op table's input ``domain``."""
    return table_input(shape, dtype, domain, np.random.default_rng(seed))


def reference(np_fn: Callable, inputs: list, out_dtype: np.dtype) -> np.ndarray:
    """``np_fn`` on ``inputs``, computed in float32 for half-precision arrays, then cast to ``out_dtype``.

    Non-array inputs (axes, flags) pass through unchanged.
    """
    compute = [x.astype(np.float32) if isinstance(x, np.ndarray) and x.dtype in (np.float16, ml_dtypes.bfloat16)
               else x for x in inputs]
    with np.errstate(all="ignore"):
        return np.asarray(np_fn(*compute)).astype(out_dtype)


def assert_matches(got: Any, want: np.ndarray) -> None:
    # A string scalar fetches as bytes; np.asarray alone would type it fixed-width.
    got = np.asarray(got, dtype=object) if want.dtype == object else np.asarray(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != expected {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    if want.dtype in TOLERANCE:
        rtol, atol = TOLERANCE[want.dtype]
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def run(fetch: Any, feed_dict: dict | None = None) -> Any:
    with tf.Session() as sess:
        return sess.run(fetch, feed_dict)


# -- dtypes each op refuses at build time ----------------------------------------------------------------
def _truediv_out(dtype: tf.DType) -> np.dtype:
    if dtype in (tf.int32, tf.int64):
        return np.dtype(np.float64)
    if dtype.is_integer:
        return np.dtype(np.float32)
    return dtype.np_dtype


NON_FLOAT = INTS + (tf.bool, tf.string)
NON_BOOL = NUMERIC + (tf.string,)
NON_NUMERIC = (tf.bool, tf.string)
BINARY_REJECTS = [
    ("add", tf.add, NON_NUMERIC), ("subtract", tf.subtract, NON_NUMERIC), ("multiply", tf.multiply, NON_NUMERIC),
    ("divide", tf.divide, NON_NUMERIC), ("truediv", tf.truediv, NON_NUMERIC), ("floordiv", tf.floordiv, NON_NUMERIC),
    ("mod", tf.mod, NON_NUMERIC), ("pow", tf.pow, NON_NUMERIC), ("maximum", tf.maximum, NON_NUMERIC),
    ("minimum", tf.minimum, NON_NUMERIC), ("squared_difference", tf.squared_difference, NON_NUMERIC),
    ("less", tf.less, NON_NUMERIC), ("less_equal", tf.less_equal, NON_NUMERIC), ("greater", tf.greater, NON_NUMERIC),
    ("greater_equal", tf.greater_equal, NON_NUMERIC), ("logical_and", tf.logical_and, NON_BOOL),
    ("logical_or", tf.logical_or, NON_BOOL),
]
UNARY_REJECTS = [
    ("negative", tf.negative, NON_NUMERIC), ("abs", tf.abs, NON_NUMERIC), ("square", tf.square, NON_NUMERIC),
    ("sqrt", tf.sqrt, NON_FLOAT), ("rsqrt", tf.rsqrt, NON_FLOAT), ("exp", tf.exp, NON_FLOAT),
    ("log", tf.log, NON_FLOAT), ("log1p", tf.log1p, NON_FLOAT), ("sign", tf.sign, NON_NUMERIC),
    ("reciprocal", tf.reciprocal, NON_FLOAT), ("floor", tf.floor, NON_FLOAT), ("ceil", tf.ceil, NON_FLOAT),
    ("round", tf.round, NON_NUMERIC), ("logical_not", tf.logical_not, NON_BOOL),
]
# (name, function, a dtype it admits, the dtypes it refuses)
REDUCTIONS = [
    ("reduce_sum", tf.reduce_sum, tf.float32, NON_NUMERIC), ("reduce_mean", tf.reduce_mean, tf.float32, NON_NUMERIC),
    ("reduce_max", tf.reduce_max, tf.float32, NON_NUMERIC), ("reduce_min", tf.reduce_min, tf.float32, NON_NUMERIC),
    ("reduce_prod", tf.reduce_prod, tf.float32, NON_NUMERIC), ("reduce_any", tf.reduce_any, tf.bool, NON_BOOL),
    ("reduce_all", tf.reduce_all, tf.bool, NON_BOOL),
]


def _rejected(table: list) -> list:
    return [pytest.param(fn, dtype, id=f"{name}-{dtype.name}") for name, fn, *_, rejects in table for dtype in rejects]

# -- elementwise binary ------------------------------------------------------------------------------
@pytest.mark.parametrize("info", [pytest.param(i, id=i.label) for i in BINARY_INFOS])
def test_binary_op_through_placeholders_of_unknown_dims(info):
    dtype = info.dtypes[0] if tf.float32 not in info.dtypes else tf.float32
    a, b = case_inputs(info, dtype, ((2, 3), (3,)), {})
    x = tf.placeholder(dtype, [None, 3])
    y = tf.placeholder(dtype, None)
    out = info.fn(x, y)
    assert out.shape.rank is None or out.shape.is_compatible_with([2, 3])
    assert_close(run(out, {x: a, y: b}), reference_result(info, [a, b]), info.label)


@pytest.mark.parametrize("fn, dtype", _rejected(BINARY_REJECTS))
def test_binary_op_rejects_dtype_naming_op_and_dtype(fn, dtype):
    a = tf.constant(make_input(dtype, (2,)), dtype=dtype)
    with pytest.raises(TypeError) as exc:
        fn(a, a)
    assert dtype.name in str(exc.value) and "Op '" in str(exc.value)


def test_binary_ops_accept_python_and_numpy_operands_with_the_tensor_dtype():
    for dtype in (tf.int8, tf.float16, tf.bfloat16, tf.uint8, tf.float64):
        t = tf.constant([1, 2], dtype=dtype)
        for out in (tf.add(t, 3), tf.add(3, t), tf.multiply([2, 2], t), tf.maximum(t, np.array(1))):
            assert out.dtype is dtype
        assert_matches(run(tf.add(t, 3)), np.array([4, 5], dtype=dtype.np_dtype))
        assert_matches(run(tf.subtract(5, t)), np.array([4, 3], dtype=dtype.np_dtype))


@pytest.mark.parametrize("x, y, pattern", [
    (tf.int32, 2.5, r"AddV2.*'y'.*int32.*floating"),
    (tf.int8, 300, r"AddV2.*'y'.*int8.*range"),
    (tf.float32, "a", r"AddV2.*'y'.*float32"),
])
def test_unconvertible_python_operand_names_op_input_and_dtype(x, y, pattern):
    with pytest.raises(TypeError, match=pattern):
        tf.add(tf.constant([1], dtype=x), y)


def test_mixed_tensor_dtypes_name_op_and_both_dtypes():
    with pytest.raises(TypeError, match=r"AddV2.*float64.*float32"):
        tf.add(tf.constant(1.0), tf.constant(1.0, tf.float64))


def test_python_only_operands_use_tf1_constant_dtypes():
    assert tf.add(1, 2).dtype is tf.int32
    assert tf.add(1.0, 2).dtype is tf.float32
    assert run(tf.multiply(1.5, 2)) == 3.0
    # As in TF 1.x, the first operand fixes the dtype: 1.5 cannot become an int32.
    with pytest.raises(TypeError, match=r"Mul.*'y'.*int32"):
        tf.multiply(2, 1.5)


def test_truediv_of_python_ints_is_true_division():
    out = tf.divide(7, 2)
    assert out.dtype is tf.float64 and run(out) == 3.5
    assert run(tf.truediv(tf.constant(7, tf.int16), 2)) == np.float32(3.5)


@pytest.mark.parametrize("dtype", INTS, ids=lambda d: d.name)
def test_true_division_of_integers_gives_tf_float_dtypes(dtype):
    out = tf.divide(tf.constant([7, 2], dtype), tf.constant([2, 4], dtype))
    assert out.dtype.np_dtype == _truediv_out(dtype)
    assert_matches(run(out), np.array([3.5, 0.5], _truediv_out(dtype)))


def test_integer_division_by_zero_is_a_run_time_error_naming_the_op():
    for fn in (tf.floordiv, tf.mod):
        tf.reset_default_graph()
        out = fn(tf.constant([4, 5]), tf.constant([2, 0]), name="div0")
        with pytest.raises(tf.errors.InvalidArgumentError, match="div0"):
            run(out)


def test_integer_negative_power_is_an_error_naming_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match="negpow"):
        run(tf.pow(tf.constant([2]), tf.constant([-1]), name="negpow"))


@pytest.mark.filterwarnings("error")  # as in TF, inf and nan come back without numpy RuntimeWarnings
def test_float_division_by_zero_gives_inf_and_nan():
    x = tf.constant([1.0, -1.0, 0.0])
    out, floored, mod = run([tf.divide(x, 0.0), tf.floordiv(x, 0.0), tf.mod(x, 0.0)])
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])
    assert floored[0] == np.inf and floored[1] == -np.inf and np.isnan(floored[2])
    assert np.isnan(mod).all()
    assert np.isnan(run(tf.pow(-8.0, 1.0 / 3)))
    assert np.isnan(run(tf.reduce_mean(tf.zeros([0]))))


# -- elementwise unary ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, dtype", _rejected(UNARY_REJECTS))
def test_unary_op_rejects_dtype_naming_op_and_dtype(fn, dtype):
    with pytest.raises(TypeError) as exc:
        fn(tf.constant(make_input(dtype, (2,)), dtype=dtype))
    assert dtype.name in str(exc.value) and "Op '" in str(exc.value)


@pytest.mark.filterwarnings("error")
def test_unary_float_ops_outside_their_domain_give_nan_and_inf():
    out = run([tf.sqrt(-1.0), tf.log(0.0), tf.log(-1.0), tf.rsqrt(0.0), tf.log1p(-1.0)])
    assert np.isnan(out[0]) and out[1] == -np.inf and np.isnan(out[2]) and out[3] == np.inf and out[4] == -np.inf


# -- where ----------------------------------------------------------------------------------------------
def test_where_needs_both_values_or_neither():
    with pytest.raises(ValueError, match="both x and y"):
        tf.where([True], [1])


# -- cast -------------------------------------------------------------------------------------------------
def _cast_source(src: tf.DType, dst: tf.DType) -> np.ndarray:
    rng = np.random.default_rng(7)
    if src is tf.bool:
        return rng.random(8) < 0.5
    negatives = not src.is_unsigned and not dst.is_unsigned
    values = np.round(rng.uniform(-100 if negatives else 0, 100, 8) * 4) / 4
    values[:2] = [0.0, 1.0]
    return values.astype(src.np_dtype)


def test_cast_to_the_same_dtype_returns_the_input():
    x = tf.constant([1.0])
    assert tf.cast(x, tf.float32) is x


def test_cast_of_python_values_and_names():
    out = tf.cast([1.7, -1.7], "int32", name="c")
    assert out.op.name == "c" and out.op.get_attr("DstT") is tf.int32
    assert_matches(run(out), np.array([1, -1], np.int32))


def test_cast_between_strings_and_numbers_is_refused_naming_dtypes():
    with pytest.raises((TypeError, tf.errors.OpError), match="string.*int32|int32.*string"):
        run(tf.cast(tf.constant(["1"]), tf.int32))


@pytest.mark.parametrize("fn, dtype", [(tf.to_float, tf.float32), (tf.to_int32, tf.int32), (tf.to_int64, tf.int64)])
@pytest.mark.parametrize("src", [tf.float64, tf.int32, tf.int64, tf.bool], ids=lambda d: d.name)
def test_tf1_cast_aliases(fn, dtype, src):
    x = _cast_source(src, dtype)
    out = fn(tf.constant(x, dtype=src))
    assert out.dtype is dtype
    assert_matches(run(out), x.astype(dtype.np_dtype))


# -- matmul --------------------------------------------------------------------------------------------------
def test_matmul_adjoint_spelling_and_op_types():
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = tf.matmul(a, a, adjoint_a=True)
    assert out.op.type == "MatMul"
    assert_matches(run(out), a.T @ a)
    assert tf.matmul(np.ones((2, 2, 2), np.float32), np.ones((2, 2), np.float32)).op.type == "BatchMatMulV2"


@pytest.mark.parametrize("dtype", [tf.int8, tf.uint8, tf.bool, tf.string], ids=lambda d: d.name)
def test_matmul_rejects_dtype(dtype):
    x = tf.constant(make_input(dtype, (2, 2)), dtype=dtype)
    with pytest.raises(TypeError, match=f"MatMul.*{dtype.name}"):
        tf.matmul(x, x)


# -- reductions ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn, dtype", [pytest.param(fn, dtype, id=name) for name, fn, dtype, _ in REDUCTIONS])
def test_reduction_tf1_spellings(fn, dtype):
    x = make_input(dtype, (2, 3, 4), seed=5)
    old = fn(x, reduction_indices=[1], keep_dims=True)
    new = fn(x, axis=[1], keepdims=True)
    assert old.shape == new.shape == [2, 1, 4]
    assert_matches(run(old), run(new))
    with pytest.raises(ValueError, match="axis or reduction_indices"):
        fn(x, axis=0, reduction_indices=0)


@pytest.mark.parametrize("fn, dtype", _rejected(REDUCTIONS))
def test_reduction_rejects_dtype_naming_op_and_dtype(fn, dtype):
    with pytest.raises(TypeError) as exc:
        fn(tf.constant(make_input(dtype, (2,)), dtype=dtype))
    assert dtype.name in str(exc.value) and "Op '" in str(exc.value)


def test_reduction_over_unknown_rank_and_tensor_axis():
    x = tf.placeholder(tf.float32, None)
    data = make_input(tf.float32, (2, 3), seed=1)
    assert_matches(run(tf.reduce_sum(x), {x: data}), np.sum(data, dtype=np.float32))
    axis = tf.placeholder(tf.int32, [])
    out = tf.reduce_max(tf.constant(data), axis=axis)
    assert_matches(run(out, {axis: 1}), np.max(data, axis=1))


def test_reduction_axis_out_of_range_names_op_axis_and_rank():
    with pytest.raises(ValueError, match=r"Sum.*axis 2.*rank 2"):
        tf.reduce_sum(tf.zeros([2, 3]), axis=2)


# -- argmax / argmin ------------------------------------------------------------------------------------------
def test_argmax_defaults_and_dimension_spelling():
    x = np.array([[1, 9], [8, 2]], np.int32)
    assert tf.argmax(x).dtype is tf.int64
    assert_matches(run(tf.argmax(x)), np.array([1, 0], np.int64))
    assert_matches(run(tf.argmin(x, dimension=1)), np.array([0, 1], np.int64))


def test_argmax_of_an_empty_axis_is_an_error_naming_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match="am"):
        run(tf.argmax(tf.zeros([0, 3]), axis=0, name="am"))


# -- add_n ---------------------------------------------------------------------------------------------------
def test_add_n_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"AddN.*\(2,\).*\(3,\)"):
        tf.add_n([tf.zeros([2]), tf.zeros([3])])


# -- operator overloads -----------------------------------------------------------------------------------
OPERATORS = [
    ("+", lambda a, b: a + b, np.add, "any"),
    ("-", lambda a, b: a - b, np.subtract, "any"),
    ("*", lambda a, b: a * b, np.multiply, "any"),
    ("/", lambda a, b: a / b, np.true_divide, "divisor"),
    ("//", lambda a, b: a // b, np.floor_divide, "divisor"),
    ("%", lambda a, b: a % b, np.mod, "divisor"),
    ("**", lambda a, b: a ** b, np.power, "exponent"),
    ("<", lambda a, b: a < b, np.less, "coarse"),
    ("<=", lambda a, b: a <= b, np.less_equal, "coarse"),
    (">", lambda a, b: a > b, np.greater, "coarse"),
    (">=", lambda a, b: a >= b, np.greater_equal, "coarse"),
]


def _operator_out(symbol: str, dtype: tf.DType) -> np.dtype:
    if symbol in ("<", "<=", ">", ">="):
        return np.dtype(np.bool_)
    return _truediv_out(dtype) if symbol == "/" else dtype.np_dtype


@pytest.mark.parametrize("dtype", [tf.float32, tf.int32], ids=lambda d: d.name)
@pytest.mark.parametrize("symbol, op, np_fn, domain", OPERATORS, ids=[o[0] for o in OPERATORS])
def test_binary_operator_overloads(symbol, op, np_fn, domain, dtype):
    # `a` is also the right operand (scalar OP a): no zero divisors, no negative integer exponents.
    a_domain = {"**": "base" if dtype.is_floating else "exponent", "/": "divisor", "//": "divisor",
                "%": "divisor"}.get(symbol, "dividend")
    a = make_input(dtype, (2, 3), a_domain, seed=1)
    b = make_input(dtype, (3,), domain, seed=2)
    ta, tb = tf.constant(a), tf.constant(b)
    want = reference(np_fn, [a, b], _operator_out(symbol, dtype))
    assert_matches(run(op(ta, tb)), want)  # tensor op tensor
    assert_matches(run(op(ta, b)), want)  # tensor op numpy
    assert_matches(run(op(a, tb)), want)  # numpy op tensor (reflected)
    scalar = abs(b.flat[0].item()) if symbol == "**" else b.flat[0].item()  # a real-valued power
    assert_matches(run(op(ta, scalar)), reference(np_fn, [a, np.asarray(scalar, dtype.np_dtype)], want.dtype))
    assert_matches(run(op(scalar, ta)), reference(np_fn, [np.asarray(scalar, dtype.np_dtype), a], want.dtype))


def test_matmul_operator_and_reflection():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert_matches(run(tf.constant(a) @ tf.constant(b)), a @ b)
    assert_matches(run(a @ tf.constant(b)), a @ b)
    assert_matches(run(tf.constant(a) @ b), a @ b)


def test_unary_and_logical_operator_overloads():
    x = np.array([-1.5, 0.0, 2.0], np.float32)
    p, q = np.array([True, True, False]), np.array([True, False, False])
    assert_matches(run(-tf.constant(x)), -x)
    assert_matches(run(abs(tf.constant(x))), np.abs(x))
    assert_matches(run(~tf.constant(p)), ~p)
    assert_matches(run(tf.constant(p) & tf.constant(q)), p & q)
    assert_matches(run(tf.constant(p) | q), p | q)
    assert_matches(run(p & tf.constant(q)), p & q)
    assert (-tf.constant(x)).op.type == "Neg"


def test_equality_operator_is_identity_as_in_tf1():
    a, b = tf.constant(1), tf.constant(1)
    assert (a == a) is True and (a == b) is False and (a != b) is True


# -- shape inference errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("build, op_type, shapes", [
    (lambda: tf.add(tf.zeros([2, 3]), tf.zeros([4, 3])), "AddV2", ["(2, 3)", "(4, 3)"]),
    (lambda: tf.zeros([2, 3]) * tf.zeros([2]), "Mul", ["(2, 3)", "(2,)"]),
    (lambda: tf.maximum(tf.zeros([5]), tf.zeros([4])), "Maximum", ["(5,)", "(4,)"]),
    (lambda: tf.less(tf.zeros([2, 1, 3]), tf.zeros([2, 2])), "Less", ["(2, 1, 3)", "(2, 2)"]),
    (lambda: tf.logical_and(tf.zeros([2], tf.bool), tf.zeros([3], tf.bool)), "LogicalAnd", ["(2,)", "(3,)"]),
    (lambda: tf.matmul(tf.zeros([2, 3]), tf.zeros([4, 5])), "MatMul", ["(2, 3)", "(4, 5)"]),
    (lambda: tf.matmul(tf.zeros([2, 3]), tf.zeros([2, 4]), transpose_b=True), "MatMul", ["(2, 3)", "(2, 4)"]),
    (lambda: tf.matmul(tf.zeros([2, 2, 3]), tf.zeros([3, 3, 4])), "BatchMatMulV2", ["(2, 2, 3)", "(3, 3, 4)"]),
    (lambda: tf.matmul(tf.zeros([3]), tf.zeros([3, 2])), "MatMul", ["(3,)", "(3, 2)"]),
    (lambda: tf.where(tf.zeros([2], tf.bool), tf.zeros([3]), tf.zeros([3])), "SelectV2", ["(2,)", "(3,)"]),
    (lambda: tf.placeholder(tf.float32, [None, 3]) + tf.zeros([2, 4]), "AddV2", ["(?, 3)", "(2, 4)"]),
])
def test_incompatible_shapes_raise_at_build_time_naming_op_and_shapes(build, op_type, shapes):
    with pytest.raises(ValueError) as info:
        build()
    msg = str(info.value)
    assert f"'{op_type}'" in msg
    for s in shapes:
        assert s in msg, f"{s} missing from: {msg}"
