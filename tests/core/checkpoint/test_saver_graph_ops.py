"""A Saver's save/restore ops in the graph (SaveV2, RestoreV2, save/restore_all), against TensorFlow 2.21's Saver:
the same subgraph, runnable here, and meta graphs exchanged both ways with their checkpoints."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorflux as tf

FEATURES, HIDDEN, CLASSES = 6, 8, 3


def saver_subgraph(graph_def, scope="save"):
    """``{name: (op, inputs, attrs)}`` of the nodes under ``scope/``, attrs TF adds for its own bookkeeping dropped."""
    return {n.name: (n.op, list(n.input), sorted(a for a in n.attr if not a.startswith("_")))
            for n in graph_def.node if n.name.startswith(scope + "/")}


def build(api, values):
    """Variables named as a dense layer's, in ``api`` (Tensorflux or TF's compat.v1 with reference variables)."""
    return [api.Variable(v, name=n, use_resource=False) if api is not tf else api.Variable(v, name=n)
            for n, v in values.items()]


VALUES = {"dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3), "dense/bias": np.ones(3, np.float32),
          "global_step": np.int64(5), "vocab": np.array([b"a", b"bc"], dtype=object)}


def test_the_saver_builds_tensorflows_subgraph_node_for_node(tfr):
    with tfr.Graph().as_default() as theirs:
        build(tfr, VALUES)
        tf_saver = tfr.train.Saver()
    with tf.Graph().as_default() as ours:
        build(tf, VALUES)
        saver = tf.train.Saver()
    assert saver_subgraph(ours.as_graph_def()) == saver_subgraph(theirs.as_graph_def())
    assert saver.saver_def == type(saver.saver_def).FromString(tf_saver.saver_def.SerializeToString())


def test_a_second_saver_gets_its_own_scope_and_empty_or_finalized_graphs_get_none():
    v = tf.Variable(1.0, name="v")
    assert tf.train.Saver().saver_def.restore_op_name == "save/restore_all"
    assert tf.train.Saver([v]).saver_def.filename_tensor_name == "save_1/Const:0"
    assert tf.train.Saver([v], name="mine").saver_def.save_tensor_name == "mine/control_dependency:0"
    deferred = tf.train.Saver([v], defer_build=True)
    assert deferred.saver_def.restore_op_name == ""
    deferred.build()
    assert deferred.saver_def.restore_op_name == "save_2/restore_all"
    tf.get_default_graph().finalize()
    assert tf.train.Saver([v]).saver_def.restore_op_name == ""  # nothing can be added; save/restore still work


def test_running_the_ops_saves_and_restores_through_the_session(tfr, tmp_path):
    with tf.Graph().as_default():
        variables = build(tf, VALUES)
        saver = tf.train.Saver()
        sd = saver.saver_def
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = str(tmp_path / "via_ops")
            assert sess.run(sd.save_tensor_name, {sd.filename_tensor_name: prefix}) == prefix.encode()
            sess.run([variables[0].assign(tf.zeros([2, 3])), variables[2].assign(0)])
            sess.run(sd.restore_op_name, {sd.filename_tensor_name: prefix})
            for var, want in zip(variables, VALUES.values()):
                np.testing.assert_array_equal(sess.run(var), want)
    reader = tfr.train.load_checkpoint(prefix)  # SaveV2 wrote a TF checkpoint
    for name, want in VALUES.items():
        np.testing.assert_array_equal(reader.get_tensor(name), want)


def test_restore_op_errors_name_the_op_and_the_tensor(tmp_path):
    prefix = str(tmp_path / "model")
    with tf.Graph().as_default():
        w = tf.Variable(np.ones(3, np.float32), name="w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            tf.train.Saver([w]).save(sess, prefix)
    with tf.Graph().as_default():
        tf.Variable(np.ones(3, np.float32), name="missing")
        sd = tf.train.Saver().saver_def
        with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError, match=r"op 'save/RestoreV2' \(RestoreV2\): "
                                                                                 r"Key missing not found"):
            sess.run(sd.restore_op_name, {sd.filename_tensor_name: prefix})
    with tf.Graph().as_default():
        tf.Variable(np.ones(3, np.int32), name="w")
        sd = tf.train.Saver().saver_def
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match=r"tensor 'w' .* has dtype "
                                                                                        r"float32, but the op expects "
                                                                                        r"int32"):
            sess.run(sd.restore_op_name, {sd.filename_tensor_name: prefix})
    with tf.Graph().as_default():
        tf.Variable(np.ones(4, np.float32), name="w")
        sd = tf.train.Saver().saver_def
        with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError, match=r"'w': value of shape \[3\] "
                                                                                        r"does not match .* \(4,\)"):
            sess.run(sd.restore_op_name, {sd.filename_tensor_name: prefix})


def mlp(api, x):
    """A two-layer MLP whose variables start from a fixed seed (the graph TF and Tensorflux both build)."""
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = build(api, {"hidden/weights": rng.normal(size=(FEATURES, HIDDEN)).astype(np.float32) * 0.5,
                                 "hidden/biases": np.zeros(HIDDEN, np.float32),
                                 "out/weights": rng.normal(size=(HIDDEN, CLASSES)).astype(np.float32) * 0.5,
                                 "out/biases": np.zeros(CLASSES, np.float32)})
    return api.add(api.matmul(api.nn.relu(api.matmul(x, w1) + b1), w2), b2, name="logits")


def data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32)
    return x, np.argmax(x[:, :CLASSES], axis=1).astype(np.int32)


def train_and_save(api, prefix, steps=40):
    """Train the MLP in ``api`` for ``steps`` steps and save it; return the logits on held-out points."""
    x_train, y_train = data(128, 1)
    x = api.placeholder(api.float32, [None, FEATURES], name="x")
    y = api.placeholder(api.int32, [None], name="y")
    logits = mlp(api, x)
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = api.train.GradientDescentOptimizer(0.5).minimize(loss)
    api.add_to_collection("logits", logits)
    saver = api.train.Saver()
    with api.Session() as sess:
        sess.run(api.global_variables_initializer())
        for _ in range(steps):
            sess.run(train, {x: x_train, y: y_train})
        saver.save(sess, prefix)
        return sess.run(logits, {x: data(64, 2)[0]})


def test_tensorflow_imports_our_meta_graph_and_restores_a_model_trained_here(tfr, tmp_path):
    prefix = str(tmp_path / "ours")
    with tf.Graph().as_default():
        want = train_and_save(tf, prefix)
    with tfr.Graph().as_default(), tfr.Session() as sess:
        saver = tfr.train.import_meta_graph(prefix + ".meta")
        saver.restore(sess, prefix)
        got = sess.run(tfr.get_collection("logits")[0], {"x:0": data(64, 2)[0]})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    accuracy = np.mean(np.argmax(want, 1) == data(64, 2)[1])
    assert accuracy > 0.6 and np.mean(np.argmax(got, 1) == data(64, 2)[1]) == accuracy


@pytest.mark.parametrize("sharded", [False, True], ids=["plain", "sharded"])
def test_we_import_tensorflows_meta_graph_and_restore_a_model_trained_there(tfr, tmp_path, sharded):
    prefix = str(tmp_path / "theirs")
    with tfr.Graph().as_default():
        x_train, y_train = data(128, 1)
        x = tfr.placeholder(tfr.float32, [None, FEATURES], name="x")
        y = tfr.placeholder(tfr.int32, [None], name="y")
        logits = mlp(tfr, x)
        loss = tfr.reduce_mean(tfr.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tfr.train.GradientDescentOptimizer(0.5).minimize(loss)
        tfr.add_to_collection("logits", logits)
        saver = tfr.train.Saver(sharded=sharded)
        with tfr.Session() as sess:
            sess.run(tfr.global_variables_initializer())
            for _ in range(40):
                sess.run(train, {x: x_train, y: y_train})
            saver.save(sess, prefix)
            want = sess.run(logits, {x: data(64, 2)[0]})
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            got = sess.run(tf.get_collection("logits")[0], {"x:0": data(64, 2)[0]})
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
            if not sharded:  # TF's own restore op, imported, runs here too
                sess.run(tf.global_variables_initializer())
                sess.run("save/restore_all", {"save/Const:0": prefix})
                np.testing.assert_allclose(sess.run("logits:0", {"x:0": data(64, 2)[0]}), want, rtol=1e-5, atol=1e-5)
        ops = {op.type for op in g.get_operations() if op.name.startswith("save/")}
        # A sharded saver's merge ops are not defined here: its subgraph is left out and a plain one built instead.
        assert "MergeV2Checkpoints" not in ops and {"SaveV2", "RestoreV2"} <= ops
        assert saver.saver_def.restore_op_name == "save/restore_all"


def test_import_scope_prefixes_the_saver_def(tfr, tmp_path):
    prefix = str(tmp_path / "ours")
    with tf.Graph().as_default():
        train_and_save(tf, prefix, steps=1)
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="imported")
        assert saver.saver_def.restore_op_name == "imported/save/restore_all"
        with tf.Session() as sess:
            sess.run(saver.saver_def.restore_op_name, {saver.saver_def.filename_tensor_name: prefix})
            assert sess.run("imported/out/biases:0").shape == (CLASSES,)
    assert os.path.exists(prefix + ".index")
