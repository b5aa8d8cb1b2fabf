"""Stateful ops inside tf.cond, tf.while_loop and tf.map_fn functions: variable updates and random draws reach the
session's state, against TF 2.21's compat.v1 where TF can say."""

import numpy as np
import pytest

import tensorflux as tf


def _assign_in_cond(lib):
    v = lib.Variable(0.0, name="v")
    p = lib.placeholder(lib.bool, [], name="p")
    y = lib.cond(p, lambda: lib.assign_add(v, 1.0), lambda: lib.identity(v))
    return v, p, y


def _run_flags(lib, sess, build):
    v, p, y = build(lib)
    sess.run(lib.global_variables_initializer())
    return [float(sess.run(y, {p: flag})) for flag in (True, True, False, True, False)] + [float(sess.run(v))]


def test_assign_in_a_branch_happens_only_when_taken_as_in_tf(tfr):
    ours = _run_flags(tf, tf.Session(), _assign_in_cond)
    with tfr.Graph().as_default():
        theirs = _run_flags(tfr, tfr.Session(), _assign_in_cond)
    assert ours == theirs
    assert ours[-1] == 3.0  # three true runs, and the false branch never assigned


def _control_deps_in_cond(lib):
    v = lib.Variable(1.0, name="v")
    p = lib.placeholder(lib.bool, [], name="p")
    x = lib.constant(10.0)

    def update():
        with lib.control_dependencies([lib.assign(v, v * 2.0)]):
            return x + lib.identity(v)  # the read waits for the assign: it sees the doubled value

    return v, p, lib.cond(p, update, lambda: x)


def test_control_dependencies_inside_a_branch_order_the_update_before_the_output(tfr):
    ours = _run_flags(tf, tf.Session(), _control_deps_in_cond)
    with tfr.Graph().as_default():
        theirs = _run_flags(tfr, tfr.Session(), _control_deps_in_cond)
    assert ours == theirs
    assert ours[-1] == 8.0


def _counting_loop(lib):
    counter = lib.Variable(0, name="counter")
    n = lib.placeholder(lib.int32, [], name="n")

    def body(i):
        with lib.control_dependencies([lib.assign_add(counter, 1)]):
            return i + 1

    return counter, n, lib.while_loop(lambda i: i < n, body, [lib.constant(0)])


def test_an_assign_in_a_loop_body_happens_once_per_iteration_as_in_tf(tfr):
    def runs(lib, sess):
        counter, n, out = _counting_loop(lib)
        sess.run(lib.global_variables_initializer())
        return [(int(sess.run(out, {n: k})), int(sess.run(counter))) for k in (4, 0, 3)]

    ours = runs(tf, tf.Session())
    with tfr.Graph().as_default():
        theirs = runs(tfr, tfr.Session())
    assert ours == theirs == [(4, 4), (0, 4), (3, 7)]


def test_an_update_no_output_needs_still_happens_when_the_branch_runs():
    v = tf.Variable(0.0)
    p = tf.placeholder(tf.bool, [])

    def effect_only():
        tf.assign_add(v, 5.0)
        return tf.constant(1.0)

    y = tf.cond(p, effect_only, lambda: tf.constant(2.0))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert [float(sess.run(y, {p: f})) for f in (True, False, True)] == [1.0, 2.0, 1.0]
        assert float(sess.run(v)) == 10.0


def _dropout_cond(seed=None):
    x = tf.placeholder(tf.float32, [2000])
    training = tf.placeholder(tf.bool, [])
    y = tf.cond(training, lambda: tf.nn.dropout(x * 3.0, keep_prob=0.5, seed=seed), lambda: x * 3.0)
    (g,) = tf.gradients(tf.reduce_sum(y), [x])
    return x, training, y, g


