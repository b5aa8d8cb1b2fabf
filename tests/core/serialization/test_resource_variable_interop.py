"""Meta graphs and GraphDefs that TF 2.21 writes with resource variables (compat.v1's default) import and run here.

TensorFlow (the reference) builds a small model in graph mode without ``disable_resource_variables()``: its
variables are ``VarHandleOp`` handles read by ``ReadVariableOp`` and updated by ``ResourceApply*``, the scatter ops
and ``AssignVariableOp``. Here the meta graph and TF's checkpoint must restore to TF's outputs, and TF's own train
op must take the same steps as in TF. Skipped, with the reason, where TensorFlow is not installed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf

pytestmark = pytest.mark.filterwarnings("ignore:`tf.layers.dense` is deprecated:UserWarning")

STEPS = 3
RNG = np.random.default_rng(11)
BATCHES = [(RNG.normal(size=(6, 4)).astype(np.float32), RNG.integers(0, 3, size=6).astype(np.int64))
           for _ in range(STEPS)]
EVAL = (RNG.normal(size=(5, 4)).astype(np.float32), np.arange(5, dtype=np.int64) % 3)


def _optimizer(tfr, name):
    return {"adam": lambda: tfr.train.AdamOptimizer(0.05), "sgd": lambda: tfr.train.GradientDescentOptimizer(0.3),
            "momentum": lambda: tfr.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True)}[name]()


def _tf_model(tfr, optimizer, folder):
    """TF writes ``folder/model.meta`` and ``folder/model*`` (its initial state); returns the graph and its session's
    values: outputs on EVAL, then every variable after each training step on BATCHES."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.layers lives in tf-keras
    graph = tfr.Graph()
    with graph.as_default():
        assert tfr.get_variable_scope().use_resource in (None, True) and tfr.resource_variables_enabled()
        x = tfr.placeholder(tfr.float32, [None, 4], name="x")
        y = tfr.placeholder(tfr.int64, [None], name="y")
        w = tfr.get_variable("w", [4, 8], initializer=tfr.glorot_uniform_initializer(seed=1))
        b = tfr.get_variable("b", [8], initializer=tfr.constant_initializer(0.1))
        hidden = tfr.nn.relu(tfr.matmul(x, w) + b)
        logits = tfr.layers.dense(hidden, 3, name="out")  # its kernel's initializer draws with stateless random ops
        emb = tfr.get_variable("emb", [3, 3], initializer=tfr.random_normal_initializer(seed=3))
        logits = tfr.identity(logits + tfr.nn.embedding_lookup(emb, y), name="logits")
        loss = tfr.reduce_mean(tfr.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
        train = _optimizer(tfr, optimizer).minimize(loss, global_step=tfr.train.get_or_create_global_step())
        tfr.add_to_collection("train_op", train)
        saver = tfr.train.Saver()
        names = [v.op.name for v in tfr.global_variables()]
        with tfr.Session() as sess:
            sess.run(tfr.global_variables_initializer())
            saver.save(sess, os.path.join(folder, "model"))
            initial = sess.run("out/kernel/Read/ReadVariableOp:0")
            out = sess.run("logits:0", {"x:0": EVAL[0], "y:0": EVAL[1]})
            steps = []
            for bx, by in BATCHES:
                sess.run(train, {"x:0": bx, "y:0": by})
                steps.append(dict(zip(names, sess.run([v.value() for v in tfr.global_variables()]))))
    return graph, out, steps, initial


@pytest.fixture(scope="module", params=["adam", "sgd", "momentum"])
def tf_written(request, tfr, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp(f"tf_{request.param}"))
    graph, out, steps, initial = _tf_model(tfr, request.param, folder)
    return folder, graph, out, steps, initial


def test_the_meta_graph_holds_resource_variables(tf_written):
    folder, graph, _, _, _ = tf_written
    ops = {op.type for op in graph.get_operations()}
    assert {"VarHandleOp", "ReadVariableOp", "AssignVariableOp", "ResourceGather"} <= ops
    assert "VariableV2" not in ops
    assert ops & {"ResourceApplyAdam", "ResourceApplyGradientDescent", "ResourceApplyMomentum"}
    assert "StatelessRandomUniformV2" in ops


def test_initializers_draw_tf_values_here(tf_written):
    folder, _, _, _, initial = tf_written
    with tf.Graph().as_default():
        tf.train.import_meta_graph(os.path.join(folder, "model.meta"))
        kernel = next(v for v in tf.global_variables() if v.op.name == "out/kernel")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(kernel), initial)  # Philox, bit for bit


