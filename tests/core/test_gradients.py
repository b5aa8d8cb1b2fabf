"""tf.gradients: paths, stops, dtypes, broadcasting, registration and errors (numeric checks: test_gradient_checker)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.plugins import PluginInfo
from tensorflux.extend import OpDef, Registrar, apply_op
from tests.plugin_sandbox import make_site, run


def run_values(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_gradients_of_several_ys_are_summed():
    x = tf.constant([1.0, 2.0], tf.float64)
    y1, y2 = tf.reduce_sum(x * x), tf.reduce_sum(3.0 * x)
    (dx,) = tf.gradients([y1, y2], x)
    np.testing.assert_allclose(run_values(dx), [2.0 + 3.0, 4.0 + 3.0])


def test_gradients_over_several_paths_are_added_with_add_n():
    x = tf.placeholder(tf.float64, [3])
    y = tf.reduce_sum(x * x + tf.exp(x))
    (dx,) = tf.gradients(y, x)
    assert "AddN" in {op.type for op in tf.get_default_graph().get_operations() if op.name.startswith("gradients/")}
    value = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(run_values(dx, {x: value}), 2 * value + np.exp(value))


def test_unconnected_xs_get_none_or_zeros():
    x, z = tf.placeholder(tf.float64, [2]), tf.placeholder(tf.float64, [2])
    y = tf.reduce_sum(x * 2.0)
    assert tf.gradients(y, [x, z])[1] is None
    zeros = tf.gradients(y, z, unconnected_gradients="zero")[0]
    np.testing.assert_array_equal(run_values(zeros, {x: [1, 2], z: [3, 4]}), [0.0, 0.0])


def test_stop_gradient_blocks_its_input():
    x = tf.placeholder(tf.float64, [])
    y = x * x + tf.stop_gradient(x * x)
    (dx,) = tf.gradients(y, x)
    assert run_values(dx, {x: 3.0}) == pytest.approx(6.0)
    assert tf.gradients(tf.stop_gradient(x), x) == [None]


def test_stop_gradients_argument_treats_tensors_as_constants():
    # TF's documented example: with a and b both stopped, d(a+b)/da and d(a+b)/db are 1.
    a = tf.constant(0.0)
    b = 2 * a
    da, db = tf.gradients(a + b, [a, b], stop_gradients=[a, b])
    assert run_values([da, db]) == [1.0, 1.0]
    (da_full,) = tf.gradients(a + b, a)
    assert run_values(da_full) == 3.0


def test_integer_and_bool_paths_carry_no_gradient():
    x = tf.placeholder(tf.float64, [3])
    through_int = tf.cast(tf.cast(x, tf.int32), tf.float64)
    assert tf.gradients(tf.reduce_sum(through_int), x) == [None]
    assert tf.gradients(tf.argmax(x), x) == [None]
    mask = tf.cast(x > 0.0, tf.float64)
    (dx,) = tf.gradients(tf.reduce_sum(mask * x), x)
    np.testing.assert_array_equal(run_values(dx, {x: [1.0, -2.0, 3.0]}), [1.0, 0.0, 1.0])
    n = tf.placeholder(tf.int32, [3])
    assert tf.gradients(tf.reduce_sum(n * 2), n) == [None]


def test_broadcast_gradients_reduce_to_each_input_shape():
    a = tf.placeholder(tf.float64, [2, 1, 3])
    b = tf.placeholder(tf.float64, [4, 1])
    c = tf.placeholder(tf.float64, [])
    y = tf.reduce_sum(a * b + c)
    da, db, dc = tf.gradients(y, [a, b, c])
    assert (da.shape, db.shape, dc.shape) == (tf.TensorShape([2, 1, 3]), tf.TensorShape([4, 1]), tf.TensorShape([]))
    av, bv = np.arange(6.0).reshape(2, 1, 3), np.arange(4.0).reshape(4, 1)
    got = run_values([da, db, dc], {a: av, b: bv, c: 1.0})
    np.testing.assert_allclose(got[0], np.full((2, 1, 3), bv.sum()))
    np.testing.assert_allclose(got[1], np.full((4, 1), av.sum()))
    assert got[2] == 2 * 4 * 3


def test_broadcast_gradients_with_unknown_shapes():
    a = tf.placeholder(tf.float64, [None, None])
    b = tf.placeholder(tf.float64, None)
    da, db = tf.gradients(tf.reduce_sum(a * b), [a, b])
    av, bv = np.ones((2, 3)), np.array([1.0, 2.0, 3.0])
    got = run_values([da, db], {a: av, b: bv})
    np.testing.assert_allclose(got[0], np.tile(bv, (2, 1)))
    np.testing.assert_allclose(got[1], [2.0, 2.0, 2.0])


def test_grad_ys_seed_the_backward_pass():
    x = tf.placeholder(tf.float64, [2])
    (dx,) = tf.gradients(x * 3.0, x, grad_ys=[np.array([1.0, 10.0])])
    np.testing.assert_allclose(run_values(dx, {x: [0.0, 0.0]}), [3.0, 30.0])
    with pytest.raises(ValueError, match=r"grad_ys\[0\].*shape \(3,\).*shape \(2,\)"):
        tf.gradients(x * 3.0, x, grad_ys=[tf.constant([1.0, 2.0, 3.0], tf.float64)])


def test_gradients_with_respect_to_a_variable_flow_through_every_read():
    w = tf.Variable([1.0, 2.0], dtype=tf.float64)
    y = tf.reduce_sum(w * w) + tf.reduce_sum(w.read_value() * 3.0)
    (dw,) = tf.gradients(y, w)
    np.testing.assert_allclose(run_values(dw), [2.0 + 3.0, 4.0 + 3.0])


def test_second_derivatives():
    x = tf.placeholder(tf.float64, [])
    (dx,) = tf.gradients(x * x * x, x)
    (ddx,) = tf.gradients(dx, x)
    assert run_values([dx, ddx], {x: 2.0}) == [12.0, 12.0]


def test_gradient_ops_are_built_under_the_gradients_scope():
    x = tf.placeholder(tf.float32, [2], name="x")
    (dx,) = tf.gradients(tf.reduce_sum(tf.square(x, name="sq")), x)
    assert dx.name.startswith("gradients/sq_grad/")
    (dx2,) = tf.gradients(tf.reduce_sum(x), x, name="my_grads")
    assert dx2.name.startswith("my_grads/")


def test_tensors_from_another_graph_are_refused():
    x = tf.constant(1.0)
    with tf.Graph().as_default():
        y = tf.constant(2.0) * 3.0
    with pytest.raises(ValueError, match="different graph"):
        tf.gradients(y, x)


# -- third-party ops ------------------------------------------------------------------------------
@pytest.fixture
def swish_op(request):
    """A plugin-style op, registered through a Registrar and rolled back afterwards."""
    name = "TestSwish" + request.node.name.replace("test_", "").title().replace("_", "")
    registrar = Registrar(PluginInfo(f"test-{name}"))
    registrar.op(OpDef(name, inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
                       shape_fn=lambda op: [op.inputs[0].shape]))
    registrar.kernel(name, "cpu", lambda x: x / (1 + np.exp(-x)))
    yield name
    registrar.rollback()


def test_register_gradient_for_a_third_party_op(swish_op):
    @tf.RegisterGradient(swish_op)
    def _swish_grad(op, grad):
        x = op.inputs[0]
        s = tf.reciprocal(1.0 + tf.exp(-x))
        return [grad * (s + x * s * (1.0 - s))]

    x = tf.placeholder(tf.float64, [4])
    (y,) = apply_op(swish_op, x)
    err = tf.test.compute_gradient_error(x, [4], y, [4], x_init_value=[-2.0, -0.5, 0.3, 1.7], delta=1e-6)
    assert err < 1e-7
    with pytest.raises(ValueError, match=rf"gradient for op type '{swish_op}' is already registered "
                                         r"\(first at .*test_gradients.py"):
        tf.RegisterGradient(swish_op)(lambda op, grad: [grad])


def test_op_without_a_gradient_names_itself_and_the_fix(swish_op):
    x = tf.placeholder(tf.float64, [4])
    (y,) = apply_op(swish_op, x, name="my_swish")
    with pytest.raises(LookupError, match=rf"No gradient defined for operation 'my_swish' \(op type: {swish_op}\).*"
                                          rf"tf.RegisterGradient\('{swish_op}'\)"):
        tf.gradients(y, x)


def test_not_differentiable_op_gives_none(swish_op):
    tf.NotDifferentiable(swish_op)
    x = tf.placeholder(tf.float64, [4])
    (y,) = apply_op(swish_op, x)
    assert tf.gradients(y + x, x)[0] is not None
    assert tf.gradients(y, x) == [None]


def test_gradient_attached_to_the_op_def():
    registrar = Registrar(PluginInfo("test-opdef-grad"))
    registrar.op(OpDef("TestTriple", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
                       shape_fn=lambda op: [op.inputs[0].shape], grad=lambda op, grad: [grad * 3.0]))
    try:
        x = tf.placeholder(tf.float64, [2])
        (y,) = apply_op("TestTriple", x)
        (dx,) = tf.gradients(y, x)
        np.testing.assert_allclose(run_values(dx, {x: [1.0, 2.0]}), [3.0, 3.0])
        with pytest.raises(ValueError, match=r"gradient for op type 'TestTriple' is already registered \(first at "
                                             r".*test_gradients.py:\d+\); second registration at .*test_gradients.py"):
            tf.RegisterGradient("TestTriple")(lambda op, grad: [grad])
    finally:
        registrar.rollback()
    with pytest.raises(LookupError, match="No gradient defined for operation"):  # the rollback took the gradient
        tf.gradients(y, x)


def test_one_gradient_store_for_op_defs_and_register_gradient():
    """An OpDef's grad and tf.RegisterGradient file into the same store: either clashes with the other."""
    registrar = Registrar(PluginInfo("test-one-store"))
    registrar.op(OpDef("TestStoreOp", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
                       shape_fn=lambda op: [op.inputs[0].shape], differentiable=False))
    try:
        with pytest.raises(ValueError, match="gradient for op type 'TestStoreOp' is declared not differentiable"):
            tf.RegisterGradient("TestStoreOp")(lambda op, grad: [grad])
        with pytest.raises(ValueError, match="'TestStoreOp' is declared not differentiable"):
            tf.NotDifferentiable("TestStoreOp")
    finally:
        registrar.rollback()


