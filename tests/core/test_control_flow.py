"""tf.cond (functional If) and tf.while_loop (functional While): values and gradients against TF 2.21's compat.v1."""

import numpy as np
import pytest

import tensorflux as tf

X = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]], dtype=np.float64)


def _cond_graph(lib, flag):
    """A cond over captured tensors of the enclosing graph, returning a nested structure; built in either library."""
    x = lib.constant(X)
    w = lib.constant(np.array([2.0, -1.0, 0.5]))
    pred = lib.constant(flag)
    out = lib.cond(pred, lambda: {"a": x * w, "b": (lib.reduce_sum(x * x), x)},
                   lambda: {"a": lib.tanh(x), "b": (lib.reduce_sum(w), x * 3.0)})
    loss = lib.reduce_sum(out["a"] * out["b"][1]) + out["b"][0]
    return out, lib.gradients(loss, [x, w])


@pytest.mark.parametrize("flag", [True, False])
def test_cond_values_and_gradients_match_tf(tfr, flag):
    ours = tf.Session().run(_cond_graph(tf, flag))
    with tfr.Graph().as_default():
        theirs = tfr.Session().run(_cond_graph(tfr, flag))
    np.testing.assert_allclose(ours[0]["a"], theirs[0]["a"])
    np.testing.assert_allclose(ours[0]["b"][0], theirs[0]["b"][0])
    np.testing.assert_allclose(ours[0]["b"][1], theirs[0]["b"][1])
    for mine, ref in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


def test_only_the_chosen_branch_runs():
    # The false branch fails at run time on three elements (a reshape to 2x2): it must not run when pred is true.
    v = tf.placeholder(tf.float32, [None])
    y = tf.cond(tf.equal(tf.size(v), 3), lambda: tf.reduce_sum(v), lambda: tf.reduce_sum(tf.reshape(v, [2, 2])))
    sess = tf.Session()
    assert sess.run(y, {v: [1.0, 2.0, 3.0]}) == 6.0
    assert sess.run(y, {v: [1.0, 2.0, 3.0, 4.0]}) == 10.0
    with pytest.raises(tf.errors.InvalidArgumentError):
        sess.run(y, {v: [1.0, 2.0]})


def test_cond_gradient_is_checked_numerically():
    x = tf.placeholder(tf.float64, [2, 3])
    y = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.tanh(x) * x, lambda: tf.exp(x))
    with tf.Session():
        for value in (X, -np.abs(X)):
            error = tf.test.compute_gradient_error(x, [2, 3], y, [2, 3], x_init_value=value, delta=1e-6)
            assert error < 1e-6


def test_nested_cond_and_second_derivative_match_tf(tfr):
    def build(lib):
        x = lib.placeholder(lib.float64, [])
        inner = lambda: lib.cond(x > 1.0, lambda: x * x * x, lambda: x * x)  # noqa: E731
        y = lib.cond(x > 0.0, inner, lambda: -x)
        (dy,) = lib.gradients(y, [x])
        (d2y,) = lib.gradients(dy, [x])
        return x, [y, dy, d2y]

    x, fetches = build(tf)
    with tfr.Graph().as_default():
        rx, rfetches = build(tfr)
        sess = tfr.Session()
        for value in (2.0, 0.5, -3.0):
            np.testing.assert_allclose(tf.Session().run(fetches, {x: value}), sess.run(rfetches, {rx: value}))


def test_cond_unpacks_singletons_unless_strict():
    x = tf.constant(1.0)
    assert isinstance(tf.cond(tf.constant(True), lambda: [x], lambda: [x * 2.0]), tf.Tensor)
    assert len(tf.cond(tf.constant(True), lambda: [x], lambda: [x * 2.0], strict=True)) == 1


def test_cond_refuses_mismatched_branches_and_bad_predicates():
    x = tf.constant(1.0)
    with pytest.raises(ValueError, match="same structure and dtypes"):
        tf.cond(tf.constant(True), lambda: x, lambda: (x, x))
    with pytest.raises(ValueError, match="same structure and dtypes"):
        tf.cond(tf.constant(True), lambda: x, lambda: tf.constant(1))
    with pytest.raises(ValueError, match="scalar bool"):
        tf.cond(tf.constant([True, False]), lambda: x, lambda: x)
    with pytest.raises(TypeError, match="callable"):
        tf.cond(tf.constant(True), x, lambda: x)


