"""tf.graph_util (extract_sub_graph, convert_variables_to_constants, remove_training_nodes) against TensorFlow's
``tf.compat.v1.graph_util`` on the same GraphDefs, and freezing a model trained here.

TensorFlow builds the graphs of the comparisons (reference and resource variables, CheckNumerics, colocation,
control dependencies), and both libraries' functions run on the same GraphDef; a TensorFlow session feeds both
``convert_variables_to_constants`` (ours takes any session that can fetch the variables).
"""

import numpy as np
import pytest

import tensorflux as tf


def _nodes(graph_def):
    return [(n.name, n.op) for n in graph_def.node]


def _values(graph_def):
    from tensorflux._internal.serialization.tensor_proto import from_tensor_proto

    return {n.name: from_tensor_proto(n.attr["value"].tensor) for n in graph_def.node if n.op == "Const"}


@pytest.fixture(scope="module")
def tf_model(tfr):
    """A TensorFlow graph with reference and resource variables, an embedding lookup, CheckNumerics, a control
    dependency and a colocated node, initialized in a TensorFlow session: (graph, session, graph_def)."""
    graph = tfr.Graph()
    with graph.as_default():
        x = tfr.placeholder(tfr.float32, [None, 3], name="x")
        with tfr.variable_scope("ref", use_resource=False):
            w = tfr.get_variable("w", initializer=np.arange(6, dtype=np.float32).reshape(3, 2))
        with tfr.variable_scope("res", use_resource=True):
            v = tfr.get_variable("v", initializer=np.array([2.0, -1.0], np.float32))
            e = tfr.get_variable("e", initializer=np.arange(8, dtype=np.float32).reshape(4, 2))
        product = tfr.matmul(x, w)
        h = tfr.check_numerics(product, "bad", name="check")
        with tfr.control_dependencies([product]):
            gate = tfr.identity(x, name="gate")
        with tfr.control_dependencies([h]):  # a control input on CheckNumerics goes with it
            checked_gate = tfr.identity(x, name="checked_gate")
        tfr.identity(tfr.reduce_sum(gate) + tfr.reduce_sum(checked_gate), name="side")
        biased = tfr.add(h, v, name="biased")
        looked_up = tfr.reduce_sum(tfr.nn.embedding_lookup(e, [1, 3]), 0)
        y = tfr.identity(tfr.identity(biased + looked_up, name="inner"), name="out")
        with graph.colocate_with(y.op):
            tfr.identity(y, name="colocated")
        init = tfr.global_variables_initializer()
    sess = tfr.Session(graph=graph)
    sess.run(init)
    yield graph, sess, graph.as_graph_def()
    sess.close()


@pytest.mark.parametrize("dest", [["out"], ["colocated"], ["side", "out"], ["check"]])
def test_extract_sub_graph_keeps_the_nodes_tensorflow_keeps_in_its_order(tfr, tf_model, dest):
    _, _, graph_def = tf_model
    assert _nodes(tf.graph_util.extract_sub_graph(graph_def, dest)) == \
        _nodes(tfr.graph_util.extract_sub_graph(graph_def, dest))


@pytest.mark.parametrize("protected", [None, ["inner"], ["check", "out"]])
def test_remove_training_nodes_removes_what_tensorflow_removes(tfr, tf_model, protected):
    _, _, graph_def = tf_model
    ours = tf.graph_util.remove_training_nodes(graph_def, protected)
    theirs = tfr.graph_util.remove_training_nodes(graph_def, protected)
    assert sorted(_nodes(ours)) == sorted(_nodes(theirs))
    spliced = {n.name: list(n.input) for n in ours.node}
    # An Identity with a control input, or that is one, stays; others are spliced out, their readers rewired.
    check_kept = bool(protected) and "check" in protected
    assert "gate" in spliced and ("checked_gate" in spliced) == check_kept and "side" not in spliced
    if not protected or "inner" not in protected:
        assert "inner" not in spliced
    if not protected or "check" not in protected:
        assert "check" not in spliced and spliced["biased"][0] == "MatMul"


@pytest.mark.parametrize("lists", [{}, {"variable_names_whitelist": ["ref/w", "res/e"]},
                                   {"variable_names_blacklist": ["res/v"]}], ids=["all", "whitelist", "blacklist"])
