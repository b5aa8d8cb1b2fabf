"""Array ops as a graph-building API: constants, TF 1.x spellings, Python indexing, grouping and errors.

Their numerics over every dtype (strings included), shape and attr are the op-info table's
(test_op_table.py); here are constants and placeholders, the argument spellings and conversions the
table does not vary, shapes known only at run time, and the errors.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf

FLOATS = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
INTS = (tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8)
NUMERIC = FLOATS + INTS
ALL = NUMERIC + (tf.bool, tf.string)
DTYPE_IDS = [d.name for d in ALL]


def make_data(dtype: tf.DType, shape: tuple) -> np.ndarray:
    """Distinct-as-possible values of ``dtype``, exact in that dtype."""
    n = int(np.prod(shape, dtype=np.int64))
    base = np.arange(n)
    if dtype is tf.string:
        return np.array([f"s{v}".encode() for v in base], dtype=object).reshape(shape)
    if dtype is tf.bool:
        return (base % 3 == 0).reshape(shape)
    if dtype.is_floating:
        return ((base - n // 2) * 0.5).astype(dtype.np_dtype).reshape(shape)
    if dtype.is_unsigned:
        return (base % 250).astype(dtype.np_dtype).reshape(shape)
    return (base % 120 - 60).astype(dtype.np_dtype).reshape(shape)


def zero_of(dtype: tf.DType) -> Any:
    return b"" if dtype is tf.string else np.zeros((), dtype.np_dtype)


def assert_same(got: Any, want: Any) -> None:
    want = np.asarray(want, dtype=object) if isinstance(want, bytes) or np.asarray(want).dtype.kind in "OS" \
        else np.asarray(want)
    # String scalars fetch as bytes; everything else as numpy values.
    got = np.asarray(got, dtype=object) if want.dtype == object else np.asarray(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != expected {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    np.testing.assert_array_equal(got, want)


def run(fetch: Any, feed_dict: dict | None = None) -> Any:
    with tf.Session() as sess:
        return sess.run(fetch, feed_dict)


def check(t: tf.Tensor, want: Any) -> None:
    """The static shape and dtype agree with the value, and the value equals numpy's."""
    want = np.asarray(want, dtype=t.dtype.np_dtype) if t.dtype is tf.string else np.asarray(want)
    assert t.dtype.np_dtype == want.dtype
    assert t.shape.is_fully_defined(), f"static shape {t.shape} not fully known"
    assert tuple(t.shape.as_list()) == np.shape(want), f"static shape {t.shape} != {np.shape(want)}"
    assert_same(run(t), want)


# -- creation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 2)], ids=str)
def test_constant_from_numpy_and_nested_lists(dtype, shape):
    x = make_data(dtype, shape)
    check(tf.constant(x), x)
    if x.size or len(shape) == 1:  # tolist() of an empty array loses its inner dimensions
        check(tf.constant(x.tolist(), dtype=dtype), x)


@pytest.mark.parametrize("value, dtype, want", [
    (1.5, None, np.float32(1.5)),
    (7, None, np.int32(7)),
    (2 ** 40, None, np.int64(2 ** 40)),
    (True, None, np.bool_(True)),
    ([1, 2], tf.float64, np.array([1.0, 2.0])),
    ([1, 2], tf.bfloat16, np.array([1, 2], ml_dtypes.bfloat16)),
    ([1.0, 2.0], tf.int32, np.array([1, 2], np.int32)),
    (np.array([1.5, 2.5], np.float64), tf.float16, np.array([1.5, 2.5], np.float16)),
    ([], None, np.zeros((0,), np.float32)),
])
def test_constant_dtypes(value, dtype, want):
    check(tf.constant(value, dtype=dtype), np.asarray(want))


@pytest.mark.parametrize("value", ["Hello", "héllo ✓", b"\x00\xff", ["a", b"b"], [["x"], ["yz"]], ""])
def test_string_constants_fetch_as_utf8_bytes(value):
    def enc(v):
        return [enc(i) for i in v] if isinstance(v, list) else (v.encode() if isinstance(v, str) else v)

    t = tf.constant(value)
    assert t.dtype is tf.string
    check(t, np.array(enc(value), dtype=object))