def test_gradient_function_returning_the_wrong_count_is_named(swish_op):
    tf.RegisterGradient(swish_op)(lambda op, grad: [grad, grad])
    x = tf.placeholder(tf.float64, [4])
    (y,) = apply_op(swish_op, x, name="twice")
    with pytest.raises(ValueError, match=r"op 'twice' \(.*\) returned 2 gradients, but the op has 1 inputs"):
        tf.gradients(y, x)


def test_gradient_function_returning_a_wrong_shape_is_named(swish_op):
    tf.RegisterGradient(swish_op)(lambda op, grad: [tf.reduce_sum(grad)])
    x = tf.placeholder(tf.float64, [4])
    (y,) = apply_op(swish_op, x, name="shrinks")
    with pytest.raises(ValueError, match=r"op 'shrinks' .* shape \(\) for input 0 .* has shape \(4,\)"):
        tf.gradients(y, x)


PLUGIN_WITH_GRADIENT = """
import numpy as np
from tensorflux.extend import OpDef, hookimpl, register_gradient

TENSORFLUX_CONTRACT = "1.0"


@hookimpl
def tensorflux_register_ops(registrar):
    registrar.op(OpDef("Cube", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
                       shape_fn=lambda op: [op.inputs[0].shape]))


@hookimpl
def tensorflux_register_kernels(registrar):
    registrar.kernel("Cube", "cpu", lambda x: x ** 3)


@register_gradient("Cube")
def _cube_grad(op, grad):
    x = op.inputs[0]
    return [grad * 3.0 * x * x]
"""


