"""einsum, norm and l2_normalize: values against numpy, dynamic shapes, errors and gradients."""

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(5)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("abc,cd->abd", [(2, 3, 4), (4, 5)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...j,jk", [(2, 3, 4), (4, 5)]),
    ("ij,kj->ik", [(2, 3), (4, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_numpy(equation, shapes):
    operands = [RNG.normal(size=s) for s in shapes]
    got = _run(tf.einsum(equation, *[tf.constant(o) for o in operands]))
    np.testing.assert_allclose(got, np.einsum(equation, *operands), rtol=1e-10, atol=1e-12)


def test_einsum_with_unknown_batch_size():
    x = tf.placeholder(tf.float32, [None, 4])
    w = RNG.normal(size=(4, 3)).astype(np.float32)
    feed = RNG.normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(tf.einsum("bi,ij->bj", x, w), {x: feed}), feed @ w, rtol=1e-5)


@pytest.mark.parametrize("equation, shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
                                              ("ij->j", [(3, 2)]), ("i,j->ij", [(3,), (2,)])])
def test_einsum_gradients(equation, shapes):
    xs = [tf.placeholder(tf.float64, s) for s in shapes]
    y = tf.einsum(equation, *xs)
    values = [RNG.normal(size=s) for s in shapes]
    for i, x in enumerate(xs):
        feed = {other: v for j, (other, v) in enumerate(zip(xs, values)) if j != i}
        error = tf.test.compute_gradient_error(x, list(shapes[i]), y, y.shape.as_list(), x_init_value=values[i],
                                               delta=1e-6, extra_feed_dict=feed)
        assert error < 1e-6


def test_einsum_errors():
    with pytest.raises(ValueError, match="repeats within one operand"):
        tf.einsum("ii->i", tf.ones([2, 2]))
    with pytest.raises(ValueError, match="2 input subscripts but 1 operands"):
        tf.einsum("ij,jk->ik", tf.ones([2, 2]))
    with pytest.raises(ValueError, match="appears in no input"):
        tf.einsum("ij->iz", tf.ones([2, 2]))
    with pytest.raises(ValueError, match="has 2 indices but its operand has rank 3"):
        tf.einsum("ij->i", tf.ones([2, 2, 2]))


NORM_CASES = [
    ("euclidean", None), (2, 1), (1, None), (1, 0), (np.inf, 1), (3, 1), (0.5, 0),
    ("fro", (0, 1)), ("euclidean", (1, 2)), (1, (1, 2)), (np.inf, (1, 2)), (1, (2, 1)),
]


def _numpy_norm(x, ord, axis):
    if axis is None:
        return np.linalg.norm(x.ravel(), 2 if ord == "euclidean" else ord)
    if isinstance(axis, tuple):
        return np.linalg.norm(x, "fro" if ord == "euclidean" else ord, axis=axis)
    return np.linalg.norm(x, 2 if ord == "euclidean" else ord, axis=axis)


@pytest.mark.parametrize("ord, axis", NORM_CASES, ids=[f"{o}-{a}" for o, a in NORM_CASES])
def test_norm_matches_numpy(ord, axis):
    x = RNG.normal(size=(2, 3, 4))
    if isinstance(axis, tuple) and axis == (0, 1):
        x = x[0]
    for keepdims in (False, True):
        got = _run(tf.norm(tf.constant(x), ord=ord, axis=axis, keepdims=keepdims))
        want = _numpy_norm(x, ord, axis)
        if keepdims:
            want = np.reshape(want, got.shape)
            assert got.ndim == x.ndim
        np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("ord, axis", [("euclidean", None), (1, 1), (np.inf, 1), (3, 1), ("fro", (0, 1))])
def test_norm_gradients(ord, axis):
    x = tf.placeholder(tf.float64, [3, 4])
    y = tf.norm(x, ord=ord, axis=axis)
    error = tf.test.compute_gradient_error(x, [3, 4], y, y.shape.as_list(), x_init_value=RNG.normal(size=(3, 4)),
                                           delta=1e-6)
    assert error < 1e-5


def test_norm_errors():
    with pytest.raises(ValueError, match="singular value decomposition"):
        tf.norm(tf.ones([2, 2]), ord=2, axis=(0, 1))
    with pytest.raises(ValueError, match="supported vector norm"):
        tf.norm(tf.ones([2]), ord="fro")
    with pytest.raises(ValueError, match="2 unique integers"):
        tf.norm(tf.ones([2, 2]), axis=(1, 1))


@pytest.mark.parametrize("axis", [None, 0, 1, [0, 1]])
def test_l2_normalize_matches_numpy_and_has_gradients(axis):
    values = RNG.normal(size=(3, 4))
    numpy_axis = None if axis is None else tuple(np.atleast_1d(axis))
    want = values / np.sqrt(np.maximum((values ** 2).sum(axis=numpy_axis, keepdims=True), 1e-12))
    np.testing.assert_allclose(_run(tf.nn.l2_normalize(tf.constant(values), axis=axis)), want, rtol=1e-12)
    x = tf.placeholder(tf.float64, [3, 4])
    y = tf.nn.l2_normalize(x, axis)
    assert tf.test.compute_gradient_error(x, [3, 4], y, [3, 4], x_init_value=values, delta=1e-6) < 1e-6


def test_l2_normalize_dim_spelling_and_zero_vector():
    np.testing.assert_array_equal(_run(tf.nn.l2_normalize(tf.zeros([3]), dim=0)), np.zeros(3, np.float32))
