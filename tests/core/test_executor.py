"""The executor's plan: variable reads at each reader's step, early release of dead values, in-place kernels."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tensorflux as tf


def test_a_read_under_a_control_dependency_sees_the_assigned_value():
    v = tf.Variable(1.0)
    assign = v.assign(5.0)
    with tf.control_dependencies([assign]):
        after = v.read_value()
    before = v.value() * 1.0
    with tf.Session() as sess:
        sess.run(v.initializer)
        got_after = sess.run(after)
        assert got_after == 5.0
        sess.run(v.assign(1.0))
        b, a = sess.run([before, after])
        assert a == 5.0 and b in (1.0, 5.0)  # `before` has no ordering constraint against the assign


def test_each_reader_reads_the_variable_at_its_own_step():
    v = tf.Variable([1.0, 2.0])
    first = v.read_value()
    with tf.control_dependencies([first]):
        bump = v.assign_add([10.0, 10.0])
    with tf.control_dependencies([bump]):
        second = v.read_value()
    with tf.Session() as sess:
        sess.run(v.initializer)
        f, s = sess.run([first, second])
    np.testing.assert_array_equal(f, [1.0, 2.0])
    np.testing.assert_array_equal(s, [11.0, 12.0])


def test_fetching_the_variable_tensor_itself_still_works():
    v = tf.Variable([3.0])
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(v._ref), [3.0])


def test_in_place_kernels_never_touch_feeds_fetches_or_shared_values():
    x = tf.placeholder(tf.float32, [None])
    a = x + 1.0           # a is fetched: must not be overwritten by the adds that read it
    b = a * 2.0
    c = tf.identity(b)    # c aliases b's array; b is read again below
    d = c + 1.0
    e = b - 1.0
    feed_value = np.tile(np.array([1.0, 2.0, 3.0], np.float32), 1 << 14)  # large enough to be worth donating
    with tf.Session() as sess:
        got_a, got_d, got_e = sess.run([a, d, e], {x: feed_value})
    np.testing.assert_array_equal(feed_value[:3], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(got_a[:3], [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(got_d[:3], [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(got_e[:3], [3.0, 5.0, 7.0])


def test_a_chain_of_adds_reuses_one_buffer_and_gives_the_same_result():
    n = 1 << 15  # large enough to be worth donating
    x = tf.placeholder(tf.float32, [n])
    y = x
    for _ in range(10):
        y = y + 1.0
    feed = np.zeros(n, np.float32)
    with tf.Session(config={"disable_passes": "all"}) as sess:
        np.testing.assert_array_equal(sess.run(y, {x: feed}), np.full(n, 10.0))
        (plan, _), = sess._plans.values()
    donating = [step for step in plan.steps if step[5]]
    assert len(donating) >= 9  # every add after the first may write into its dead input (if large enough)
    np.testing.assert_array_equal(feed, np.zeros(n))


def test_dead_values_are_released_during_the_run():
    x = tf.placeholder(tf.float32, [1000])
    y = tf.exp(x)
    z = tf.reduce_sum(y)
    w = z + 1.0
    with tf.Session() as sess:
        sess.run(w, {x: np.zeros(1000, np.float32)})
        (plan, _), = sess._plans.values()
    ops = [op.type for op in plan.step_ops]
    dead = {op: step[4] for op, step in zip(ops, plan.steps)}
    assert dead["Sum"]  # Exp's output is dropped as soon as Sum has read it


def test_optimizer_updates_in_place_only_when_nobody_holds_the_old_value():
    v = tf.Variable(np.ones(4, np.float32))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(tf.reduce_sum(v * v))
    with tf.Session() as sess:
        sess.run(v.initializer)
        held = sess.run(v)  # a fetched copy: later updates must not show through it
        kept = sess.state.variables[v.op.name].value  # someone holding the stored array itself
        sess.run(train)
        np.testing.assert_array_equal(kept, np.ones(4))
        storage = weakref.ref(sess.state.variables[v.op.name].value)
        del kept
        gc.collect()
        sess.run(train)  # nobody else holds the array now: it is updated in place
        assert sess.state.variables[v.op.name].value is storage()
        np.testing.assert_array_equal(held, np.ones(4))
        np.testing.assert_allclose(sess.run(v), np.zeros(4))
        assert not sess.state.variables[v.op.name].value.flags.writeable


@pytest.fixture
def add_donations():
    """The ``donated`` positions each call of the cpu AddV2 kernel receives, recorded while the test runs."""
    from tensorflux._internal.registry import lookup_kernel
    from tensorflux.extend import ensure_discovered

    ensure_discovered()
    kdef = lookup_kernel("AddV2", "cpu", {"T": tf.float32})
    calls: list = []
    original = kdef.fn

    def spy(x, y, *, donated=()):
        calls.append(donated)
        return original(x, y, donated=donated)

    kdef.fn = spy
    yield calls
    kdef.fn = original


def test_a_dead_large_input_is_really_donated_at_run_time(add_donations):
    x = tf.placeholder(tf.float32, [None])
    y = tf.exp(x) + 1.0  # exp's result dies here: the add may write into it
    with tf.Session(config={"disable_passes": ["fusion"]}) as sess:
        out = sess.run(y, {x: np.zeros(1 << 15, np.float32)})
    np.testing.assert_array_equal(out[:2], [2.0, 2.0])
    assert add_donations == [(0,)]


# A real plugin (entry point in a temporary site) whose kernels lie about what they return, raise, or write
# into their inputs: the executor must name the op, the plugin, what the graph promised and what came back.
LIAR_PLUGIN = """
    import numpy as np
    from tensorflux.extend import hookimpl, Device
    TENSORFLUX_CONTRACT = "1.0"

    class Liar(Device):
        device_type = "liar"

    @hookimpl
    def tensorflux_register_devices(registrar):
        registrar.device(Liar(0))

    def wrong_shape(a, b):
        return np.zeros((7, 7, 7), a.dtype)

    def wrong_dtype(x, y):
        return (x - y).astype(np.float64)

    def raising(x, y):
        raise ValueError("the multiply broke")

    def scribbling(x):  # writes into its input without declaring ``donated``
        np.negative(x, out=x)
        return x

    def chain_raising(x):
        raise RuntimeError("the relu broke")

    def chain_wrong_shape(x):
        return np.exp(x)[:, :1]

    @hookimpl
    def tensorflux_register_kernels(registrar):
        for op, fn in {"MatMul": wrong_shape, "Sub": wrong_dtype, "Mul": raising, "Neg": scribbling,
                       "Square": np.square, "Relu": chain_raising, "Exp": chain_wrong_shape}.items():
            registrar.kernel(op, "liar", fn)