def test_an_installed_plugin_registers_a_gradient_for_its_op(tmp_path):
    site = make_site(tmp_path, plugins={"cube": PLUGIN_WITH_GRADIENT})
    result = run(site, """
        import tensorflux as tf
        from tensorflux.extend import apply_op
        tf.Session()  # discovers the installed plugins
        x = tf.placeholder(tf.float64, [3])
        (y,) = apply_op("Cube", x)
        (dx,) = tf.gradients(tf.reduce_sum(y), x)
        print("GRAD", tf.Session().run(dx, {x: [1.0, 2.0, -1.0]}).tolist())
    """)
    assert result.returncode == 0, result.stderr
    assert "GRAD [3.0, 12.0, 3.0]" in result.stdout


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (0, True), ([0, 1], False), (1, True)])
def test_mean_and_sum_gradients_over_a_dynamic_batch(axis, keepdims):
    x = tf.placeholder(tf.float64, [None, 3])
    loss = tf.reduce_mean(x, axis=axis, keepdims=keepdims) * 2.0 + tf.reduce_sum(x, axis=axis, keepdims=keepdims)
    (dx,) = tf.gradients(tf.reduce_sum(loss), x)
    for rows in (1, 4):
        value = np.arange(rows * 3, dtype=np.float64).reshape(rows, 3)
        count = value.size // np.sum(value, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims).size
        np.testing.assert_allclose(run_values(dx, {x: value}), np.full_like(value, 2.0 / count + 1.0))