def test_constant_with_shape_broadcasts_a_scalar_or_reshapes():
    check(tf.constant(5, shape=[2, 2]), np.full((2, 2), 5, np.int32))
    check(tf.constant([1, 2, 3, 4], shape=[2, 2]), np.array([[1, 2], [3, 4]], np.int32))
    check(tf.constant("s", shape=[2]), np.array([b"s", b"s"], dtype=object))


def test_constant_errors_name_the_constant_and_the_problem():
    with pytest.raises(ValueError, match=r"'k'.*3 values.*\[2, 2\]"):
        tf.constant([1, 2, 3], shape=[2, 2], name="k")
    with pytest.raises(TypeError, match=r"'f'.*int32.*floating"):
        tf.constant([1.5], dtype=tf.int32, name="f")
    with pytest.raises(ValueError, match=r"'r'.*range.*int8"):
        tf.constant([300], dtype=tf.int8, name="r")
    with pytest.raises(TypeError, match=r"'s'.*string.*int"):
        tf.constant(["a", 1], name="s")


def test_constant_value_is_immutable_and_fetches_are_copies():
    data = np.array([1.0, 2.0], np.float32)
    c = tf.constant(data)
    data[0] = 99.0  # the constant keeps what it was given
    with tf.Session() as sess:
        out = sess.run(c)
        out[1] = -1.0
        np.testing.assert_array_equal(sess.run(c), [1.0, 2.0])


ZERO_ONE_DTYPES = NUMERIC + (tf.bool,)


@pytest.mark.parametrize("dtype", ALL, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [[], [0], [3], [2, 3]], ids=str)
def test_zeros(dtype, shape):
    check(tf.zeros(shape, dtype), np.full(shape, zero_of(dtype), dtype=dtype.np_dtype))


@pytest.mark.parametrize("dtype", ZERO_ONE_DTYPES, ids=[d.name for d in ZERO_ONE_DTYPES])
@pytest.mark.parametrize("shape", [[], [0], [3], [2, 3]], ids=str)
def test_ones(dtype, shape):
    check(tf.ones(shape, dtype), np.ones(shape, dtype.np_dtype))


def test_zeros_and_ones_defaults_and_shapes_from_tensors():
    check(tf.zeros([2]), np.zeros(2, np.float32))
    check(tf.ones(tf.TensorShape([1, 2])), np.ones((1, 2), np.float32))
    dynamic = tf.zeros(tf.shape(tf.ones([2, 3])), tf.int32)
    assert_same(run(dynamic), np.zeros((2, 3), np.int32))
    mixed = tf.ones([tf.constant(2), 3], tf.int64)
    assert_same(run(mixed), np.ones((2, 3), np.int64))


def test_fill_with_python_value_and_dynamic_dims():
    check(tf.fill([2, 2], 7), np.full((2, 2), 7, np.int32))
    dims = tf.placeholder(tf.int32, [2])
    out = tf.fill(dims, 1.5)
    assert out.shape == [None, None]
    assert_same(run(out, {dims: [1, 3]}), np.full((1, 3), 1.5, np.float32))


def test_zeros_like_ones_like_with_dtype_and_unknown_shapes():
    check(tf.zeros_like([[1, 2]], dtype=tf.float32), np.zeros((1, 2), np.float32))
    check(tf.ones_like([1.5], dtype=tf.int64), np.ones(1, np.int64))
    x = tf.placeholder(tf.float32, [None, 2])
    assert tf.ones_like(x).shape == [None, 2]
    assert_same(run(tf.ones_like(x), {x: np.zeros((3, 2))}), np.ones((3, 2), np.float32))


def test_ones_like_of_strings_is_refused_naming_the_op():
    with pytest.raises(TypeError, match=r"OnesLike.*string"):
        tf.ones_like(tf.constant(["a"]))


