"""tf.losses against TensorFlow's tf.compat.v1.losses: every loss under every reduction, weights, gradients and
the loss collections."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

RNG = np.random.default_rng(31)
LOGITS = RNG.normal(size=(4, 3)).astype(np.float32)
ONEHOT = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
SPARSE = np.array([0, 2, 1, 2], np.int32)
PROBS = RNG.uniform(0.05, 0.95, size=(4, 3)).astype(np.float32)
BINARY = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float32)
TARGETS = (RNG.normal(size=(4, 3)) * 2).astype(np.float32)
PER_EXAMPLE = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
WEIGHTS = {"scalar": 2.0, "zero": 0.0, "per_example": PER_EXAMPLE[:, None],
           "full": np.where(RNG.uniform(size=(4, 3)) > 0.3, RNG.uniform(size=(4, 3)), 0).astype(np.float32)}

LOSSES = {
    "softmax_cross_entropy": lambda lib, w, r: lib.losses.softmax_cross_entropy(
        ONEHOT, _x(lib), weights=w, reduction=r),
    "softmax_cross_entropy_smoothed": lambda lib, w, r: lib.losses.softmax_cross_entropy(
        ONEHOT, _x(lib), weights=w, label_smoothing=0.2, reduction=r),
    "sparse_softmax_cross_entropy": lambda lib, w, r: lib.losses.sparse_softmax_cross_entropy(
        SPARSE, _x(lib), weights=w, reduction=r),
    "sigmoid_cross_entropy": lambda lib, w, r: lib.losses.sigmoid_cross_entropy(
        BINARY, _x(lib), weights=w, label_smoothing=0.1, reduction=r),
    "mean_squared_error": lambda lib, w, r: lib.losses.mean_squared_error(TARGETS, _x(lib), weights=w, reduction=r),
    "absolute_difference": lambda lib, w, r: lib.losses.absolute_difference(TARGETS, _x(lib), weights=w,
                                                                            reduction=r),
    "log_loss": lambda lib, w, r: lib.losses.log_loss(BINARY, lib.sigmoid(_x(lib)), weights=w, reduction=r),
    "hinge_loss": lambda lib, w, r: lib.losses.hinge_loss(BINARY, _x(lib), weights=w, reduction=r),
    "huber_loss": lambda lib, w, r: lib.losses.huber_loss(TARGETS, _x(lib), weights=w, delta=0.7, reduction=r),
}
REDUCTIONS = ["NONE", "SUM", "MEAN", "SUM_OVER_BATCH_SIZE", "SUM_BY_NONZERO_WEIGHTS", "SUM_OVER_NONZERO_WEIGHTS"]


def _x(lib):
    return lib.get_default_graph().get_tensor_by_name("x:0")


def _evaluate(lib, loss_name, weights_name, reduction):
    with lib.Graph().as_default():
        x = lib.constant(LOGITS, name="x")
        weights = WEIGHTS[weights_name]
        # The cross-entropies have one loss per example: they take [batch] weights ([batch, 1] too, if sparse).
        per_example = loss_name.startswith("softmax") or weights_name == "full" and loss_name.startswith("sparse")
        if per_example and np.ndim(weights) == 2:
            weights = weights[:, 0]
        loss = LOSSES[loss_name](lib, weights, getattr(lib.losses.Reduction, reduction))
        (grad,) = lib.gradients(lib.reduce_sum(loss), [x])
        with lib.Session() as sess:
            value, g = sess.run([loss, grad])
        return value, g, loss.dtype.name, loss.shape.as_list(), len(lib.losses.get_losses())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights_name", sorted(WEIGHTS))
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_loss_matches_tf(tfr, loss_name, weights_name, reduction):
    theirs = _evaluate(tfr, loss_name, weights_name, reduction)
    ours = _evaluate(tf, loss_name, weights_name, reduction)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)
    assert ours[2:] == theirs[2:]


def _collections(lib):
    with lib.Graph().as_default():
        w = lib.get_variable("w", [3], initializer=lib.constant_initializer([1.0, -2.0, 3.0]),
                             regularizer=lib.nn.l2_loss)
        with lib.name_scope("head"):
            lib.losses.mean_squared_error([1.0, 2.0, 3.0], w)
        lib.losses.absolute_difference([0.0], [1.0], loss_collection=None)
        lib.losses.hinge_loss([1.0], [0.25], scope="custom")
        fetches = [lib.losses.get_total_loss(), lib.losses.get_total_loss(add_regularization_losses=False),
                   lib.losses.get_regularization_loss(), lib.losses.get_losses(scope="head")]
        names = [t.name for t in lib.losses.get_losses() + lib.losses.get_regularization_losses()]
        names += [fetches[0].name, fetches[2].name]
        with lib.Session() as sess:
            sess.run(lib.global_variables_initializer())
            return sess.run(fetches), names


def test_collections_and_totals_match_tf(tfr):
    theirs, ours = _collections(tfr), _collections(tf)
    assert ours[1] == theirs[1]
    for a, b in zip(theirs[0], ours[0]):
        np.testing.assert_allclose(b, a, rtol=1e-6)


def test_regularization_loss_is_zero_without_regularizers_and_total_needs_a_loss(tfr):
    assert tf.Session().run(tf.losses.get_regularization_loss()) == 0.0
    with pytest.raises(ValueError):
        tf.losses.get_total_loss()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        tf.losses.mean_squared_error([1.0], [1.0], reduction="average")
    with pytest.raises(ValueError, match="weights can not be broadcast to values"):
        tf.losses.mean_squared_error(np.zeros((4, 3)), np.zeros((4, 3)), weights=np.ones(4))
    with pytest.raises(ValueError, match="labels must not be None"):
        tf.losses.absolute_difference(None, [1.0])


@pytest.mark.parametrize("weights_name", ["scalar", "zero", "per_example", "full"])
def test_mean_pairwise_squared_error_matches_tf(tfr, weights_name):
    def evaluate(lib):
        with lib.Graph().as_default():
            x = lib.constant(LOGITS, name="x")
            loss = lib.losses.mean_pairwise_squared_error(TARGETS, x, weights=WEIGHTS[weights_name])
            (grad,) = lib.gradients(loss, [x])
            with lib.Session() as sess:
                value, g = sess.run([loss, grad])
            return value, g, loss.name, loss.shape.as_list(), [t.name for t in lib.losses.get_losses()]

    theirs, ours = evaluate(tfr), evaluate(tf)
    assert ours[2:] == theirs[2:]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5, atol=1e-6)


def test_mean_pairwise_squared_error_of_rank_3_and_one_entry(tfr):
    labels = RNG.normal(size=(2, 3, 2)).astype(np.float32)
    predictions = RNG.normal(size=(2, 3, 2)).astype(np.float32)
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default(), lib.Session() as sess:
            results.append(sess.run([lib.losses.mean_pairwise_squared_error(labels, predictions),
                                     lib.losses.mean_pairwise_squared_error([[1.0]], [[3.0]])]))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)
    with pytest.raises(ValueError, match="must not be None"):
        tf.losses.mean_pairwise_squared_error(None, [1.0])
    with pytest.raises(ValueError, match="can not be broadcast"):
        tf.losses.mean_pairwise_squared_error(TARGETS, LOGITS, weights=np.ones(4, np.float32))
