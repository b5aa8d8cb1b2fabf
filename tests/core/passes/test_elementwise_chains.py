"""Elementwise chains (``passes/elementwise_chains.py``): one step per chain, errors naming the op that raised, and
writes in place only into values nobody else holds."""

from __future__ import annotations

import numpy as np
import pytest
from test_passes import _run_both

import tensorflux as tf


def test_fusion_runs_an_elementwise_chain_as_one_step():
    x = tf.placeholder(tf.float32, [None])
    y = tf.nn.relu((x + 1.0) * 3.0 - 2.0)
    z = tf.exp(y)  # a second reader of y: the chain stops at y
    w = tf.reduce_sum(z) + tf.reduce_sum(y)
    feed = {x: np.linspace(-2, 2, 1 << 15).astype(np.float32)}  # large enough for in-place stages
    opt, plain, kinds_opt, kinds_plain = _run_both([y, w], feed, disabled=["cse", "constant_folding"])
    np.testing.assert_allclose(opt[0], plain[0], rtol=1e-6)
    np.testing.assert_allclose(opt[1], plain[1], rtol=1e-5)
    assert len(kinds_opt) < len(kinds_plain)
    # x+1, *3, -2 and relu are one step, named after relu; the AddV2 left is the final sum's
    assert {"Mul", "Sub"}.isdisjoint(kinds_opt) and kinds_opt.count("AddV2") == 1 and "Relu" in kinds_opt


def test_an_error_inside_a_fused_chain_names_the_op_that_raised():
    x = tf.placeholder(tf.int32, [None])
    y = tf.floordiv(x + 1, tf.placeholder_with_default(tf.constant([0, 0]), [None]), name="divide_me") * 2
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="divide_me"):
            sess.run(y, {x: np.array([1, 2], np.int32)})


def test_chain_stages_write_in_place_only_into_values_nobody_else_holds():
    from tensorflux._internal.passes.elementwise_chains import ElementwiseChain

    seen = []

    def add(x, y, *, donated=()):
        seen.append(donated)
        return np.add(x, y, out=x if donated else None)

    big = np.zeros(1 << 15, np.float32)
    chain = ElementwiseChain([(np.add, [0, 1], -1, None), (add, [-1, 1], 0, None), (add, [-1, 1], 0, None)])
    np.testing.assert_array_equal(chain(big, np.float32(1))[:2], [3.0, 3.0])
    assert seen == [(0,), (0,)] and not big.any()
    seen.clear()
    passthrough = ElementwiseChain([(lambda x, y: x, [0, 1], -1, None), (add, [-1, 1], 0, None)])
    passthrough(big, np.float32(1))
    assert seen == [()] and not big.any()  # the chain's input is the caller's: never written
