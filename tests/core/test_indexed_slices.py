"""tf.IndexedSlices: the gradients of gather/embedding_lookup, their aggregation and densifying, as TF 1.15."""

import warnings

import numpy as np
import pytest

import tensorflux as tf

PARAMS = np.arange(12, dtype=np.float32).reshape(4, 3)


def _gather_loss(t, params, ids, axis=0):
    scale = t.constant(np.linspace(0.5, 2.0, 3 * len(ids), dtype=np.float32).reshape(3, len(ids)).T
                       if axis == 0 else np.ones((4, len(ids)), np.float32))
    return t.reduce_sum(t.gather(params, ids, axis=axis) * scale)


def _grad_parts(t, build):
    """(type name, [values, indices, dense_shape] or [dense]) of the gradient that ``build(t)`` returns."""
    g = build(t)
    sparse = type(g).__name__ == "IndexedSlices"
    fetches = [g.values, g.indices, g.dense_shape] if sparse else [g]
    with t.Session() as sess:
        return "IndexedSlices" if sparse else "dense", sess.run(fetches)


def _in_tf(tfr, build):
    with tfr.Graph().as_default():
        return _grad_parts(tfr, build)


def _gather_grad(axis):
    def build(t):
        params = t.constant(PARAMS)
        return t.gradients(_gather_loss(t, params, [2, 0, 2], axis), params)[0]

    return build


@pytest.mark.parametrize("axis", [0, 1])
def test_gather_gradient_type_and_values_match_tensorflow(tfr, axis):
    expected, got = _in_tf(tfr, _gather_grad(axis)), _grad_parts(tf, _gather_grad(axis))
    assert got[0] == expected[0] == ("IndexedSlices" if axis == 0 else "dense")
    for a, b in zip(expected[1], got[1]):
        np.testing.assert_array_equal(b, a)


def _two_lookups(t):
    w = t.Variable(PARAMS, use_resource=False) if t is not tf else t.Variable(PARAMS)
    loss = t.reduce_sum(t.nn.embedding_lookup(w, [3, 1])) + t.reduce_sum(t.nn.embedding_lookup(w, [[1], [0]]) * 2.0)
    g = t.gradients(loss, w)[0]
    with t.Session() as sess:
        sess.run(t.global_variables_initializer())
        return type(g).__name__, sess.run([g.values, g.indices, g.dense_shape])


def test_sparse_gradients_of_one_variable_are_concatenated_as_in_tensorflow(tfr):
    with tfr.Graph().as_default():
        expected = _two_lookups(tfr)
    got = _two_lookups(tf)
    assert got[0] == expected[0] == "IndexedSlices"
    # the order of the concatenated parts follows the order the gradients were recorded in: compare densified
    dense = [np.zeros_like(PARAMS), np.zeros_like(PARAMS)]
    for d, (values, indices, shape) in zip(dense, (expected[1], got[1])):
        np.add.at(d, indices, values)
        assert list(shape) == [4, 3]
    np.testing.assert_array_equal(dense[1], dense[0])


def _mixed(t):
    params = t.constant(PARAMS)
    return t.gradients(t.reduce_sum(t.gather(params, [1, 1])) + t.reduce_sum(params * params), params)[0]


def test_a_mix_of_sparse_and_dense_gradients_is_dense_as_in_tensorflow(tfr):
    expected, got = _in_tf(tfr, _mixed), _grad_parts(tf, _mixed)
    assert got[0] == expected[0] == "dense"
    np.testing.assert_array_equal(got[1][0], expected[1][0])


def _densify_unknown_shape(t):
    params = t.placeholder(t.float32, [None, 3])
    g = t.gradients(t.reduce_sum(t.gather(params, [2, 0, 2])), params)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dense = t.convert_to_tensor(g)
    with t.Session() as sess:
        value = sess.run(dense, {params: PARAMS})
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)], value


def test_densifying_an_unknown_shape_warns_as_tensorflow_1_15(tfr):
    # TF 1.15 warns here; TF 2.21 dropped this one warning (it keeps the large-shape one), so the values are
    # compared with TF 2.21 and the message with TF 1.15's text.
    with tfr.Graph().as_default():
        _, expected = _densify_unknown_shape(tfr)
    messages, value = _densify_unknown_shape(tf)
    assert messages == ["Converting sparse IndexedSlices to a dense Tensor of unknown shape. This may consume a large "
                        "amount of memory."]
    np.testing.assert_array_equal(value, expected)