def test_dropout_in_a_cond_masks_in_training_and_its_gradient_uses_the_same_mask():
    x, training, y, g = _dropout_cond()
    ones = np.ones(2000, np.float32)
    with tf.Session() as sess:
        out, grad = sess.run([y, g], {x: ones, training: True})
        again, _ = sess.run([y, g], {x: ones, training: True})
        plain, plain_grad = sess.run([y, g], {x: ones, training: False})
    kept = out != 0
    assert 0.4 < 1 - kept.mean() < 0.6  # keep_prob 0.5 over 2000 draws: about half are zeros
    np.testing.assert_allclose(out[kept], 6.0)  # 3x scaled by 1/keep_prob
    np.testing.assert_array_equal(grad, np.where(kept, 6.0, 0.0))  # the forward's mask, not a new draw
    assert not np.array_equal(again != 0, kept)  # each run draws a new mask
    np.testing.assert_array_equal(plain, 3.0 * ones)
    np.testing.assert_array_equal(plain_grad, 3.0 * ones)


def test_a_seeded_random_op_in_a_branch_repeats_across_sessions_and_advances_within_one():
    tf.set_random_seed(7)
    p = tf.placeholder(tf.bool, [])
    y = tf.cond(p, lambda: tf.random_uniform([4], seed=3), lambda: tf.zeros([4]))
    z = tf.cond(p, lambda: tf.random_uniform([4]), lambda: tf.random_uniform([4]))  # the graph seed's rule alone
    runs = []
    for _ in range(2):
        with tf.Session() as sess:
            runs.append([sess.run([y, z], {p: f}) for f in (True, True, False)])
    np.testing.assert_array_equal(np.array(runs[0]), np.array(runs[1]))
    (y1, z1), (y2, z2), (_, z3) = runs[0]
    assert not np.array_equal(y1, y2) and not np.array_equal(z1, z2)
    assert not np.array_equal(z1, z3)  # the two branches' ops have streams of their own


def test_random_draws_in_a_loop_body_differ_per_iteration():
    def body(i, acc):
        return i + 1, acc + tf.one_hot(i, 5) * tf.random_uniform([])

    _, acc = tf.while_loop(lambda i, a: i < 5, body, (tf.constant(0), tf.zeros([5])))
    values = tf.Session().run(acc)
    assert len(set(values.tolist())) == 5 and np.all((values >= 0) & (values < 1))


def test_random_draws_in_map_fn_differ_per_row_and_per_run():
    rows = tf.map_fn(lambda r: r + tf.random_uniform([3]), tf.zeros([6, 3]))
    with tf.Session() as sess:
        first, second = sess.run(rows), sess.run(rows)
    assert len({tuple(r) for r in first.tolist()}) == 6
    assert not np.array_equal(first, second)


def test_identical_stateful_conds_both_run_and_a_constant_predicate_is_not_folded():
    v = tf.Variable(0.0)
    ys = [tf.cond(tf.constant(True), lambda: tf.assign_add(v, 1.0), lambda: tf.identity(v)) for _ in range(2)]
    r = tf.cond(tf.constant(True), lambda: tf.random_uniform([3]), lambda: tf.zeros([3]))
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sorted(float(a) for a in sess.run(ys)) == [1.0, 2.0]  # not merged into one
        assert float(sess.run(v)) == 2.0
        assert not np.array_equal(sess.run(r), sess.run(r))


def test_the_gradient_of_a_loop_with_random_draws_is_refused_by_name():
    x = tf.constant(1.0)
    _, y = tf.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, a * x + tf.random_uniform([])), (0, x))
    with pytest.raises(ValueError, match="RandomUniform.*reruns the loop"):
        tf.gradients(y, [x])


