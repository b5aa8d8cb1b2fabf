"""Math ops against numpy: every op over broadcasting/empty/scalar shapes and every dtype it admits.

One op-info table per family (elementwise binary, elementwise unary, reductions) says which numpy
function is the reference, which dtypes the op admits and which value domain each input is drawn from.
Low-precision floats are compared with a reference computed in float32 and rounded once.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf

FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
SIGNED_INTS = (tf.int8, tf.int16, tf.int32, tf.int64)
INTS = SIGNED_INTS + (tf.uint8,)
NUMERIC = FLOATS + INTS
SIGNED = FLOATS + SIGNED_INTS
ALL = NUMERIC + (tf.bool, tf.string)
LOW_PRECISION = (tf.float16, tf.bfloat16)

# (rtol, atol) per result numpy dtype; bfloat16 has 8 significant bits, float16 11.
TOLERANCE = {
    np.dtype(np.float16): (2e-3, 1e-3),
    np.dtype(ml_dtypes.bfloat16): (1.6e-2, 1e-2),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-12, 1e-12),
}


# -- inputs ----------------------------------------------------------------------------------------
def _floats(rng: np.random.Generator, domain: str, shape: tuple) -> np.ndarray:
    # Values on coarse grids are exact in bfloat16, so references do not depend on input rounding.
    if domain == "any":
        return np.round(rng.uniform(-4, 4, shape) * 8) / 8
    if domain == "coarse":
        return rng.integers(-2, 3, shape).astype(np.float64)
    if domain == "pos":
        return np.round(rng.uniform(0.25, 4, shape) * 8) / 8
    if domain == "small":
        return np.round(rng.uniform(-3, 3, shape) * 8) / 8
    if domain == "gt-1":
        return np.round(rng.uniform(-0.75, 4, shape) * 8) / 8
    if domain == "dividend":
        return rng.integers(-16, 17, shape) / 2.0
    if domain == "divisor":
        return rng.choice([-3.0, -2.0, -1.5, -0.5, 0.5, 1.5, 2.0, 3.0], shape)
    if domain == "base":
        return np.round(rng.uniform(0.5, 2.5, shape) * 8) / 8
    if domain == "exponent":
        return np.round(rng.uniform(-2, 2, shape) * 4) / 4
    if domain == "halves":
        return rng.integers(-8, 9, shape) / 2.0
    if domain == "prod":
        return rng.choice([-1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0], shape)
    raise AssertionError(domain)


def _ints(rng: np.random.Generator, domain: str, shape: tuple, unsigned: bool) -> np.ndarray:
    low = 0
    if domain in ("any", "small", "halves"):
        low, high = (0, 40) if unsigned else (-20, 20)
    elif domain == "coarse":
        low, high = (0, 4) if unsigned else (-2, 2)
    elif domain in ("pos", "gt-1"):
        low, high = 1, 20
    elif domain == "dividend":
        low, high = (0, 100) if unsigned else (-50, 50)
    elif domain == "divisor":
        values = np.array([1, 2, 3, 7] if unsigned else [-7, -3, -2, -1, 1, 2, 3, 7])
        return rng.choice(values, shape)
    elif domain == "base":
        low, high = (0, 3) if unsigned else (-3, 3)
    elif domain == "exponent":
        low, high = 0, 3
    elif domain == "prod":
        low, high = (0, 2) if unsigned else (-2, 2)
    else:
        raise AssertionError(domain)
    return rng.integers(low, high + 1, shape)


def make_input(dtype: tf.DType, shape: tuple, domain: str = "any", seed: int = 0) -> np.ndarray:
    """A deterministic numpy array of ``dtype`` and ``shape`` drawn from ``domain``."""
    rng = np.random.default_rng(seed)
    if dtype is tf.bool:
        return rng.random(shape) < 0.5
    if dtype is tf.string:
        words = np.array([b"", b"a", b"bc", b"a"], dtype=object)
        return words[rng.integers(0, len(words), shape)] if shape else np.array(b"a", dtype=object)
    # asarray: for shape () the generators return numpy scalars, not 0-d arrays.
    if dtype.is_floating:
        return np.asarray(_floats(rng, domain, shape)).astype(dtype.np_dtype)
    return np.asarray(_ints(rng, domain, shape, dtype.is_unsigned)).astype(dtype.np_dtype)


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


def check_op_output(t: tf.Tensor, want: np.ndarray) -> None:
    """Static dtype and shape agree with the computed value, and the value matches numpy."""
    got = run(t)
    assert t.dtype.np_dtype == want.dtype
    assert t.shape.is_fully_defined() and tuple(t.shape.as_list()) == want.shape
    assert_matches(got, want)


# -- op-info tables --------------------------------------------------------------------------------
class OpInfo(NamedTuple):
    name: str
    fn: Callable
    ref: Callable
    dtypes: tuple
    domains: tuple = ("any", "any")
    out: Callable | None = None  # input dtype -> output numpy dtype; None: the input dtype
    rejects: tuple = (tf.bool, tf.string)


def _bool_out(dtype: tf.DType) -> np.dtype:
    return np.dtype(np.bool_)


def _truediv_out(dtype: tf.DType) -> np.dtype:
    if dtype in (tf.int32, tf.int64):
        return np.dtype(np.float64)
    if dtype.is_integer:
        return np.dtype(np.float32)
    return dtype.np_dtype


NON_FLOAT = INTS + (tf.bool, tf.string)
NON_BOOL = NUMERIC + (tf.string,)

BINARY = [
    OpInfo("add", tf.add, np.add, NUMERIC),
    OpInfo("subtract", tf.subtract, np.subtract, NUMERIC),
    OpInfo("multiply", tf.multiply, np.multiply, NUMERIC),
    OpInfo("divide", tf.divide, np.true_divide, NUMERIC, ("any", "divisor"), _truediv_out),
    OpInfo("truediv", tf.truediv, np.true_divide, NUMERIC, ("any", "divisor"), _truediv_out),
    OpInfo("floordiv", tf.floordiv, np.floor_divide, NUMERIC, ("dividend", "divisor")),
    OpInfo("mod", tf.mod, np.mod, NUMERIC, ("dividend", "divisor")),
    OpInfo("pow", tf.pow, np.power, NUMERIC, ("base", "exponent")),
    OpInfo("maximum", tf.maximum, np.maximum, NUMERIC),
    OpInfo("minimum", tf.minimum, np.minimum, NUMERIC),
    OpInfo("squared_difference", tf.squared_difference, lambda x, y: np.square(x - y), SIGNED, ("coarse", "coarse")),
    OpInfo("equal", tf.equal, np.equal, ALL, ("coarse", "coarse"), _bool_out, ()),
    OpInfo("not_equal", tf.not_equal, np.not_equal, ALL, ("coarse", "coarse"), _bool_out, ()),
    OpInfo("less", tf.less, np.less, NUMERIC, ("coarse", "coarse"), _bool_out),
    OpInfo("less_equal", tf.less_equal, np.less_equal, NUMERIC, ("coarse", "coarse"), _bool_out),
    OpInfo("greater", tf.greater, np.greater, NUMERIC, ("coarse", "coarse"), _bool_out),
    OpInfo("greater_equal", tf.greater_equal, np.greater_equal, NUMERIC, ("coarse", "coarse"), _bool_out),
    OpInfo("logical_and", tf.logical_and, np.logical_and, (tf.bool,), rejects=NON_BOOL),
    OpInfo("logical_or", tf.logical_or, np.logical_or, (tf.bool,), rejects=NON_BOOL),
]

UNARY = [
    OpInfo("negative", tf.negative, np.negative, SIGNED, ("any",)),
    OpInfo("abs", tf.abs, np.abs, SIGNED, ("any",)),
    OpInfo("square", tf.square, np.square, NUMERIC, ("any",)),
    OpInfo("sqrt", tf.sqrt, np.sqrt, FLOATS, ("pos",), rejects=NON_FLOAT),
    OpInfo("rsqrt", tf.rsqrt, lambda x: 1 / np.sqrt(x), FLOATS, ("pos",), rejects=NON_FLOAT),
    OpInfo("exp", tf.exp, np.exp, FLOATS, ("small",), rejects=NON_FLOAT),
    OpInfo("log", tf.log, np.log, FLOATS, ("pos",), rejects=NON_FLOAT),
    OpInfo("log1p", tf.log1p, np.log1p, FLOATS, ("gt-1",), rejects=NON_FLOAT),
    OpInfo("sign", tf.sign, np.sign, SIGNED, ("coarse",)),
    OpInfo("reciprocal", tf.reciprocal, lambda x: 1 / x, FLOATS, ("divisor",), rejects=NON_FLOAT),
    OpInfo("floor", tf.floor, np.floor, FLOATS, ("halves",), rejects=NON_FLOAT),
    OpInfo("ceil", tf.ceil, np.ceil, FLOATS, ("halves",), rejects=NON_FLOAT),
    OpInfo("round", tf.round, np.round, NUMERIC, ("halves",)),  # half to even, as TF
    OpInfo("logical_not", tf.logical_not, np.logical_not, (tf.bool,), ("any",), rejects=NON_BOOL),
]

BINARY_SHAPES = [((), ()), ((4,), ()), ((), (3,)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((0, 3), (1, 3)),
                 ((2, 0), ())]
UNARY_SHAPES = [(), (5,), (2, 3), (0, 4), (2, 0, 3)]


def _cases(table: list) -> list:
    return [pytest.param(info, dtype, id=f"{info.name}-{dtype.name}") for info in table for dtype in info.dtypes]


def _rejected(table: list) -> list:
    return [pytest.param(info, dtype, id=f"{info.name}-{dtype.name}") for info in table for dtype in info.rejects]


def _out_dtype(info: OpInfo, dtype: tf.DType) -> np.dtype:
    return dtype.np_dtype if info.out is None else info.out(dtype)


# -- elementwise binary ------------------------------------------------------------------------------
@pytest.mark.parametrize("info, dtype", _cases(BINARY))
def test_binary_op_matches_numpy(info, dtype):
    for i, (sa, sb) in enumerate(BINARY_SHAPES):
        tf.reset_default_graph()
        a = make_input(dtype, sa, info.domains[0], seed=i)
        b = make_input(dtype, sb, info.domains[1], seed=100 + i)
        out = info.fn(tf.constant(a, dtype=dtype), tf.constant(b, dtype=dtype))
        try:
            check_op_output(out, reference(info.ref, [a, b], _out_dtype(info, dtype)))
        except AssertionError as exc:
            raise AssertionError(f"{info.name} on {dtype.name} shapes {sa} and {sb}: {exc}") from None


@pytest.mark.parametrize("info", [pytest.param(i, id=i.name) for i in BINARY])
def test_binary_op_through_placeholders_of_unknown_dims(info):
    dtype = info.dtypes[0] if tf.float32 not in info.dtypes else tf.float32
    a = make_input(dtype, (2, 3), info.domains[0], seed=1)
    b = make_input(dtype, (3,), info.domains[1], seed=2)
    x = tf.placeholder(dtype, [None, 3])
    y = tf.placeholder(dtype, None)
    out = info.fn(x, y)
    assert out.shape.rank is None or out.shape.is_compatible_with([2, 3])
    assert_matches(run(out, {x: a, y: b}), reference(info.ref, [a, b], _out_dtype(info, dtype)))


@pytest.mark.parametrize("info, dtype", _rejected(BINARY))
def test_binary_op_rejects_dtype_naming_op_and_dtype(info, dtype):
    a = tf.constant(make_input(dtype, (2,)), dtype=dtype)
    with pytest.raises(TypeError) as exc:
        info.fn(a, a)
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
@pytest.mark.parametrize("info, dtype", _cases(UNARY))
def test_unary_op_matches_numpy(info, dtype):
    for i, shape in enumerate(UNARY_SHAPES):
        tf.reset_default_graph()
        x = make_input(dtype, shape, info.domains[0], seed=i)
        out = info.fn(tf.constant(x, dtype=dtype))
        try:
            check_op_output(out, reference(info.ref, [x], _out_dtype(info, dtype)))
        except AssertionError as exc:
            raise AssertionError(f"{info.name} on {dtype.name} shape {shape}: {exc}") from None


@pytest.mark.parametrize("info, dtype", _rejected(UNARY))
def test_unary_op_rejects_dtype_naming_op_and_dtype(info, dtype):
    with pytest.raises(TypeError) as exc:
        info.fn(tf.constant(make_input(dtype, (2,)), dtype=dtype))
    assert dtype.name in str(exc.value) and "Op '" in str(exc.value)


@pytest.mark.filterwarnings("error")
def test_unary_float_ops_outside_their_domain_give_nan_and_inf():
    out = run([tf.sqrt(-1.0), tf.log(0.0), tf.log(-1.0), tf.rsqrt(0.0), tf.log1p(-1.0)])
    assert np.isnan(out[0]) and out[1] == -np.inf and np.isnan(out[2]) and out[3] == np.inf and out[4] == -np.inf


# -- where ----------------------------------------------------------------------------------------------
WHERE_SHAPES = [((), (), ()), ((4,), (4,), (4,)), ((2, 1), (3,), ()), ((0, 2), (2,), (1, 2)), ((3,), (2, 3), (2, 1))]


@pytest.mark.parametrize("dtype", ALL, ids=lambda d: d.name)
def test_where_selects_with_broadcasting(dtype):
    for i, (sc, sx, sy) in enumerate(WHERE_SHAPES):
        tf.reset_default_graph()
        c = make_input(tf.bool, sc, seed=i)
        x, y = make_input(dtype, sx, seed=10 + i), make_input(dtype, sy, seed=20 + i)
        out = tf.where(tf.constant(c), tf.constant(x, dtype=dtype), tf.constant(y, dtype=dtype))
        want = np.where(c, x, y).astype(dtype.np_dtype)
        check_op_output(out, want)


@pytest.mark.parametrize("shape", [(5,), (2, 3), (0, 2), (2, 2, 2)])
def test_where_without_values_returns_true_coordinates(shape):
    c = make_input(tf.bool, shape, seed=3)
    out = tf.where(c)
    assert out.dtype is tf.int64 and out.shape.is_compatible_with([None, len(shape)])
    assert_matches(run(out), np.argwhere(c).astype(np.int64))


def test_where_needs_both_values_or_neither():
    with pytest.raises(ValueError, match="both x and y"):
        tf.where([True], [1])


# -- cast -------------------------------------------------------------------------------------------------
CASTABLE = NUMERIC + (tf.bool,)


def _cast_source(src: tf.DType, dst: tf.DType) -> np.ndarray:
    rng = np.random.default_rng(7)
    if src is tf.bool:
        return rng.random(8) < 0.5
    negatives = not src.is_unsigned and not dst.is_unsigned
    values = np.round(rng.uniform(-100 if negatives else 0, 100, 8) * 4) / 4
    values[:2] = [0.0, 1.0]
    return values.astype(src.np_dtype)


@pytest.mark.parametrize("src, dst", [pytest.param(s, d, id=f"{s.name}-to-{d.name}")
                                      for s, d in itertools.product(CASTABLE, CASTABLE)])
def test_cast_matches_numpy_astype(src, dst):
    x = _cast_source(src, dst)
    out = tf.cast(tf.constant(x, dtype=src), dst)
    assert out.dtype is dst
    check_op_output(out, x.astype(dst.np_dtype))


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
MATMUL_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64, tf.int32, tf.int64)
MATMUL_CASES = [
    ((2, 3), (3, 4), False, False),
    ((3, 2), (3, 4), True, False),
    ((2, 3), (4, 3), False, True),
    ((3, 2), (4, 3), True, True),
    ((1, 1), (1, 1), False, False),
    ((0, 3), (3, 2), False, False),
    ((2, 0), (0, 3), False, False),
    ((5, 2, 3), (5, 3, 4), False, False),
    ((5, 2, 3), (3, 4), False, False),
    ((2, 1, 2, 3), (4, 3, 2), False, False),
    ((5, 3, 2), (5, 4, 3), True, True),
]


def _t(x: np.ndarray, transpose: bool) -> np.ndarray:
    return np.swapaxes(x, -1, -2) if transpose else x


@pytest.mark.parametrize("dtype", MATMUL_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("sa, sb, ta, tb", MATMUL_CASES, ids=lambda v: str(v))
def test_matmul_matches_numpy(dtype, sa, sb, ta, tb):
    a = make_input(dtype, sa, "coarse", seed=1)
    b = make_input(dtype, sb, "coarse", seed=2)
    out = tf.matmul(tf.constant(a, dtype=dtype), tf.constant(b, dtype=dtype), transpose_a=ta, transpose_b=tb)
    check_op_output(out, reference(lambda x, y: np.matmul(_t(x, ta), _t(y, tb)), [a, b], dtype.np_dtype))


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
def _np_mean(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis).astype(int).tolist()
    count = int(np.prod([x.shape[a] for a in axes]))
    if x.dtype.kind in "iu":
        # TF's integer mean divides the integer sum by the count, truncating toward zero.
        return np.trunc(np.sum(x.astype(np.int64), axis=axis, keepdims=keepdims) / count)
    with np.errstate(all="ignore"):
        return np.sum(x, axis=axis, keepdims=keepdims) / count


def _lowest(x: np.ndarray) -> Any:
    return -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min


def _highest(x: np.ndarray) -> Any:
    return np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).max


REDUCTIONS = [
    OpInfo("reduce_sum", tf.reduce_sum, lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims, dtype=x.dtype),
           NUMERIC, ("any",)),
    OpInfo("reduce_mean", tf.reduce_mean, _np_mean, NUMERIC, ("any",)),
    OpInfo("reduce_max", tf.reduce_max,
           lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims, initial=_lowest(x)), NUMERIC, ("any",)),
    OpInfo("reduce_min", tf.reduce_min,
           lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims, initial=_highest(x)), NUMERIC, ("any",)),
    OpInfo("reduce_prod", tf.reduce_prod,
           lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims, dtype=x.dtype), NUMERIC, ("prod",)),
    OpInfo("reduce_any", tf.reduce_any, lambda x, axis, keepdims: np.any(x, axis=axis, keepdims=keepdims), (tf.bool,),
           rejects=NON_BOOL),
    OpInfo("reduce_all", tf.reduce_all, lambda x, axis, keepdims: np.all(x, axis=axis, keepdims=keepdims), (tf.bool,),
           rejects=NON_BOOL),
]

REDUCTION_CASES = [
    ((), None), ((5,), None), ((5,), 0), ((2, 3), None), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1),
    ((2, 3, 4), (0, 2)), ((2, 3, 4), [-1, 0]), ((2, 3), []), ((0, 3), 0), ((0, 3), 1), ((2, 0), None),
]


def _np_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


@pytest.mark.parametrize("keepdims", [False, True], ids=["drop", "keep"])
@pytest.mark.parametrize("info, dtype", _cases(REDUCTIONS))
def test_reduction_matches_numpy(info, dtype, keepdims):
    for i, (shape, axis) in enumerate(REDUCTION_CASES):
        if info.name == "reduce_mean" and dtype.is_integer and 0 in shape:
            continue  # an integer mean of nothing divides by zero; TF leaves the value undefined
        tf.reset_default_graph()
        x = make_input(dtype, shape, info.domains[0], seed=i)
        out = info.fn(tf.constant(x, dtype=dtype), axis=axis, keepdims=keepdims)
        try:
            want = reference(info.ref, [x, _np_axis(axis), keepdims], dtype.np_dtype)
            check_op_output(out, want)
        except AssertionError as exc:
            raise AssertionError(f"{info.name} on {dtype.name} shape {shape} axis {axis}: {exc}") from None


@pytest.mark.parametrize("info", [pytest.param(i, id=i.name) for i in REDUCTIONS])
def test_reduction_tf1_spellings(info):
    dtype = info.dtypes[0] if tf.float32 not in info.dtypes else tf.float32
    x = make_input(dtype, (2, 3, 4), info.domains[0], seed=5)
    old = info.fn(x, reduction_indices=[1], keep_dims=True)
    new = info.fn(x, axis=[1], keepdims=True)
    assert old.shape == new.shape == [2, 1, 4]
    assert_matches(run(old), run(new))
    with pytest.raises(ValueError, match="axis or reduction_indices"):
        info.fn(x, axis=0, reduction_indices=0)


@pytest.mark.parametrize("info, dtype", _rejected(REDUCTIONS))
def test_reduction_rejects_dtype_naming_op_and_dtype(info, dtype):
    with pytest.raises(TypeError) as exc:
        info.fn(tf.constant(make_input(dtype, (2,)), dtype=dtype))
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
ARG_CASES = [((5,), 0), ((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((2, 3, 4), 1), ((3, 0), 0)]


@pytest.mark.parametrize("output_type", [tf.int32, tf.int64], ids=lambda d: d.name)
@pytest.mark.parametrize("fn, np_fn", [(tf.argmax, np.argmax), (tf.argmin, np.argmin)], ids=["argmax", "argmin"])
@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: d.name)
def test_argmax_argmin_match_numpy(fn, np_fn, dtype, output_type):
    for i, (shape, axis) in enumerate(ARG_CASES):
        tf.reset_default_graph()
        x = make_input(dtype, shape, seed=i)
        out = fn(tf.constant(x, dtype=dtype), axis=axis, output_type=output_type)
        assert out.dtype is output_type
        check_op_output(out, np_fn(x, axis=axis).astype(output_type.np_dtype))


def test_argmax_defaults_and_dimension_spelling():
    x = np.array([[1, 9], [8, 2]], np.int32)
    assert tf.argmax(x).dtype is tf.int64
    assert_matches(run(tf.argmax(x)), np.array([1, 0], np.int64))
    assert_matches(run(tf.argmin(x, dimension=1)), np.array([0, 1], np.int64))


def test_argmax_of_an_empty_axis_is_an_error_naming_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match="am"):
        run(tf.argmax(tf.zeros([0, 3]), axis=0, name="am"))


# -- add_n ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: d.name)
def test_add_n_matches_numpy_sum(dtype):
    xs = [make_input(dtype, (2, 3), seed=i) for i in range(3)]
    out = tf.add_n([tf.constant(x, dtype=dtype) for x in xs])
    check_op_output(out, reference(lambda *v: v[0] + v[1] + v[2], xs, dtype.np_dtype))


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