def test_densifying_a_small_known_shape_does_not_warn():
    g = tf.gradients(tf.reduce_sum(tf.gather(tf.constant(PARAMS), [1])), tf.constant(0.0))[0]
    assert g is None
    params = tf.constant(PARAMS)
    g = tf.gradients(tf.reduce_sum(tf.gather(params, [1, 1])), params)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dense = tf.convert_to_tensor(g)
    expected = np.zeros_like(PARAMS)
    expected[1] = 2.0
    np.testing.assert_array_equal(tf.Session().run(dense), expected)


def _densify_large(t):
    rows = t.IndexedSlices(t.constant([[1.0]]), t.constant([0]), t.constant([100_000_000, 1]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t.convert_to_tensor(rows)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_densifying_a_large_shape_warns_as_tensorflow(tfr):
    with tfr.Graph().as_default():
        expected = _densify_large(tfr)
    assert _densify_large(tf) == expected
    assert expected == ["Converting sparse IndexedSlices to a dense Tensor with 100000000 elements. This may consume a "
                        "large amount of memory."]


def test_indexed_slices_attributes():
    values, indices, shape = tf.constant([[1.0, 2.0]]), tf.constant([1]), tf.constant([3, 2])
    s = tf.IndexedSlices(values, indices, shape)
    assert (s.values, s.indices, s.dense_shape) == (values, indices, shape)
    assert (s.dtype, s.name, s.op, s.graph) == (tf.float32, values.name, values.op, values.graph)
    assert s.shape.as_list() == [3, 2]
    with pytest.raises(TypeError, match="IndexedSlices takes values and indices as Tensors"):
        tf.IndexedSlices([1.0], indices)


def test_clipping_accepts_indexed_slices():
    params = tf.constant(PARAMS)
    sparse = tf.gradients(tf.reduce_sum(tf.gather(params, [1, 3]) * 3.0), params)[0]
    dense = tf.constant(np.full((2,), 4.0, np.float32))
    clipped, norm = tf.clip_by_global_norm([sparse, dense], 1.0)
    by_norm = tf.clip_by_norm(sparse, 1.0)
    assert type(clipped[0]).__name__ == type(by_norm).__name__ == "IndexedSlices"
    with tf.Session() as sess:
        (values, indices), other, n, (bn_values, bn_indices) = sess.run(
            [(clipped[0].values, clipped[0].indices), clipped[1], norm, (by_norm.values, by_norm.indices)])
    expected_norm = np.sqrt(6 * 9.0 + 2 * 16.0)
    np.testing.assert_allclose(n, expected_norm, rtol=1e-6)
    np.testing.assert_allclose(values, np.full((2, 3), 3.0 / expected_norm), rtol=1e-6)
    np.testing.assert_allclose(other, np.full((2,), 4.0 / expected_norm), rtol=1e-6)
    np.testing.assert_allclose(bn_values, np.full((2, 3), 3.0 / np.sqrt(6 * 9.0)), rtol=1e-6)
    assert indices.tolist() == bn_indices.tolist() == [1, 3]


def test_a_session_fetches_indexed_slices_as_their_values():
    params = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    (grad,) = tf.gradients(tf.reduce_sum(tf.gather(params, [2, 0, 2])), [params])
    with tf.Session() as sess:
        got = sess.run({"g": grad})["g"]
    assert isinstance(got, tf.IndexedSlicesValue)
    assert got.indices.tolist() == [2, 0, 2]
    np.testing.assert_array_equal(got.values, np.ones((3, 2), np.float32))
    assert got.dense_shape.tolist() == [3, 2]


def test_the_gradient_checker_densifies_a_row_sparse_gradient():
    params = tf.constant(np.arange(6.0).reshape(3, 2))
    y = tf.gather(params, [2, 0, 2])
    assert tf.test.compute_gradient_error(params, [3, 2], y, [3, 2]) < 1e-8
