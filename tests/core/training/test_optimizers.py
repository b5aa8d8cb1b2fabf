"""Optimizers: N steps on a fixed float64 problem against numpy references of TF's documented update rules.

Each optimizer runs twice: with the device's fused update kernel (ApplyAdam, ...) and with the update
composed from basic ops. The references below are written from TF's documentation, not from the
kernels, and compute the gradients analytically.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.registry import add_kernel, lookup_kernel, remove_kernel

STEPS = 10
TOLERANCE = 1e-6

# The fixed problem: loss = 0.5 * sum((X @ W + b - Y) ** 2), plus a separate scalar variable c with loss c**4 / 4.
RNG = np.random.default_rng(1234)
X = RNG.normal(size=(5, 3))
Y = RNG.normal(size=(5, 2))
W0 = RNG.normal(size=(3, 2))
B0 = RNG.normal(size=(2,))
C0 = 1.5


def analytic_grads(params: dict) -> dict:
    residual = X @ params["W"] + params["b"] - Y
    return {"W": X.T @ residual, "b": residual.sum(axis=0), "c": params["c"] ** 3}


def build_problem():
    w = tf.Variable(W0, name="W")
    b = tf.Variable(B0, name="b")
    c = tf.Variable(np.float64(C0), name="c")
    residual = tf.matmul(tf.constant(X), w) + b - tf.constant(Y)
    loss = 0.5 * tf.reduce_sum(tf.square(residual)) + 0.25 * tf.pow(c, 4.0)
    return {"W": w, "b": b, "c": c}, loss


# -- references, from the update formulas TF documents ------------------------------------------
def ref_gradient_descent(lr):
    def step(p, g, s, t):
        return p - lr(t) * g
    return step, {}


def ref_momentum(lr, momentum, use_nesterov=False):
    def step(p, g, s, t):
        s["momentum"] = momentum * s["momentum"] + g
        if use_nesterov:
            return p - lr(t) * g - lr(t) * momentum * s["momentum"]
        return p - lr(t) * s["momentum"]
    return step, {"momentum": 0.0}


def ref_adam(lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
    def step(p, g, s, t):
        n = t + 1
        lr_t = lr(t) * np.sqrt(1 - beta2 ** n) / (1 - beta1 ** n)
        s["m"] = beta1 * s["m"] + (1 - beta1) * g
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g
        return p - lr_t * s["m"] / (np.sqrt(s["v"]) + epsilon)
    return step, {"m": 0.0, "v": 0.0}


def ref_adagrad(lr, initial_accumulator_value=0.1):
    def step(p, g, s, t):
        s["accumulator"] = s["accumulator"] + g * g
        return p - lr(t) * g / np.sqrt(s["accumulator"])
    return step, {"accumulator": initial_accumulator_value}


def ref_rmsprop(lr, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False):
    def step(p, g, s, t):
        s["rms"] = decay * s["rms"] + (1 - decay) * g * g
        denom = s["rms"]
        if centered:
            s["mg"] = decay * s["mg"] + (1 - decay) * g
            denom = s["rms"] - s["mg"] ** 2
        s["momentum"] = momentum * s["momentum"] + lr(t) * g / np.sqrt(denom + epsilon)
        return p - s["momentum"]
    slots = {"rms": 1.0, "momentum": 0.0}
    if centered:
        slots["mg"] = 0.0
    return step, slots


def run_reference(reference, steps=STEPS):
    step, slot_init = reference
    params = {"W": W0.copy(), "b": B0.copy(), "c": np.float64(C0)}
    slots = {k: {name: np.full(np.shape(v), init) for name, init in slot_init.items()} for k, v in params.items()}
    for t in range(steps):
        grads = analytic_grads(params)
        params = {k: step(params[k], grads[k], slots[k], t) for k in params}
    return params, slots


CONST = lambda value: (lambda t: value)  # noqa: E731

OPTIMIZERS = {
    "gradient_descent": (lambda f: tf.train.GradientDescentOptimizer(0.01, fused=f), ref_gradient_descent(CONST(0.01)),
                         "ApplyGradientDescent"),
    "momentum": (lambda f: tf.train.MomentumOptimizer(0.01, 0.9, fused=f), ref_momentum(CONST(0.01), 0.9),
                 "ApplyMomentum"),
    "nesterov": (lambda f: tf.train.MomentumOptimizer(0.01, 0.8, use_nesterov=True, fused=f),
                 ref_momentum(CONST(0.01), 0.8, use_nesterov=True), "ApplyMomentum"),
    "adam": (lambda f: tf.train.AdamOptimizer(0.05, fused=f), ref_adam(CONST(0.05)), "ApplyAdam"),
    "adam_custom": (lambda f: tf.train.AdamOptimizer(0.1, beta1=0.5, beta2=0.9, epsilon=1e-3, fused=f),
                    ref_adam(CONST(0.1), 0.5, 0.9, 1e-3), "ApplyAdam"),
    "adagrad": (lambda f: tf.train.AdagradOptimizer(0.1, fused=f), ref_adagrad(CONST(0.1)), "ApplyAdagrad"),
    "adagrad_init": (lambda f: tf.train.AdagradOptimizer(0.2, initial_accumulator_value=0.5, fused=f),
                     ref_adagrad(CONST(0.2), 0.5), "ApplyAdagrad"),
    "rmsprop": (lambda f: tf.train.RMSPropOptimizer(0.01, fused=f), ref_rmsprop(CONST(0.01)), "ApplyRMSProp"),
    "rmsprop_momentum": (lambda f: tf.train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5, epsilon=1e-6, fused=f),
                         ref_rmsprop(CONST(0.01), 0.8, 0.5, 1e-6), "ApplyRMSProp"),
    "rmsprop_centered": (lambda f: tf.train.RMSPropOptimizer(0.01, momentum=0.3, centered=True, fused=f),
                         ref_rmsprop(CONST(0.01), 0.9, 0.3, 1e-10, centered=True), "ApplyCenteredRMSProp"),
}


def train(make_optimizer, steps=STEPS, feed_fn=None, **minimize_kwargs):
    variables, loss = build_problem()
    optimizer = make_optimizer()
    train_op = optimizer.minimize(loss, **minimize_kwargs)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for t in range(steps):
            sess.run(train_op, feed_fn(t) if feed_fn else None)
        values = sess.run(variables)
        slots = {name: {k: sess.run(optimizer.get_slot(v, name)) for k, v in variables.items()}
                 for name in optimizer.get_slot_names()}
    return values, slots, optimizer


def max_diff(got: dict, want: dict) -> float:
    return max(float(np.max(np.abs(np.asarray(got[k]) - want[k]))) for k in want)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_matches_tf_update_rule(name, fused):
    make, reference, fused_op = OPTIMIZERS[name]
    values, slots, optimizer = train(lambda: make(fused))
    op_types = {op.type for op in tf.get_default_graph().get_operations()}
    assert (fused_op in op_types) == fused
    want_values, want_slots = run_reference(reference)
    assert max_diff(values, want_values) < TOLERANCE
    assert sorted(slots) == sorted(reference[1]) == optimizer.get_slot_names()
    for slot_name in slots:
        assert max_diff(slots[slot_name], {k: s[slot_name] for k, s in want_slots.items()}) < TOLERANCE
    # The problem is not trivially solved in 10 steps: the variables moved, and not to where they started.
    assert max_diff(values, {"W": W0, "b": B0, "c": C0}) > 1e-3


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_learning_rate_fed_through_a_placeholder(fused):
    rates = [0.02 * (1 + t % 3) for t in range(STEPS)]
    lr = tf.placeholder(tf.float64, [], name="lr")
    values, _, _ = train(lambda: tf.train.MomentumOptimizer(lr, 0.9, fused=fused), feed_fn=lambda t: {lr: rates[t]})
    want, _ = run_reference(ref_momentum(lambda t: rates[t], 0.9))
    assert max_diff(values, want) < TOLERANCE


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_exponential_decay_of_the_global_step(fused, staircase):
    step = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(tf.constant(0.1, tf.float64), step, decay_steps=3, decay_rate=0.5,
                                    staircase=staircase)
    values, _, _ = train(lambda: tf.train.AdamOptimizer(lr, fused=fused), global_step=step)
    schedule = (lambda t: 0.1 * 0.5 ** (t // 3)) if staircase else (lambda t: 0.1 * 0.5 ** (t / 3))
    want, _ = run_reference(ref_adam(schedule))
    assert max_diff(values, want) < TOLERANCE


def test_minimize_with_a_global_step_increments_it():
    step = tf.train.get_or_create_global_step()
    variables, loss = build_problem()
    train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=step)
    assert train_op in tf.get_collection(tf.GraphKeys.TRAIN_OP)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(4):
            sess.run(train_op)
        assert tf.train.global_step(sess, step) == 4
    assert step.dtype == tf.int64 and not step.trainable


def test_global_step_helpers():
    assert tf.train.get_global_step() is None
    step = tf.train.create_global_step()
    assert tf.train.get_global_step() is step is tf.train.get_or_create_global_step()
    with pytest.raises(ValueError, match="global step already exists"):
        tf.train.create_global_step()
    assert step in tf.global_variables() and step not in tf.trainable_variables()


def test_float32_variables_and_a_float_learning_rate():
    w = tf.Variable([1.0, -2.0])
    train_op = tf.train.AdamOptimizer(0.1).minimize(tf.reduce_sum(tf.square(w)))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(w), [0.9, -1.9], rtol=1e-6)


def test_adam_with_variables_of_two_dtypes():
    w32 = tf.Variable([1.0], name="a32")
    w64 = tf.Variable(np.array([1.0]), name="b64")
    loss = tf.reduce_sum(w32 * w32) + tf.cast(tf.reduce_sum(w64 * w64), tf.float32)
    opt = tf.train.AdamOptimizer(0.1)
    train_op = opt.minimize(loss)
    beta1_power, _ = opt._get_beta_accumulators()
    assert beta1_power.dtype == tf.float32  # beside the first variable by name, as TF
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train_op)
        sess.run(train_op)
        assert sess.run(beta1_power) == pytest.approx(0.9 ** 3)
        np.testing.assert_allclose(sess.run(w64), sess.run(w32), rtol=1e-5)  # float32 rounding apart


def test_slots_are_named_beside_their_variable_and_not_trainable():
    variables, loss = build_problem()
    opt = tf.train.AdamOptimizer()
    opt.minimize(loss)
    assert opt.get_slot_names() == ["m", "v"]
    assert opt.get_slot(variables["W"], "m").name == "W/Adam:0"
    assert opt.get_slot(variables["W"], "v").name == "W/Adam_1:0"
    assert opt.get_slot(variables["W"], "nope") is None
    assert {v.name for v in opt.variables()} >= {"beta1_power:0", "beta2_power:0"}
    assert tf.trainable_variables() == list(variables.values())


def test_variables_without_gradients_are_skipped():
    variables, loss = build_problem()
    unused = tf.Variable(3.0, name="unused")
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    grads_and_vars = opt.compute_gradients(loss)
    assert [v for _, v in grads_and_vars] == [*variables.values(), unused]
    assert grads_and_vars[-1][0] is None
    opt.apply_gradients(grads_and_vars)
    assert opt.get_slot(unused, "momentum") is None


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match="No variables to optimize"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.constant(1.0) * 2.0)
    w = tf.Variable(1.0, name="w")
    v = tf.Variable(1.0, name="v")
    with pytest.raises(ValueError, match=r"No gradients provided for any variable.*'w:0'"):
        tf.train.GradientDescentOptimizer(0.1).minimize(v * 2.0, var_list=[w])
    with pytest.raises(TypeError, match="global_step must be a tf.Variable"):
        tf.train.GradientDescentOptimizer(0.1).minimize(w * 2.0, global_step=tf.constant(0))
    with pytest.raises(TypeError, match=r"gradient .* for variable 'w:0' is float64, but the variable is float32"):
        tf.train.GradientDescentOptimizer(0.1).apply_gradients([(tf.constant(1.0, tf.float64), w)])
    with pytest.raises(ValueError, match="initial_accumulator_value must be positive, got 0"):
        tf.train.AdagradOptimizer(0.1, initial_accumulator_value=0)


# -- update ops: chosen at plan time, never at graph build ---------------------------------------
@pytest.fixture
def no_cpu_momentum_kernel():
    kdef = lookup_kernel("ApplyMomentum", "cpu", {"T": tf.float64})
    remove_kernel(kdef)
    yield
    add_kernel(kdef)


def _op_types() -> list:
    return [op.type for op in tf.get_default_graph().get_operations()]


def test_the_graph_does_not_depend_on_which_kernels_are_installed():
    def build() -> list:
        with tf.Graph().as_default():
            w = tf.Variable(np.ones(2), name="weights")
            tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w * w))
            return _op_types()

    with_kernel = build()
    kdef = lookup_kernel("ApplyMomentum", "cpu", {"T": tf.float64})
    remove_kernel(kdef)
    try:
        without_kernel = build()
    finally:
        add_kernel(kdef)
    assert without_kernel == with_kernel
    assert "ApplyMomentum" in with_kernel


def test_an_update_op_without_a_kernel_fails_at_run_naming_the_op_and_device(no_cpu_momentum_kernel):
    w = tf.Variable(np.ones(2), name="weights")
    train_op = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w * w))
    with tf.Session() as sess:
        sess.run(w.initializer)
        sess.run(tf.variables_initializer(tf.global_variables()))
        with pytest.raises(tf.errors.NotFoundError,
                           match=r"'Momentum/update_weights/ApplyMomentum' \(ApplyMomentum, T=float64\) on device /cpu:0"):
            sess.run(train_op)


def test_fused_false_composes_the_update_from_basic_ops(no_cpu_momentum_kernel):
    values, _, _ = train(lambda: tf.train.MomentumOptimizer(0.01, 0.9, fused=False))
    assert "ApplyMomentum" not in _op_types()
    want, _ = run_reference(ref_momentum(CONST(0.01), 0.9))
    assert max_diff(values, want) < TOLERANCE


def test_with_a_device_kernel_the_fused_op_is_chosen_by_default():
    train(lambda: tf.train.RMSPropOptimizer(0.01))
    assert "ApplyRMSProp" in {op.type for op in tf.get_default_graph().get_operations()}