"""

LIAR_CODE = """
    import numpy as np
    import tensorflux as tf

    def attempt(label, fetch, feed=None, config=None):
        try:
            got = tf.Session(config=config).run(fetch, feed)
            print(label, "RETURNED", getattr(got, "dtype", None), getattr(got, "shape", None))
        except Exception as exc:
            print(label, type(exc).__name__, str(exc).replace("\\n", " "))

    a, b = tf.ones([2, 4]), tf.ones([4, 3])
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.device("/liar:0"):
        product = tf.matmul(a, b, name="product")
        difference = tf.subtract(x, 1.0, name="difference")
        broken = tf.multiply(x, 2.0, name="broken")
        negated = tf.negative(x, name="negated")
        fused_raise = tf.nn.relu(tf.square(x), name="fused_relu")
        fused_shape = tf.exp(tf.square(x), name="fused_exp")
    fed = np.arange(6, dtype=np.float32).reshape(2, 3)
    attempt("SHAPE", product)
    attempt("DTYPE", difference, {x: fed})
    attempt("RAISE", broken, {x: fed})
    attempt("SCRIBBLE", negated, {x: fed})
    print("FEED", fed.ravel().tolist())
    attempt("FUSED_RAISE", fused_raise, {x: fed})
    attempt("FUSED_SHAPE", fused_shape, {x: fed})
    attempt("UNFUSED_SHAPE", fused_shape, {x: fed}, {"disable_passes": "all"})
