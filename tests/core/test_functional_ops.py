"""tf.map_fn, tf.scan, tf.foldl, tf.foldr (the Scan op) and tf.case: values and gradients against TF 2.21's compat.v1."""

import numpy as np
import pytest

import tensorflux as tf

X = np.array([[0.3, -0.2], [1.1, 0.5], [-0.7, 0.9]])
W = np.array([0.5, 2.0])


def _loops(lib):
    x, w = lib.constant(X), lib.constant(W)
    return {
        "map": lib.map_fn(lambda r: lib.tanh(r * w), x),
        "map_nested": lib.map_fn(lambda p: (p[0] * 2.0, p[0] + p[1]), (x, x * x)),
        "scan": lib.scan(lambda a, r: a * lib.tanh(r) + w, x, initializer=lib.constant(np.ones(2))),
        "scan_reverse": lib.scan(lambda a, r: a + r, x, reverse=True),
        "foldl": lib.foldl(lambda a, r: a * r + w, x),
        "foldr": lib.foldr(lambda a, r: a * r + 1.0, x, initializer=w),
        "case": lib.case([(lib.reduce_sum(x) > 100.0, lambda: x * 2.0), (lib.reduce_sum(x) > 0.0, lambda: x * w)],
                         default=lambda: -x),
    }


def _flat(out):
    for value in out.values():
        yield from (value if isinstance(value, tuple) else (value,))


def _build(lib):
    out = _loops(lib)
    loss = lib.add_n([lib.reduce_sum(t * t) for t in _flat(out)])
    x, w = [op.outputs[0] for op in lib.get_default_graph().get_operations() if op.type == "Const"][:2]
    return out, lib.gradients(loss, [x, w])


def test_values_and_gradients_match_tf(tfr):
    ours = tf.Session().run(_build(tf))
    with tfr.Graph().as_default():
        theirs = tfr.Session().run(_build(tfr))
    for key in ours[0]:
        for mine, ref in zip(np.atleast_1d(ours[0][key]) if not isinstance(ours[0][key], tuple) else ours[0][key],
                             np.atleast_1d(theirs[0][key]) if not isinstance(theirs[0][key], tuple) else theirs[0][key]):
            np.testing.assert_allclose(mine, ref, rtol=1e-12, err_msg=key)
    for mine, ref in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


def test_map_fn_second_derivative_matches_tf(tfr):
    def build(lib):
        x = lib.constant(np.array([0.5, -1.5, 2.0]))
        y = lib.reduce_sum(lib.map_fn(lambda v: v * v * v, x))
        (g,) = lib.gradients(y, [x])
        return lib.gradients(lib.reduce_sum(g * g), [x])
    ours = tf.Session().run(build(tf))
    with tfr.Graph().as_default():
        theirs = tfr.Session().run(build(tfr))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)


def test_scan_gradient_is_checked_numerically():
    x = tf.placeholder(tf.float64, [3, 2])
    y = tf.scan(lambda a, r: a * tf.tanh(r) + r, x)
    with tf.Session():
        error = tf.test.compute_gradient_error(x, [3, 2], y, [3, 2], x_init_value=X, delta=1e-6)
    assert error < 1e-6


def test_map_fn_over_a_fed_length_and_zero_elements():
    x = tf.placeholder(tf.float32, [None, 2])
    y = tf.map_fn(lambda r: r * 2.0, x)
    sess = tf.Session()
    assert sess.run(y, {x: np.ones((4, 2), np.float32)}).tolist() == [[2.0, 2.0]] * 4
    assert sess.run(y, {x: np.ones((0, 2), np.float32)}).shape == (0, 2)


def test_case_without_default_falls_back_to_the_last_pair(tfr):
    def build(lib, value):
        x = lib.constant(value)
        return lib.case([(x > 10, lambda: x * 2), (x > 5, lambda: x + 100)])
    for value in (20, 7):
        with tfr.Graph().as_default():
            ref = tfr.Session().run(build(tfr, value))
        assert tf.Session().run(build(tf, value)) == ref
    # No predicate true and no default: both fail the run, in the same words.
    with tfr.Graph().as_default(), pytest.raises(tfr.errors.InvalidArgumentError) as theirs:
        tfr.Session().run(build(tfr, 1))
    with pytest.raises(tf.errors.InvalidArgumentError) as ours:
        tf.Session().run(build(tf, 1))
    assert "assertion failed: [Input error: None of conditions evaluated as True:] [0 0]" in str(theirs.value)
    assert "assertion failed: [Input error: None of conditions evaluated as True:] [0 0]" in str(ours.value)


def test_exclusive_case_refuses_two_true_predicates():
    x = tf.placeholder(tf.int32, [])
    y = tf.case([(x > 0, lambda: x * 2), (x > 5, lambda: x * 3)], default=lambda: x, exclusive=True)
    sess = tf.Session()
    assert sess.run(y, {x: 3}) == 6
    with pytest.raises(tf.errors.InvalidArgumentError, match="More than one condition evaluated as True"):
        sess.run(y, {x: 7})


def test_scan_and_fold_errors_name_the_problem():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="accumulator"):
        tf.scan(lambda a, v: tf.stack([a, v]), x)
    with pytest.raises(ValueError, match="at least one dimension"):
        tf.map_fn(lambda v: v, tf.constant(1.0))
    with pytest.raises(ValueError, match="no initializer"):
        tf.foldl(lambda a, v: a + v, tf.zeros([0]))
    with pytest.raises(TypeError, match="pred_fn_pairs"):
        tf.case([tf.constant(True)])