def test_a_cond_assigning_a_resource_variable_exports_as_a_stateful_if_that_tf_runs(tfr):
    from tensorflux._internal.resource_variables import ResourceVariable

    v = ResourceVariable._create(0.0, "v")
    p = tf.placeholder(tf.bool, [], name="p")
    y = tf.identity(tf.cond(p, lambda: v.assign_add(1.0), lambda: v.read_value()), name="y")
    gdef = tf.get_default_graph().as_graph_def()
    assert [n.op for n in gdef.node if n.name == y.op.inputs[0].op.name] == ["If"]
    with tf.Session() as sess:
        sess.run(v.initializer)
        ours = [float(sess.run(y, {p: f})) for f in (True, True, False, True)]
    g = tfr.Graph()
    with g.as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(gdef.SerializeToString()), name="")
        with tfr.Session() as sess:
            sess.run(g.get_operation_by_name(v.initializer.name))
            theirs = [float(sess.run("y:0", {"p:0": f})) for f in (True, True, False, True)]
    assert ours == theirs == [1.0, 2.0, 2.0, 3.0]


def test_a_ref_variable_used_in_a_branch_is_refused_on_export_by_name():
    _assign_in_cond(tf)
    with pytest.raises(Exception, match="ref variable 'v'.*resource variables"):
        tf.get_default_graph().as_graph_def()


def test_a_tf_written_stateful_cond_imports_and_runs_its_assign_and_draws_here(tfr):
    g = tfr.Graph()
    with g.as_default():
        v = tfr.Variable(0.0, name="v")
        p = tfr.placeholder(tfr.bool, [], name="p")
        tfr.identity(tfr.cond(p, lambda: v.assign_add(1.0), lambda: v.read_value()), name="y")
        tfr.identity(tfr.cond(p, lambda: tfr.random_uniform([3]), lambda: tfr.zeros([3])), name="r")
        gdef, init = g.as_graph_def(), v.initializer.name
    assert {n.op for n in gdef.node} >= {"If", "VarHandleOp"}
    tf.import_graph_def(gdef.SerializeToString(), name="")
    with tf.Session() as sess:
        sess.run(tf.get_default_graph().get_operation_by_name(init))
        assert [float(sess.run("y:0", {"p:0": f})) for f in (True, True, False, True)] == [1.0, 2.0, 2.0, 3.0]
        assert not np.array_equal(sess.run("r:0", {"p:0": True}), sess.run("r:0", {"p:0": True}))


def _run_in_tf(tfr, gdef, fetch):
    g = tfr.Graph()
    with g.as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(gdef.SerializeToString()), name="")
        with tfr.Session() as sess:
            return sess.run(fetch), sess.run(fetch)


def test_loops_and_map_fn_with_random_draws_export_as_tf_stateful_ops_that_tf_runs(tfr):
    def body(i, acc):
        return i + 1, acc + tf.one_hot(i, 5) * tf.random_uniform([])

    _, acc = tf.while_loop(lambda i, a: i < 5, body, (tf.constant(0), tf.zeros([5])))
    tf.identity(acc, name="acc")
    tf.identity(tf.map_fn(lambda r: r + tf.random_uniform([3]), tf.zeros([6, 3])), name="rows")
    gdef = tf.get_default_graph().as_graph_def()
    ops = {n.op for n in gdef.node} | {n.op for f in gdef.library.function for n in f.node_def}
    assert {"While", "StatefulPartitionedCall"} <= ops and "StatelessWhile" not in ops
    (acc1, rows1), (acc2, rows2) = _run_in_tf(tfr, gdef, ["acc:0", "rows:0"])
    assert len(set(acc1.tolist())) == 5 and len({tuple(r) for r in rows1.tolist()}) == 6
    assert not np.array_equal(acc1, acc2) and not np.array_equal(rows1, rows2)


def test_the_gradient_of_an_imported_cond_with_random_draws_is_refused_by_name(tfr):
    g = tfr.Graph()
    with g.as_default():
        x = tfr.placeholder(tfr.float32, [3], name="x")
        tfr.identity(tfr.cond(x[0] > 0.0, lambda: x * tfr.random_uniform([3]), lambda: x), name="y")
        gdef = g.as_graph_def()
    (y,) = tf.import_graph_def(gdef.SerializeToString(), name="", return_elements=["y:0"])
    with pytest.raises(ValueError, match="RandomUniform.*keeps no forward values"):
        tf.gradients(y, [tf.get_default_graph().get_tensor_by_name("x:0")])