"""


@pytest.fixture(scope="module")
def liar_run(tmp_path_factory):
    from tests.plugin_sandbox import make_site, run

    result = run(make_site(tmp_path_factory.mktemp("liar"), plugins={"liar": LIAR_PLUGIN}), LIAR_CODE)
    assert result.returncode == 0, result.stderr
    return {line.split(" ", 1)[0]: line for line in result.stdout.splitlines()}


def test_a_kernel_returning_the_wrong_shape_fails_naming_op_plugin_and_both_shapes(liar_run):
    line = liar_run["SHAPE"]
    assert line.startswith("SHAPE InternalError "), line
    assert "op 'product' (MatMul)" in line and "plugin 'liar'" in line
    assert "shape [7, 7, 7]" in line and "shape [2, 3]" in line


def test_a_kernel_returning_the_wrong_dtype_fails_naming_op_plugin_and_both_dtypes(liar_run):
    line = liar_run["DTYPE"]
    assert line.startswith("DTYPE InternalError "), line
    assert "op 'difference' (Sub)" in line and "plugin 'liar'" in line
    assert "dtype float64" in line and "dtype float32" in line


def test_an_error_inside_a_kernel_names_the_op_and_its_plugin(liar_run):
    line = liar_run["RAISE"]
    assert line.startswith("RAISE InvalidArgumentError "), line
    assert "op 'broken' (Mul)" in line and "the multiply broke" in line and "plugin 'liar'" in line


def test_a_kernel_writing_into_its_input_cannot_change_the_callers_feed(liar_run):
    assert liar_run["FEED"] == "FEED [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]"
    line = liar_run["SCRIBBLE"]
    assert line.startswith("SCRIBBLE InvalidArgumentError "), line  # the write fails on the read-only feed
    assert "op 'negated' (Neg)" in line and "plugin 'liar'" in line and "read-only" in line


def test_a_fused_step_names_the_plugin_of_the_stage_that_raised(liar_run):
    line = liar_run["FUSED_RAISE"]
    assert "op 'fused_relu' (Relu)" in line and "the relu broke" in line and "plugin 'liar'" in line


def test_a_fused_steps_result_is_checked_against_its_last_ops_promise(liar_run):
    for label in ("FUSED_SHAPE", "UNFUSED_SHAPE"):
        line = liar_run[label]
        assert line.startswith(f"{label} InternalError "), line
        assert "op 'fused_exp' (Exp)" in line and "plugin 'liar'" in line
        assert "shape [2, 1]" in line and "shape [?, 3]" in line


def test_feeds_are_never_donated_to_in_place_kernels(add_donations):
    x = tf.placeholder(tf.float32, [None])
    y = x + 1.0  # the feed is dead after this add, and large enough to be worth donating
    with tf.Session(config={"disable_passes": ["fusion"]}) as sess:
        sess.run(y, {x: np.zeros(1 << 15, np.float32)})
        (plan, _), = sess._plans.values()
        # Even an array that nobody but the run holds (here, made by the generator) is the caller's feed.
        out = plan.run(np.zeros(1 << 15, np.float32) for _ in range(1))
    np.testing.assert_array_equal(out[0][:2], [1.0, 1.0])
    assert add_donations == [(), ()]
    assert not any(step[5] for step in plan.steps)


@pytest.fixture
def exp_results():
    """Weak references to each result of the cpu Exp kernel, and, per call, how many earlier results were alive."""
    from tensorflux._internal.registry import lookup_kernel
    from tensorflux.extend import ensure_discovered

    ensure_discovered()
    kdef = lookup_kernel("Exp", "cpu", {"T": tf.float32})
    seen: dict = {"refs": [], "alive": []}
    original = kdef.fn

    def spy(*args, **kwargs):
        seen["alive"].append(len({id(r()) for r in seen["refs"] if r() is not None}))
        out = original(*args, **kwargs)
        seen["refs"].append(weakref.ref(out))
        return out

    kdef.fn = spy
    yield seen
    kdef.fn = original


def test_each_intermediate_is_freed_once_its_last_reader_ran(exp_results):
    x = tf.placeholder(tf.float32, [4096])  # below the donation size: each step makes a new array
    y = x
    for _ in range(6):
        y = tf.log(tf.exp(y))  # each Exp result dies as soon as its Log has read it
    with tf.Session(config={"disable_passes": "all"}) as sess:  # one kernel call per op
        out = sess.run(y, {x: np.full(4096, 0.5, np.float32)})
    np.testing.assert_allclose(out, 0.5, rtol=1e-5)
    assert len(exp_results["alive"]) == 6
    # Released during the run, not when it ended: no Exp result outlived its reader into the next Exp.
    assert exp_results["alive"] == [0] * 6
    assert all(r() is None for r in exp_results["refs"])


def test_a_fetched_intermediate_stays_alive_for_the_caller(exp_results):
    x = tf.placeholder(tf.float32, [8])
    e = tf.exp(x)
    y = tf.exp(tf.log(e))
    with tf.Session(config={"disable_passes": "all"}) as sess:
        got_e, _ = sess.run([e, y], {x: np.zeros(8, np.float32)})
    assert exp_results["alive"] == [0, 1]  # e is fetched: still held when the second Exp runs
    np.testing.assert_array_equal(got_e, np.ones(8))
