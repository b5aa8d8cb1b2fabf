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
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->ij", [(3, 3, 4)]),
    ("iji->j", [(3, 2, 3)]),
    ("ijij->ij", [(2, 3, 2, 3)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
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


def test_einsum_diagonal_with_unknown_sizes():
    x = tf.placeholder(tf.float32, [None, None, 2])
    feed = RNG.normal(size=(3, 3, 2)).astype(np.float32)
    np.testing.assert_allclose(_run(tf.einsum("iij->ji", x), {x: feed}), np.einsum("iij->ji", feed), rtol=1e-6)


@pytest.mark.parametrize("equation, shapes", [("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("iij->ij", [(2, 2, 3)]),
                                              ("ij,jj->i", [(2, 3), (3, 3)])])
def test_einsum_diagonal_matches_tf_with_gradients(tfr, equation, shapes):
    values = [RNG.normal(size=s) for s in shapes]

    def build(lib):
        xs = [lib.constant(v) for v in values]
        y = lib.einsum(equation, *xs)
        return [y] + lib.gradients(lib.reduce_sum(y * y), xs)

    with tfr.Graph().as_default(), tfr.Session() as sess:
        theirs = sess.run(build(tfr))
    ours = _run(build(tf))
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_einsum_errors():
    with pytest.raises(ValueError, match="a repeated index needs equal sizes"):
        tf.einsum("ii->i", tf.ones([2, 3]))
    with pytest.raises(ValueError, match="2 input subscripts but 1 operands"):
        tf.einsum("ij,jk->ik", tf.ones([2, 2]))
    with pytest.raises(ValueError, match="appears in no input"):
        tf.einsum("ij->iz", tf.ones([2, 2]))
    with pytest.raises(ValueError, match="has 2 indices but its operand has rank 3"):
        tf.einsum("ij->i", tf.ones([2, 2, 2]))


NORM_CASES = [
    ("euclidean", None), (2, 1), (1, None), (1, 0), (np.inf, 1), (3, 1), (0.5, 0),
    ("fro", (0, 1)), ("euclidean", (1, 2)), (1, (1, 2)), (np.inf, (1, 2)), (1, (2, 1)),
    (2, (0, 1)), (2, (1, 2)), (2, (2, 0)),
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


@pytest.mark.parametrize("ord, axis", [("euclidean", None), (1, 1), (np.inf, 1), (3, 1), ("fro", (0, 1)),
                                       (2, (0, 1)), (2, (1, 0))])
def test_norm_gradients(ord, axis):
    x = tf.placeholder(tf.float64, [3, 4])
    y = tf.norm(x, ord=ord, axis=axis)
    error = tf.test.compute_gradient_error(x, [3, 4], y, y.shape.as_list(), x_init_value=RNG.normal(size=(3, 4)),
                                           delta=1e-6)
    assert error < 1e-5


@pytest.mark.parametrize("axis, keepdims", [((-2, -1), False), ((1, 2), True), ((2, 0), False), ((0, 2), True)])
def test_matrix_2_norm_matches_tf_with_gradient(tfr, axis, keepdims):
    values = RNG.normal(size=(2, 3, 4))

    def build(lib):
        x = lib.constant(values)
        y = lib.norm(x, ord=2, axis=axis, keepdims=keepdims)
        return [y] + lib.gradients(y, x)

    with tfr.Graph().as_default(), tfr.Session() as sess:
        theirs = sess.run(build(tfr))
    ours = _run(build(tf))
    for a, b in zip(theirs, ours):
        assert a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_matrix_2_norm_gradient_is_the_top_singular_vectors_outer_product():
    values = RNG.normal(size=(3, 4))
    x = tf.constant(values)
    (grad,) = tf.gradients(tf.norm(x, ord=2, axis=[-2, -1]), x)
    u, _, vh = np.linalg.svd(values)
    np.testing.assert_allclose(_run(grad), np.outer(u[:, 0], vh[0]), rtol=1e-10, atol=1e-12)


def test_svd_matches_tf(tfr):
    values = RNG.normal(size=(2, 4, 3))
    for full in (False, True):
        with tfr.Graph().as_default(), tfr.Session() as sess:
            s_tf, u_tf, v_tf = sess.run(tfr.svd(values, full_matrices=full))
        s, u, v = _run(list(tf.svd(tf.constant(values), full_matrices=full)))
        assert (u.shape, v.shape) == (u_tf.shape, v_tf.shape)
        np.testing.assert_allclose(s, s_tf, rtol=1e-10)
        # Singular vectors are defined up to sign: compare the matrix each pair rebuilds.
        np.testing.assert_allclose(np.einsum("bik,bk,bjk->bij", u[..., :3], s, v[..., :3]), values, atol=1e-12)
        np.testing.assert_allclose(np.abs(np.einsum("bik,bik->bk", u[..., :3], u_tf[..., :3])), 1.0, rtol=1e-10)
    assert tf.svd(tf.ones([2, 5, 3]), compute_uv=False).shape.as_list() == [2, 3]


def test_svd_gradient_through_the_vectors_is_refused():
    x = tf.constant(RNG.normal(size=(3, 3)))
    _, u, _ = tf.svd(x)
    with pytest.raises(LookupError, match="through the singular vectors u and v are not implemented"):
        tf.gradients(tf.reduce_sum(u), x)
    with pytest.raises(ValueError, match="rank >= 2"):
        tf.svd(tf.ones([3]))


def test_norm_errors():
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
