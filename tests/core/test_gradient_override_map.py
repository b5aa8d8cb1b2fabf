"""Graph.gradient_override_map: the ``_gradient_op_type`` attr, honoured by tf.gradients, as in TF."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorflux as tf

_NAMES = itertools.count()


def _unique(prefix: str) -> str:
    # Gradient registries are process-wide in both frameworks: each registration needs a new name.
    return f"{prefix}{next(_NAMES)}"


def _register_both(tfr, fn):
    name = _unique("OverrideTestGrad")
    tf.RegisterGradient(name)(fn)
    tfr.RegisterGradient(name)(fn)
    return name


def _py_func_square(lib, name, values):
    """The classic pattern: a py_func given a gradient through the override map."""
    g = lib.get_default_graph()
    x = lib.constant(values)
    with g.gradient_override_map({"PyFunc": name}):
        y = lib.py_func(lambda a: a * a, [x], lib.float64)
    y.set_shape(x.shape)
    return x, y


def test_py_func_gets_a_gradient_as_in_tf(tfr):
    def square_grad(op, grad):
        return [grad * 2.0 * op.inputs[0]]

    name = _register_both(tfr, square_grad)
    values = np.array([1.0, -2.0, 3.0])
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default():
            x, y = _py_func_square(lib, name, values)
            (dx,) = lib.gradients(lib.reduce_sum(y * 3.0), x)
            assert y.op.get_attr("_gradient_op_type") == name.encode()
            with lib.Session() as sess:
                results.append(sess.run([y, dx]))
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a)
    np.testing.assert_allclose(results[1][1], 6.0 * values)


def test_identity_override_scopes_nest_and_restore(tfr):
    def negate(op, grad):
        return [-grad]

    def double(op, grad):
        return [2.0 * grad]

    neg, dbl = _register_both(tfr, negate), _register_both(tfr, double)
    results = []
    for lib in (tfr, tf):
        with lib.Graph().as_default() as g:
            x = lib.constant([1.0, 2.0])
            with g.gradient_override_map({"Identity": neg}):
                a = lib.identity(x)
                with g.gradient_override_map({"Identity": dbl}):
                    b = lib.identity(a)
                c = lib.identity(b)
            d = lib.identity(c)
            attrs = []
            for t in (a, b, c):
                attrs.append(t.op.get_attr("_gradient_op_type"))
            with pytest.raises(ValueError):
                d.op.get_attr("_gradient_op_type")
            with lib.Session() as sess:
                results.append((attrs, sess.run(lib.gradients(lib.reduce_sum(d), x))))
    assert results[0][0] == results[1][0] == [neg.encode(), dbl.encode(), neg.encode()]
    np.testing.assert_allclose(results[1][1][0], results[0][1][0])
    np.testing.assert_allclose(results[1][1][0], [2.0, 2.0])  # -1 * 2 * -1


def test_override_survives_graph_def_both_ways(tfr):
    def triple(op, grad):
        return [3.0 * grad]

    name = _register_both(tfr, triple)
    for writer, reader in ((tfr, tf), (tf, tfr), (tf, tf)):
        with writer.Graph().as_default() as g:
            x = writer.constant([1.0, 2.0], name="x")
            with g.gradient_override_map({"Identity": name}):
                writer.identity(x, name="y")
            data = g.as_graph_def().SerializeToString()
        with reader.Graph().as_default() as g2:
            reader.import_graph_def(data if reader is tf else tfr.GraphDef.FromString(data), name="")
            x, y = g2.get_tensor_by_name("x:0"), g2.get_tensor_by_name("y:0")
            assert y.op.get_attr("_gradient_op_type") == name.encode()
            with reader.Session() as sess:
                np.testing.assert_allclose(sess.run(reader.gradients(y, x))[0], [3.0, 3.0])


def test_unregistered_override_and_bad_maps_are_errors():
    g = tf.get_default_graph()
    x = tf.constant(1.0)
    with g.gradient_override_map({"Identity": "NoSuchGradientAnywhere"}):
        y = tf.identity(x)
    with pytest.raises(LookupError, match="overridden to 'NoSuchGradientAnywhere' by gradient_override_map"):
        tf.gradients(y, x)
    with pytest.raises(TypeError, match="mapping strings to strings"):
        with g.gradient_override_map({"Identity": 3}):
            pass


def test_overrides_reach_ops_traced_inside_control_flow():
    @tf.RegisterGradient("OverrideInsideCondTripleGrad")
    def _triple(op, grad):
        return [3.0 * grad]

    x = tf.constant(2.0)
    with tf.get_default_graph().gradient_override_map({"Identity": "OverrideInsideCondTripleGrad"}):
        y = tf.cond(x > 0.0, lambda: tf.identity(x), lambda: x * 0.0)
    (g,) = tf.gradients(y, [x])
    assert tf.Session().run(g) == 3.0
