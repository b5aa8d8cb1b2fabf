"""Each graph pass on its own: what it changes in the plan, that results stay the same, and switching it off."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.passes.cse import freeze
from tensorflux._internal.passes.pipeline import PASS_NAMES, disabled_passes


def _plan(sess):
    (plan, _), = sess._plans.values()
    return plan


def _kinds(sess):
    return [op.type for op in _plan(sess).step_ops]


def _run_both(fetch, feed=None, disabled=()):
    """(optimized value, plain value, optimized plan op types, plain plan op types)."""
    out = []
    for config in ({"disable_passes": list(disabled)}, {"disable_passes": "all"}):
        with tf.Session(config=config) as sess:
            out.append((sess.run(fetch, feed), _kinds(sess)))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def test_cse_runs_a_repeated_pure_subexpression_once():
    x = tf.placeholder(tf.float32, [3])
    y = tf.exp(x * 2.0) + tf.exp(x * 2.0)
    feed = {x: np.array([0.0, 1.0, -1.0], np.float32)}
    opt, plain, kinds_opt, kinds_plain = _run_both(y, feed, disabled=["constant_folding", "fusion"])
    np.testing.assert_array_equal(opt, plain)
    assert kinds_plain.count("Exp") == 2 and kinds_opt.count("Exp") == 1
    assert kinds_opt.count("Mul") == 1


def test_cse_keeps_a_fetched_duplicate_whatever_the_fetch_order():
    x = tf.placeholder(tf.float32, [None])
    a, b = tf.exp(x), tf.exp(x)
    c = tf.sqrt(a) * 2.0  # a chain that fusion would like to swallow a into
    feed = {x: np.ones(3, np.float32)}
    with tf.Session() as sess:
        got_c, got_b = sess.run([c, b], feed)
        got_b2, got_c2 = sess.run([b, c], feed)
    np.testing.assert_allclose(got_b, np.e, rtol=1e-6)
    np.testing.assert_allclose(got_c, 2 * np.sqrt(np.e), rtol=1e-6)
    np.testing.assert_array_equal(got_b, got_b2)
    np.testing.assert_array_equal(got_c, got_c2)


def test_cse_drops_identities():
    x = tf.placeholder(tf.float32, [2])
    y = tf.identity(tf.stop_gradient(x * 2.0)) + 1.0
    opt, plain, kinds_opt, kinds_plain = _run_both(y, {x: np.ones(2, np.float32)},
                                                   disabled=["constant_folding", "fusion"])
    np.testing.assert_array_equal(opt, plain)
    assert {"Identity", "StopGradient"} <= set(kinds_plain) and not {"Identity", "StopGradient"} & set(kinds_opt)


def test_cse_keeps_stateful_and_random_ops_apart():
    tf.set_random_seed(1)
    a, b = tf.random_uniform([4]), tf.random_uniform([4])
    with tf.Session() as sess:
        va, vb = sess.run([a, b])
    assert not np.array_equal(va, vb)


def test_cse_distinguishes_attributes():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    s0, s1 = tf.reduce_sum(x, 0), tf.reduce_sum(x, 1)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(s0), [4.0, 6.0])
        np.testing.assert_array_equal(sess.run(s1), [3.0, 7.0])
    assert freeze(0.0) != freeze(-0.0) and freeze([1, 2]) == freeze((1, 2))


def test_constant_folding_computes_constant_subgraphs_once():
    x = tf.placeholder(tf.float32, [2])
    c = tf.sqrt(tf.constant([4.0, 9.0])) * 3.0
    y = x + c
    feed = {x: np.array([1.0, 1.0], np.float32)}
    opt, plain, kinds_opt, kinds_plain = _run_both(y, feed, disabled=["cse", "fusion"])
    np.testing.assert_array_equal(opt, plain)
    np.testing.assert_array_equal(opt, [7.0, 10.0])
    assert kinds_opt == ["AddV2"] and {"Sqrt", "Mul"} <= set(kinds_plain)


def test_a_folded_fetch_is_a_fresh_writable_copy():
    c = tf.constant([1.0, 2.0]) * 2.0
    with tf.Session() as sess:
        first = sess.run(c)
        first[0] = 100.0
        np.testing.assert_array_equal(sess.run(c), [2.0, 4.0])


def test_constant_folding_leaves_failing_ops_to_fail_at_run_time():
    shape = tf.placeholder_with_default(tf.constant([2], tf.int32), [None])  # unknown until run time
    bad = tf.reshape(tf.constant([1.0, 2.0, 3.0]), shape)
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match="Reshape"):
        sess.run(bad)


def test_constant_folding_keeps_random_and_variable_ops():
    v = tf.Variable([1.0, 2.0])
    r = tf.random_uniform([2], seed=3)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert not np.array_equal(sess.run(r), sess.run(r))
        sess.run(v.assign([5.0, 6.0]))
        np.testing.assert_array_equal(sess.run(v * 1.0), [5.0, 6.0])


def test_fusion_makes_conv_bias_relu_one_kernel():
    rng = np.random.default_rng(0)
    x = tf.placeholder(tf.float32, [None, 6, 6, 2])
    w = tf.constant(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    b = tf.constant(rng.standard_normal(4).astype(np.float32))
    y = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b)
    z = tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID"), b)
    feed = {x: rng.standard_normal((2, 6, 6, 2)).astype(np.float32)}
    opt, plain, kinds_opt, kinds_plain = _run_both([y, z], feed, disabled=["cse", "constant_folding"])
    for got, want in zip(opt, plain):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert "Conv2D" not in kinds_opt and kinds_plain.count("Conv2D") == 2


def test_fusion_takes_a_following_2x2_max_pool_on_even_sizes_only():
    rng = np.random.default_rng(1)
    w = tf.constant(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    b = tf.constant(rng.standard_normal(4).astype(np.float32))
    for size, fused in ((6, True), (5, False)):
        x = tf.placeholder(tf.float32, [None, size, size, 2])
        h = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b)
        y = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        feed = {x: rng.standard_normal((3, size, size, 2)).astype(np.float32)}
        opt, plain, kinds_opt, kinds_plain = _run_both(y, feed)
        np.testing.assert_allclose(opt, plain, rtol=1e-6, atol=1e-6)
        # fused: one step (named after the chain's last op, the pool); else the pool stays a step of its own
        assert "Conv2D" not in kinds_opt and (kinds_opt == ["MaxPool"]) == fused and "MaxPool" in kinds_plain


def test_fusion_keeps_a_fetched_intermediate():
    x = tf.placeholder(tf.float32, [1, 4, 4, 1])
    conv = tf.nn.conv2d(x, tf.ones([2, 2, 1, 1]), [1, 1, 1, 1], "SAME")
    y = tf.nn.relu(conv + tf.constant([-1.0]))
    feed = {x: np.ones((1, 4, 4, 1), np.float32)}
    with tf.Session() as sess:
        c, out = sess.run([conv, y], feed)
        assert "Conv2D" in _kinds(sess)
    np.testing.assert_array_equal(out, np.maximum(c - 1.0, 0))


def test_passes_switch_off_by_environment(monkeypatch):
    monkeypatch.setenv("TENSORFLUX_DISABLE_PASSES", "cse, fusion")
    assert disabled_passes() == {"cse", "fusion"}
    monkeypatch.setenv("TENSORFLUX_DISABLE_PASSES", "all")
    assert disabled_passes() >= set(PASS_NAMES)
    x = tf.placeholder(tf.float32, [1])
    y = tf.exp(x) + tf.exp(x)
    with tf.Session() as sess:
        sess.run(y, {x: [0.0]})
        assert _kinds(sess).count("Exp") == 2


def test_unknown_pass_names_are_rejected_naming_the_known_ones(monkeypatch):
    with pytest.raises(ValueError, match="known passes: cse, constant_folding, fusion"):
        tf.Session(config={"disable_passes": ["cse", "inlining"]})
    monkeypatch.setenv("TENSORFLUX_DISABLE_PASSES", "folding")
    with pytest.raises(ValueError, match="'folding'"):
        disabled_passes()


def test_an_error_in_a_fused_convolution_names_the_convolution():
    x = tf.placeholder(tf.float32, [None, None, None, 2])
    w = tf.placeholder_with_default(tf.ones([3, 3, 2, 4]), [None, None, None, 4])
    y = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID", name="the_conv") + tf.ones([4]))
    with tf.Session() as sess:
        sess.run(y, {x: np.ones((1, 4, 4, 2), np.float32)})
        assert "Conv2D" not in _kinds(sess)  # fused
        with pytest.raises(tf.errors.InvalidArgumentError, match="the_conv"):
            sess.run(y, {x: np.ones((1, 2, 2, 2), np.float32)})  # smaller than the window


def test_fusion_makes_max_pool_grad_and_relu_grad_one_kernel():
    rng = np.random.default_rng(2)
    x = tf.placeholder(tf.float32, [None, 6, 6, 2])
    h = tf.nn.relu(x)
    pooled = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    overlapping = tf.nn.max_pool(tf.nn.relu(x * 2.0), [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
    loss = tf.reduce_sum(pooled * tf.constant(rng.standard_normal((3, 3, 2)).astype(np.float32)))
    loss += tf.reduce_sum(overlapping * overlapping)
    (dx,) = tf.gradients(loss, x)
    feed = {x: rng.standard_normal((4, 6, 6, 2)).astype(np.float32)}
    opt, plain, kinds_opt, kinds_plain = _run_both(dx, feed, disabled=["cse", "constant_folding"])
    np.testing.assert_array_equal(opt, plain)
    assert kinds_plain.count("MaxPoolGrad") == 2 and "MaxPoolGrad" not in kinds_opt


def test_fusion_leaves_a_relu_grad_at_another_tensor_alone():
    from tensorflux.extend import apply_op

    x = tf.placeholder(tf.float32, [1, 4, 4, 1])
    other = tf.placeholder(tf.float32, [1, 4, 4, 1])
    pooled = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    routed = apply_op("MaxPoolGrad", x, pooled, tf.ones_like(pooled), ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1],
                      padding="VALID")[0]
    masked = apply_op("ReluGrad", routed, other)[0]  # masked by another tensor than the pool's input
    feed = {x: np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1),
            other: np.where(np.arange(16) % 2, -1.0, 1.0).astype(np.float32).reshape(1, 4, 4, 1)}
    opt, plain, kinds_opt, _ = _run_both(masked, feed)
    np.testing.assert_array_equal(opt, plain)
    assert "MaxPoolGrad" in kinds_opt


def _dense_adam(fetch_grad=False):
    rng = np.random.default_rng(4)
    x = tf.placeholder(tf.float32, [None, 6])
    w = tf.Variable(rng.standard_normal((6, 5)).astype(np.float32))
    loss = tf.reduce_sum(tf.square(tf.matmul(x, w)))
    opt = tf.train.AdamOptimizer(0.1)
    grads = opt.compute_gradients(loss, [w])
    train = opt.apply_gradients(grads)
    feed = {x: rng.standard_normal((8, 6)).astype(np.float32)}
    return w, train, grads[0][0], feed


@pytest.mark.parametrize("fetch_grad", [False, True])
def test_fusion_applies_adam_to_a_weight_gradient_product_block_by_block(fetch_grad):
    values, kinds = [], []
    for config in ({}, {"disable_passes": "all"}):
        tf.reset_default_graph()
        w, train, grad, feed = _dense_adam()
        with tf.Session(config=config) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run([train, grad] if fetch_grad else train, feed)
            values.append(sess.run(w))
            kinds.append(max((plan for plan, _ in sess._plans.values()), key=lambda p: len(p.steps)))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-5, atol=1e-6)
    fused = [op.type for op in kinds[0].step_ops].count("MatMul") < [op.type for op in kinds[1].step_ops].count("MatMul")
    assert fused != fetch_grad  # a fetched gradient must exist as a value: no fusion then


@pytest.fixture
def fused_conv_without_pool():
    """The cpu's _FusedConv2D as a device kernel written before fusion took pools: no ``pool`` attribute."""
    import dataclasses

    from tensorflux._internal.registry import add_kernel, lookup_kernel, remove_kernel
    from tensorflux.extend import ensure_discovered

    ensure_discovered()
    real = lookup_kernel("_FusedConv2D", "cpu", {"T": tf.float32})

    def no_pool(x, f, bias, *, strides, padding, explicit_paddings, data_format, dilations, activation):
        return real.fn(x, f, bias, strides=strides, padding=padding, explicit_paddings=explicit_paddings,
                       data_format=data_format, dilations=dilations, activation=activation, pool="")

    older = dataclasses.replace(real, fn=no_pool)
    remove_kernel(real)
    add_kernel(older)
    yield
    remove_kernel(older)
    add_kernel(real)