@pytest.mark.parametrize("args, kwargs, want", [
    ((5,), {}, np.arange(5, dtype=np.int32)),
    ((3, 1), {}, np.arange(3, 1, dtype=np.int32)),
    ((0, 1, 0.25), {}, np.arange(0, 1, 0.25, dtype=np.float32)),
    ((0.5, 3), {"dtype": tf.float64}, np.arange(0.5, 3, dtype=np.float64)),
    ((4,), {"dtype": tf.int64}, np.arange(4, dtype=np.int64)),
], ids=str)
def test_range_limit_only_and_inferred_dtypes(args, kwargs, want):
    check(tf.range(*args, **kwargs), want)


def test_range_with_tensor_bounds_and_zero_delta():
    out = tf.range(tf.constant(1), tf.placeholder(tf.int32, []), 2)
    assert out.shape == [None]
    assert_same(run(out, {out.op.inputs[1]: 8}), np.arange(1, 8, 2, dtype=np.int32))
    with pytest.raises(ValueError, match="Range.*delta"):
        tf.range(0, 5, 0)


# -- placeholders / identity ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ALL, ids=DTYPE_IDS)
def test_placeholder_feeds_every_dtype(dtype):
    x = make_data(dtype, (2, 2))
    p = tf.placeholder(dtype, [None, 2])
    assert p.dtype is dtype and p.shape == [None, 2]
    assert_same(run(tf.identity(p), {p: x}), x)


# -- data movement over every dtype ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tf.float32, tf.string], ids=lambda d: d.name)
def test_tf1_spellings_of_data_movement(dtype):
    x = make_data(dtype, (2, 3))
    t = tf.constant(x)
    check(tf.reshape(t, tf.TensorShape([3, 2])), x.reshape(3, 2))
    check(tf.expand_dims(t, dim=1), x[:, None])
    check(tf.squeeze(tf.constant(x[:1]), squeeze_dims=[0]), x[0])
    check(tf.concat([t], 1), x)
    check(tf.gather(t, 1), x[1])


def test_pad_with_a_python_constant_value():
    check(tf.pad([1, 2], [[1, 1]], constant_values=9), np.array([9, 1, 2, 9], np.int32))


def test_unstack_of_a_vector_gives_scalars_and_needs_known_num():
    x = make_data(tf.string, (2,))
    got = run(tf.unstack(tf.constant(x)))
    assert got == [b"s0", b"s1"]
    with pytest.raises(ValueError, match="num"):
        tf.unstack(tf.placeholder(tf.float32, [None]))
    parts = tf.unstack(tf.placeholder(tf.float32, [None], name="p"), num=2)
    assert len(parts) == 2


def test_string_elements_stay_strings_through_later_ops():
    # Elements taken out of a string tensor feed other ops; they must stay object-dtype tensors,
    # not become fixed-width numpy bytes.
    t = tf.constant(["ab", "c"])
    want = np.array([b"ab", b"c"], dtype=object)
    check(tf.stack([t[0], t[1]]), want)
    check(tf.stack(tf.unstack(t)), want)
    check(tf.stack([tf.gather(t, 0), tf.gather(t, 1)]), want)
    check(tf.concat([tf.expand_dims(x, 0) for x in tf.unstack(t)], 0), want)
    check(tf.stack([tf.where(True, t[0], t[1]), t[1]]), want)


# -- slicing --------------------------------------------------------------------------------------------------
def test_getitem_on_partially_known_shapes_and_variables():
    p = tf.placeholder(tf.float32, [None, 5])
    out = p[:, 1:3]
    assert out.shape == [None, 2]
    x = make_data(tf.float32, (3, 5))
    assert_same(run(out, {p: x}), x[:, 1:3])
    v = tf.Variable(x)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert_same(sess.run(v[1, ::-2]), x[1, ::-2])


def test_getitem_with_tensor_indices():
    x = make_data(tf.int32, (4, 5))
    i = tf.placeholder(tf.int32, [])
    t = tf.constant(x)
    assert_same(run(t[i], {i: 2}), x[2])
    assert_same(run(t[1:i, i], {i: 3}), x[1:3, 3])


@pytest.mark.parametrize("bad", [1.5, True, np.array([0.5])], ids=repr)
def test_getitem_rejects_non_integer_indices_naming_them(bad):
    with pytest.raises(TypeError, match="indices"):
        tf.constant([1, 2, 3])[bad]