def test_cond_reads_a_variable_captured_from_outside():
    v = tf.Variable(4.0)
    y = tf.cond(v > 1.0, lambda: v * 2.0, lambda: v)
    (g,) = tf.gradients(y, [v])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run([y, g]) == [8.0, 2.0]


def _loops(lib):
    n = lib.constant(5)
    k = lib.constant(np.array([1.0, 2.0]))
    i, acc = lib.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * 1.5 + k), [0, lib.zeros([2], lib.float64)])
    capped = lib.while_loop(lambda v: v < 1000.0, lambda v: v * 2.0, [lib.constant(1.0)], maximum_iterations=4)
    grown = lib.while_loop(lambda s: lib.shape(s)[0] < 8, lambda s: lib.concat([s, s], 0), [lib.constant([1, 2])],
                           shape_invariants=[lib.TensorShape([None])])
    return [i, acc, capped, grown]


def test_while_loop_values_match_tf(tfr):
    ours = tf.Session().run(_loops(tf))
    with tfr.Graph().as_default():
        theirs = tfr.Session().run(_loops(tfr))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine, ref)


def test_while_loop_checks_shapes():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="shape_invariants"):
        tf.while_loop(lambda s: tf.shape(s)[0] < 8, lambda s: tf.concat([s, s], 0), [x])


def _loop_gradients(lib):
    """Gradients through loops to their initial values and to the tensors their bodies capture."""
    x = lib.constant(np.array([0.3, -0.2, 1.1]))
    w = lib.constant(np.array([0.5, 2.0, -1.0]))
    _, y = lib.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, lib.tanh(v) * w + v), [0, x])
    z = lib.while_loop(lambda v: lib.reduce_sum(v) < 100.0, lambda v: v * 2.0 + w, [x], maximum_iterations=5)
    m = lib.while_loop(lambda a, b: lib.reduce_sum(a) < 50.0, lambda a, b: (a * b, b + 0.5), [x + 2.0, w * w])
    loss = lib.reduce_sum(y * y) + lib.reduce_sum(z) + lib.reduce_sum(m[0] * m[1])
    return lib.gradients(loss, [x, w])


def test_while_loop_gradients_match_tf(tfr):
    ours = tf.Session().run(_loop_gradients(tf))
    with tfr.Graph().as_default():
        theirs = tfr.Session().run(_loop_gradients(tfr))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


def test_while_loop_gradient_is_checked_numerically():
    x = tf.placeholder(tf.float64, [2, 3])
    y = tf.while_loop(lambda v: tf.reduce_max(tf.abs(v)) < 20.0, lambda v: v * tf.tanh(v) + v * 1.5, [x],
                      maximum_iterations=6)
    with tf.Session():
        error = tf.test.compute_gradient_error(x, [2, 3], y, [2, 3], x_init_value=X, delta=1e-6)
    assert error < 1e-5


def test_while_loop_trains_a_captured_variable():
    # The classic use: a variable read inside the body gets its gradient summed over the iterations.
    v = tf.Variable(0.5, dtype=tf.float64)
    out = tf.while_loop(lambda i, acc: i < 4, lambda i, acc: (i + 1, acc * v + 1.0), [0, tf.constant(1.0, tf.float64)])[1]
    loss = tf.square(out - 3.0)
    train = tf.train.GradientDescentOptimizer(0.02).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss)
        for _ in range(50):
            sess.run(train)
        assert sess.run(loss) < first * 1e-3


def test_while_loop_without_back_prop_stops_gradients():
    x = tf.constant([1.0, 2.0])
    y = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [x], back_prop=False)
    assert tf.gradients(y, [x]) == [None]
    z = tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [x])
    with tf.Session() as sess:
        assert sess.run(tf.gradients(z, [x])[0]).tolist() == [4.0, 4.0]
