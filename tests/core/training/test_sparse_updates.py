"""Optimizers apply IndexedSlices gradients sparsely, step for step as TF 1.15 (tf.compat.v1 of TF 2.21)."""

import numpy as np
import pytest

import tensorflux as tf

INITIAL = np.arange(1.0, 13.0, dtype=np.float32).reshape(6, 2) / 4
IDS = [[4, 1, 4], [0, 4, 4], [1, 2, 1]]  # duplicates in every step; rows 3 and 5 are never looked up
UNTOUCHED = [3, 5]

OPTIMIZERS = {
    "gradient_descent": lambda t: t.train.GradientDescentOptimizer(0.1),
    "momentum": lambda t: t.train.MomentumOptimizer(0.1, 0.9),
    "nesterov": lambda t: t.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
    "adagrad": lambda t: t.train.AdagradOptimizer(0.2, initial_accumulator_value=0.5),
    "rmsprop": lambda t: t.train.RMSPropOptimizer(0.05, decay=0.8, momentum=0.5, epsilon=1e-6),
    "rmsprop_centered": lambda t: t.train.RMSPropOptimizer(0.05, momentum=0.3, centered=True),
    "adam": lambda t: t.train.AdamOptimizer(0.1),
}


def _train(t, make_optimizer, session_graph=None):
    """Variable values and every slot after each of the sparse steps, built with the module ``t``."""
    kwargs = {"use_resource": False} if session_graph is not None else {}
    w = t.Variable(INITIAL, **kwargs)
    ids = t.placeholder(t.int32, [None])
    weights = t.constant([1.0, -2.0, 0.5])
    loss = t.reduce_sum(t.square(t.nn.embedding_lookup(w, ids)) * weights[:, None])
    opt = make_optimizer(t)
    grads_and_vars = opt.compute_gradients(loss, [w])
    assert type(grads_and_vars[0][0]).__name__ == "IndexedSlices"
    train = opt.apply_gradients(grads_and_vars)
    slots = [opt.get_slot(w, name) for name in sorted(opt.get_slot_names())]
    history = []
    with t.Session(graph=session_graph) as sess:
        sess.run(t.global_variables_initializer())
        for step_ids in IDS:
            sess.run(train, {ids: step_ids})
            history.append(sess.run([w] + slots))
    return history


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sparse_steps_match_tensorflow(tfr, name):
    graph = tfr.Graph()
    with graph.as_default():
        expected = _train(tfr, OPTIMIZERS[name], session_graph=graph)
    got = _train(tf, OPTIMIZERS[name])
    for step, (want, have) in enumerate(zip(expected, got)):
        for i, (a, b) in enumerate(zip(want, have)):
            np.testing.assert_allclose(b, a, rtol=2e-5, atol=1e-6, err_msg=f"{name}: step {step}, value {i}")


@pytest.mark.parametrize("name", sorted(set(OPTIMIZERS) - {"adam"}))
def test_only_touched_rows_change(name):
    # Rows 3 and 5 are never looked up: the variable keeps them, and so does every slot from the first step on.
    history = _train(tf, OPTIMIZERS[name])
    np.testing.assert_array_equal(history[-1][0][UNTOUCHED], INITIAL[UNTOUCHED])
    assert not np.array_equal(history[-1][0][[0, 1, 2, 4]], INITIAL[[0, 1, 2, 4]])
    for first, last in zip(history[0][1:], history[-1][1:]):
        np.testing.assert_array_equal(last[UNTOUCHED], first[UNTOUCHED])


def test_adam_moves_untouched_rows_once_their_moments_are_nonzero():
    # TF 1.15's sparse Adam decays m and v everywhere and steps every row: row 0, touched in step 2 only,
    # moves again in step 3; rows never touched keep m = 0 and so stay put.
    history = _train(tf, OPTIMIZERS["adam"])
    assert not np.array_equal(history[2][0][0], history[1][0][0])
    np.testing.assert_array_equal(history[2][0][UNTOUCHED], INITIAL[UNTOUCHED])


def test_an_optimizer_without_a_sparse_update_says_so():
    class DenseOnly(tf.train.Optimizer):
        def __init__(self):
            super().__init__(False, "DenseOnly")

    w = tf.Variable(INITIAL)
    loss = tf.reduce_sum(tf.gather(w, [1]))
    with pytest.raises(NotImplementedError, match="no sparse update.*'Variable:0'"):
        DenseOnly().minimize(loss)