def test_getitem_zero_step_is_refused():
    with pytest.raises(ValueError, match="step"):
        tf.constant([1, 2, 3])[::0]


def test_strided_slice_default_strides():
    x = make_data(tf.int32, (6,))
    check(tf.strided_slice(x, [1], [4]), x[1:4])


# -- introspection ----------------------------------------------------------------------------------------------
def test_shape_size_rank_of_fed_tensors():
    p = tf.placeholder(tf.float32)
    q = tf.placeholder(tf.float32, [None, 3])
    data = np.zeros((2, 3), np.float32)
    assert tf.shape(q).shape == [2] and tf.rank(p).shape == []
    got = run([tf.shape(p), tf.size(p), tf.rank(p), tf.shape(q)], {p: data, q: data})
    assert_same(got[0], np.array([2, 3], np.int32))
    assert got[1] == 6 and got[2] == 2
    assert_same(got[3], np.array([2, 3], np.int32))


# -- one_hot --------------------------------------------------------------------------------------------------
def np_one_hot(indices: np.ndarray, depth: int, on: Any, off: Any, axis: int, dtype: np.dtype) -> np.ndarray:
    out = np.full(indices.shape + (depth,), off, dtype=dtype)
    for pos in np.ndindex(indices.shape):
        if 0 <= indices[pos] < depth:
            out[pos + (int(indices[pos]),)] = on
    return out if axis == -1 else np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("index_dtype", [tf.int32, tf.int64, tf.uint8], ids=lambda d: d.name)
def test_one_hot_defaults_and_index_dtypes(index_dtype):
    idx = np.array([[0, 2], [1, 1]], index_dtype.np_dtype)
    check(tf.one_hot(tf.constant(idx), 3), np_one_hot(idx, 3, 1.0, 0.0, -1, np.dtype(np.float32)))
    check(tf.one_hot(idx, 4, axis=1), np_one_hot(idx, 4, 1.0, 0.0, 1, np.dtype(np.float32)))


def test_one_hot_dtype_follows_tensor_on_value():
    out = tf.one_hot([0, 1], 2, on_value=tf.constant(3.0, tf.float64), off_value=0.5)
    assert out.dtype is tf.float64
    check(out, np.array([[3.0, 0.5], [0.5, 3.0]]))


# -- no_op / group / tuple ------------------------------------------------------------------------------------
def _counter(name: str) -> tuple:
    v = tf.Variable(0, name=name)
    return v, tf.assign_add(v, 1)


def test_no_op_is_an_operation_that_fetches_none():
    op = tf.no_op(name="nothing")
    assert isinstance(op, tf.Operation) and op.type == "NoOp" and op.name == "nothing" and op.outputs == []
    assert run(op) is None


def test_group_runs_all_inputs_and_fetches_none():
    (a, inc_a), (b, inc_b), (c, inc_c) = _counter("a"), _counter("b"), _counter("c")
    g = tf.group(inc_a, [inc_b.op, inc_c], name="all")
    assert g.type == "NoOp" and g.name == "all"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(g) is None
        sess.run(g)
        assert sess.run([a, b, c]) == [2, 2, 2]


def test_group_rejects_non_ops_naming_the_value():
    with pytest.raises(TypeError, match="17"):
        tf.group(17)


def test_tuple_returns_values_gated_on_all_inputs():
    (_, inc_a), (b, inc_b) = _counter("a"), _counter("b")
    x, y = tf.tuple([inc_a, inc_b])
    assert x.op.type == "Identity" and x.op.control_inputs and x.op.control_inputs == y.op.control_inputs
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(x) == 1
        assert sess.run(b) == 1  # fetching x alone still ran inc_b
        assert sess.run([x, y]) == [2, 2]


def test_tuple_with_none_entries_and_extra_control_inputs():
    (c, inc_c) = _counter("c")
    out = tf.tuple([tf.constant(1), None, tf.constant(2.0)], control_inputs=[inc_c])
    assert out[1] is None
    with tf.Session() as sess:
        sess.run(c.initializer)
        assert sess.run([out[0], out[2]]) == [1, 2.0]
        assert sess.run(c) == 1


