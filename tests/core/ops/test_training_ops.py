"""The optimizer update ops: build-time checks (their updates are the op-info table's, test_op_table.py)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import apply_op


def test_gradient_of_the_wrong_shape_is_refused_at_build_time():
    w = tf.Variable(np.zeros([2, 3]), name="w")
    with pytest.raises(ValueError, match=r"grad '.*' has shape \(3, 2\), but variable 'w' has shape \(2, 3\)"):
        apply_op("ApplyAdagrad", w._ref, tf.Variable(np.zeros([2, 3]))._ref, np.float64(0.1), np.zeros([3, 2]))


def test_hyperparameters_must_be_scalars():
    w = tf.Variable(np.zeros([2]), name="w")
    with pytest.raises(ValueError, match=r"alpha '.*' must be a scalar, got shape \(2,\)"):
        apply_op("ApplyGradientDescent", w._ref, np.zeros(2), np.zeros(2))


def test_variables_are_passed_by_reference():
    w = tf.Variable(np.zeros([2]), name="w")
    with pytest.raises(TypeError, match="input 'var' must be a variable reference"):
        apply_op("ApplyGradientDescent", w.value(), np.float64(0.1), np.zeros(2))


def test_fused_ops_are_not_differentiable():
    w = tf.Variable(np.ones([2]), name="w")
    out = apply_op("ApplyGradientDescent", w._ref, np.float64(0.1), w.value())[0]
    assert tf.gradients(out, w) == [None]