def test_convert_variables_to_constants_freezes_as_tensorflow(tfr, tf_model, lists):
    _, sess, graph_def = tf_model
    ours = tf.graph_util.convert_variables_to_constants(sess, graph_def, ["out"], **lists)
    theirs = tfr.graph_util.convert_variables_to_constants(sess, graph_def, ["out"], **lists)
    assert sorted(_nodes(ours)) == sorted(_nodes(theirs))
    mine, want = _values(ours), _values(theirs)
    assert sorted(mine) == sorted(want)
    for name in want:
        np.testing.assert_array_equal(mine[name], want[name], err_msg=name)
    by_name = {n.name: n for n in theirs.node}
    for node in ours.node:  # the same wiring and dtypes (ReadVariableOp -> Identity typed by the value)
        assert list(node.input) == list(by_name[node.name].input), node.name
        for key in ("T", "dtype", "Tparams"):
            if key in by_name[node.name].attr:
                assert node.attr[key].type == by_name[node.name].attr[key].type, (node.name, key)


def test_a_frozen_tensorflow_graph_runs_here_as_in_tensorflow(tfr, tf_model):
    graph, sess, graph_def = tf_model
    batch = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    want = sess.run("out:0", {"x:0": batch})
    frozen = tf.graph_util.convert_variables_to_constants(sess, graph_def, ["out"])
    with tf.Graph().as_default(), tf.Session() as ours:
        tf.import_graph_def(frozen, name="")
        np.testing.assert_allclose(ours.run("out:0", {"x:0": batch}), want, rtol=1e-6)


def _train_here():
    """A small classifier trained here for a few steps: (graph, session, input name, output name)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        hidden = tf.layers.dense(x, 8, activation=tf.nn.relu, name="hidden")
        logits = tf.layers.dense(hidden, 3, name="logits")
        tf.nn.softmax(logits, name="probs")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        step = tf.train.AdamOptimizer(0.05).minimize(loss)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    rng = np.random.default_rng(1)
    for _ in range(20):
        batch = rng.normal(size=(16, 4)).astype(np.float32)
        sess.run(step, {"x:0": batch, "labels:0": (batch[:, 0] > 0).astype(np.int64)})
    return graph, sess


def test_a_model_trained_here_frozen_and_reimported_gives_identical_outputs(tfr):
    graph, sess = _train_here()
    batch = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    want = sess.run("probs:0", {"x:0": batch})
    frozen = tf.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["probs"])
    sess.close()
    assert not {"VariableV2", "Assign", "ApplyAdam"} & {n.op for n in frozen.node}
    assert {"hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"} <= {n.name for n in frozen.node
                                                                                 if n.op == "Const"}
    with tf.Graph().as_default(), tf.Session() as again:
        tf.import_graph_def(frozen.SerializeToString(), name="")
        np.testing.assert_array_equal(again.run("probs:0", {"x:0": batch}), want)
    # TensorFlow reads the frozen graph too.
    theirs = tfr.Graph()
    with theirs.as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(frozen.SerializeToString()), name="")
        with tfr.Session(graph=theirs) as tf_sess:
            np.testing.assert_allclose(tf_sess.run("probs:0", {"x:0": batch}), want, rtol=1e-5, atol=1e-7)


def test_remove_training_nodes_keeps_control_dependencies_intact():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, name="x")
        checked = tf.check_numerics(x, "bad", name="checked")
        copy = tf.identity(checked, name="copy")
        with tf.control_dependencies([copy]):
            guarded = tf.identity(x, name="guarded")
        tf.add(guarded, copy, name="y")
    pruned = {n.name: list(n.input) for n in tf.graph_util.remove_training_nodes(graph.as_graph_def()).node}
    # copy is a control input and guarded has one: both stay; CheckNumerics goes, its reader reads x.
    assert set(pruned) == {"x", "copy", "guarded", "y"}
    assert pruned["copy"] == ["x"] and pruned["guarded"] == ["x", "^copy"] and pruned["y"] == ["guarded", "copy"]


def test_graph_util_errors_name_the_problem():
    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="a")
    with pytest.raises(TypeError, match="must be a list of node names, got the string 'a'"):
        tf.graph_util.extract_sub_graph(graph.as_graph_def(), "a")
    with pytest.raises(ValueError, match="'nope' is not in the graph"):
        tf.graph_util.extract_sub_graph(graph.as_graph_def(), ["nope"])
    with pytest.raises(TypeError, match="graph_def must be a GraphDef proto"):
        tf.graph_util.remove_training_nodes(graph)


def test_graph_util_is_also_compat_v1_graph_util():
    assert tf.compat.v1.graph_util.convert_variables_to_constants is tf.graph_util.convert_variables_to_constants