# -- shape inference errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("build, op_type, parts", [
    (lambda: tf.reshape(tf.zeros([2, 3]), [4, -1]), "Reshape", ["(2, 3)", "[4, -1]"]),
    (lambda: tf.reshape(tf.zeros([2, 3]), [5]), "Reshape", ["(2, 3)", "[5]"]),
    (lambda: tf.reshape(tf.zeros([2, 3]), [-1, -1]), "Reshape", ["[-1, -1]"]),
    (lambda: tf.transpose(tf.zeros([2, 3]), [0, 0]), "Transpose", ["(2, 3)", "[0, 0]"]),
    (lambda: tf.expand_dims(tf.zeros([2, 3]), 4), "ExpandDims", ["(2, 3)", "axis 4"]),
    (lambda: tf.squeeze(tf.zeros([2, 3]), axis=[1]), "Squeeze", ["(2, 3)", "dimension 1"]),
    (lambda: tf.concat([tf.zeros([2, 3]), tf.zeros([2, 4])], 0), "ConcatV2", ["(2, 3)", "(2, 4)"]),
    (lambda: tf.concat([tf.zeros([2, 3]), tf.zeros([2])], 0), "ConcatV2", ["(2, 3)", "(2,)"]),
    (lambda: tf.concat([tf.zeros([2, 3]), tf.zeros([2, 3])], 2), "ConcatV2", ["axis 2", "rank 2"]),
    (lambda: tf.stack([tf.zeros([2]), tf.zeros([3])]), "Pack", ["(2,)", "(3,)"]),
    (lambda: tf.unstack(tf.zeros([2, 3]), num=3), "Unpack", ["(2, 3)", "3"]),
    (lambda: tf.split(tf.zeros([2, 3]), 2, axis=1), "Split", ["(2, 3)", "num_split=2"]),
    (lambda: tf.split(tf.zeros([2, 3]), [1, 1], axis=1), "SplitV", ["(2, 3)", "[1, 1]"]),
    (lambda: tf.tile(tf.zeros([2, 3]), [1, 2, 3]), "Tile", ["(2, 3)", "3 entries"]),
    (lambda: tf.pad(tf.zeros([2, 3]), [[1, 2]]), "Pad", ["(2, 3)", "[1, 2]"]),
    (lambda: tf.gather(tf.zeros([2, 3]), [0], axis=3), "GatherV2", ["axis 3", "rank 2"]),
    (lambda: tf.zeros([3])[5], "StridedSlice", ["index 5", "size 3"]),
    (lambda: tf.zeros([3])[1, 2], "StridedSlice", ["rank 1"]),
    (lambda: tf.zeros([3, 4])[..., 1, ...], "StridedSlice", ["ellipsis"]),
    (lambda: tf.where(tf.zeros([2], tf.bool), tf.zeros([2, 3]), 0.0), "SelectV2", ["(2,)", "(2, 3)"]),
])
def test_incompatible_shapes_raise_at_build_time_naming_op_and_shapes(build, op_type, parts):
    with pytest.raises(ValueError) as info:
        build()
    msg = str(info.value)
    assert f"'{op_type}'" in msg
    for p in parts:
        assert p in msg, f"{p!r} missing from: {msg}"


@pytest.mark.parametrize("build, feed, parts", [
    (lambda p: tf.gather(tf.constant([1, 2, 3]), p, name="g"), [0, 3], ["'g'", "index 3", "[0, 3)"]),
    (lambda p: tf.slice(tf.zeros([3]), p, [2], name="s"), [2], ["'s'", "[2]", "[3]"]),
    (lambda p: tf.reshape(tf.zeros([6]), p, name="r"), [4, 2], ["'r'", "(6,)", "[4, 2]"]),
])
def test_run_time_shape_errors_name_the_op_and_values(build, feed, parts):
    p = tf.placeholder(tf.int32, [None])
    out = build(p)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        run(out, {p: feed})
    msg = str(info.value)
    for part in parts:
        assert part in msg, f"{part!r} missing from: {msg}"