def test_fusion_leaves_a_pool_to_itself_when_the_fused_kernel_takes_no_pool(fused_conv_without_pool):
    # Found on the opencl device: its fused kernel ignored the pool the pass had folded in, so inference
    # returned 4x the rows.
    rng = np.random.default_rng(2)
    w = tf.constant(rng.standard_normal((3, 3, 2, 4)).astype(np.float32))
    b = tf.constant(rng.standard_normal(4).astype(np.float32))
    x = tf.placeholder(tf.float32, [None, 6, 6, 2])
    y = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b), [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    feed = {x: rng.standard_normal((3, 6, 6, 2)).astype(np.float32)}
    opt, plain, kinds_opt, _ = _run_both(y, feed)
    assert opt.shape == plain.shape == (3, 3, 3, 4)
    np.testing.assert_allclose(opt, plain, rtol=1e-6, atol=1e-6)
    assert "Conv2D" not in kinds_opt and kinds_opt[-1] == "MaxPool" and len(kinds_opt) == 2


def test_the_fused_ops_the_pass_produces_are_the_contracts():
    from tensorflux._internal.passes.fusion import PRODUCES
    from tensorflux.extend import get_op_def
    from tensorflux.hookspec import FUSED_OPS

    assert set(PRODUCES) == set(FUSED_OPS)
    for name in FUSED_OPS:
        assert get_op_def(name).name == name