def test_tf_meta_graph_and_checkpoint_restore_to_tf_outputs(tf_written):
    folder, _, want, _, _ = tf_written
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(os.path.join(folder, "model.meta"))
        names = sorted(v.op.name for v in tf.global_variables())
        assert {"w", "b", "out/kernel", "out/bias", "emb", "global_step"} <= set(names)
        assert {v.op.name for v in tf.trainable_variables()} == {"w", "b", "out/kernel", "out/bias", "emb"}
        with tf.Session() as sess:
            saver.restore(sess, os.path.join(folder, "model"))
            got = sess.run("logits:0", {"x:0": EVAL[0], "y:0": EVAL[1]})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_tf_train_op_takes_the_same_steps_here(tf_written):
    folder, _, _, want_steps, _ = tf_written
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(os.path.join(folder, "model.meta"))
        train = tf.get_collection("train_op")[0]
        variables = tf.global_variables()
        with tf.Session() as sess:
            saver.restore(sess, os.path.join(folder, "model"))
            for (bx, by), want in zip(BATCHES, want_steps):
                sess.run(train, {"x:0": bx, "y:0": by})
                got = dict(zip([v.op.name for v in variables], sess.run(variables)))
                assert sorted(got) == sorted(want)
                for name in want:
                    np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_a_model_trained_here_restores_in_tf(tf_written, tfr, tmp_path):
    folder, graph, _, want_steps, _ = tf_written
    prefix = str(tmp_path / "ours")
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(os.path.join(folder, "model.meta"))
        with tf.Session() as sess:
            saver.restore(sess, os.path.join(folder, "model"))
            sess.run(tf.get_collection("train_op")[0], {"x:0": BATCHES[0][0], "y:0": BATCHES[0][1]})
            saver.save(sess, prefix)
    with tfr.Session(graph=graph) as sess:
        tfr.train.Saver(graph.get_collection("variables")).restore(sess, prefix)
        got = dict(zip([v.op.name for v in graph.get_collection("variables")],
                       sess.run([v.value() for v in graph.get_collection("variables")])))
    for name, value in want_steps[0].items():
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-5, err_msg=name)


def test_reexported_meta_graph_keeps_resource_variables_for_tf(tf_written, tfr, tmp_path):
    folder = tf_written[0]
    path = str(tmp_path / "again.meta")
    with tf.Graph().as_default():
        tf.train.import_meta_graph(os.path.join(folder, "model.meta"))
        tf.train.export_meta_graph(path)
    with tfr.Graph().as_default():
        saver = tfr.train.import_meta_graph(path)
        assert all(v.op.type == "VarHandleOp" for v in tfr.global_variables())
        with tfr.Session() as sess:
            saver.restore(sess, os.path.join(folder, "model"))
            sess.run("logits:0", {"x:0": EVAL[0], "y:0": EVAL[1]})


def _constant_graph_def(tfr):
    graph = tfr.Graph()
    with graph.as_default():
        x = tfr.placeholder(tfr.float32, [None, 2], name="x")
        w = tfr.get_variable("w", initializer=np.array([[1.0, -2.0], [0.5, 3.0]], np.float32))
        c = tfr.get_variable("count", initializer=np.int32(0), trainable=False)
        y = tfr.matmul(x, w, name="y")
        with tfr.control_dependencies([y]):
            tfr.group(c.assign_add(1), name="bump")
        tfr.identity(tfr.nn.embedding_lookup(w, [1, 0, 1]), name="rows")
        tfr.global_variables_initializer()
    return graph


def test_tf_graph_def_with_var_handle_ops_imports_and_runs(tfr):
    graph = _constant_graph_def(tfr)
    feed = np.array([[1.0, 2.0]], np.float32)
    with tfr.Session(graph=graph) as sess:
        sess.run("init")
        want = sess.run(["y:0", "rows:0"], {"x:0": feed})
        sess.run("bump", {"x:0": feed})
        sess.run("bump", {"x:0": feed})
        want_count = sess.run("count/Read/ReadVariableOp:0")
    tf.import_graph_def(graph.as_graph_def().SerializeToString(), name="")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value w"):
            sess.run("y:0", {"x:0": feed})
        assert not sess.run("w/IsInitialized/VarIsInitializedOp:0")
        sess.run("init")
        got = sess.run(["y:0", "rows:0"], {"x:0": feed})
        sess.run("bump", {"x:0": feed})
        sess.run("bump", {"x:0": feed})
        assert sess.run("count/Read/ReadVariableOp:0") == want_count == 2
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_imported_resource_variable_reads_assigns_and_loads(tfr):
    graph = _constant_graph_def(tfr)
    with graph.as_default():
        mg = tfr.train.export_meta_graph()
    with tf.Graph().as_default():
        tf.train.import_meta_graph(mg.SerializeToString())
        w = next(v for v in tf.global_variables() if v.op.name == "w")
        assert w.dtype == tf.float32 and w.shape.as_list() == [2, 2]
        with tf.Session() as sess:
            sess.run("init")
            np.testing.assert_allclose(sess.run("y:0", {"x:0": [[1.0, 2.0]]}), [[2.0, 4.0]])
            np.testing.assert_allclose(sess.run(w.assign_add(np.ones((2, 2), np.float32))),
                                       [[2.0, -1.0], [1.5, 4.0]])
            with pytest.raises(ValueError, match="does not fit variable 'w'"):
                w.assign(np.zeros((3,), np.float32))
            sess.load_variable(w, np.zeros((2, 2), np.float32))
            np.testing.assert_array_equal(sess.run(w), np.zeros((2, 2)))
