"""Graph.as_graph_def, tf.import_graph_def and tf.train.write_graph within Tensorflux."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.serialization.graph_def import GraphImportWarning
from tensorflux.proto import graph_pb2


def small_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        with tf.name_scope("layer"):
            w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
            y = tf.nn.relu(tf.matmul(x, w) - 4.0, name="y")
        parts = tf.unstack(tf.constant([[1, 2], [3, 4]]), name="parts")
        total = tf.add_n(parts, name="total")
        with tf.control_dependencies([total]):
            tf.identity(y, name="gated")
        tf.global_variables_initializer()
    return g


def test_nodes_inputs_and_attrs_use_tensorflow_names():
    gdef = small_graph().as_graph_def()
    nodes = {n.name: n for n in gdef.node}
    assert nodes["x"].op == "Placeholder" and nodes["layer/w"].op == "VariableV2"
    assert nodes["layer/MatMul"].op == "MatMul"
    assert list(nodes["layer/MatMul"].input) == ["x", "layer/w/read"]
    assert nodes["layer/MatMul"].attr["T"].type == tf.float32.enum
    assert nodes["layer/MatMul"].attr["transpose_a"].b is False
    assert [d.size for d in nodes["x"].attr["shape"].shape.dim] == [-1, 3]
    assert list(nodes["total"].input) == ["parts", "parts:1"]
    assert nodes["total"].attr["N"].i == 2
    assert "^total" in nodes["gated"].input
    assert gdef.versions.producer > 0


def test_round_trip_runs_the_same():
    g = small_graph()
    feed = np.array([[1.0, 2.0, 3.0]], np.float32)
    with tf.Session(graph=g) as sess:
        sess.run("init")
        want = sess.run(["gated:0", "total:0"], {"x:0": feed})
    data = g.as_graph_def().SerializeToString()
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(graph_pb2.GraphDef.FromString(data), name="copy")
        with tf.Session(graph=g2) as sess:
            sess.run("copy/init")
            got = sess.run(["copy/gated:0", "copy/total:0"], {"copy/x:0": feed})
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1].tolist() == want[1].tolist()
    assert g2.as_graph_def().node[0].name == "copy/x"


def test_import_scope_is_made_unique_and_empty_name_keeps_names():
    gdef = small_graph().as_graph_def()
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gdef)
        tf.import_graph_def(gdef)
        assert {"import/x", "import_1/x"} <= {op.name for op in g.get_operations()}
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gdef, name="")
        assert g.get_operation_by_name("layer/y").type == "Relu"
        with pytest.raises(ValueError, match=r"node 'x' would be named 'x', which the graph already has"):
            tf.import_graph_def(gdef, name="")


def test_input_map_and_return_elements():
    gdef = small_graph().as_graph_def()
    with tf.Graph().as_default():
        feed = tf.constant([[0.0, 1.0, 1.0]], name="feed")
        y, init = tf.import_graph_def(gdef, input_map={"x": feed}, return_elements=["layer/y:0", "init"])
        assert isinstance(y, tf.Tensor) and isinstance(init, tf.Operation)
        with tf.Session() as sess:
            sess.run(init)
            weights = np.arange(6, dtype=np.float32).reshape(3, 2)
            np.testing.assert_array_equal(sess.run(y), np.maximum(np.array([[0.0, 1.0, 1.0]]) @ weights - 4.0, 0))


def test_input_map_errors_name_the_key():
    gdef = small_graph().as_graph_def()
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"not in graph_def: \['nope:0'\]"):
            tf.import_graph_def(gdef, input_map={"nope:0": tf.constant(1.0)})
        with pytest.raises(ValueError, match="requested return element 'missing:0' is not in graph_def"):
            tf.import_graph_def(gdef, return_elements=["missing:0"])
        with pytest.raises(TypeError, match=r"node 'layer/MatMul'.*dtype int32"):
            tf.import_graph_def(gdef, input_map={"x:0": tf.constant([[1, 2, 3]])})


def test_nodes_may_come_in_any_order():
    gdef = small_graph().as_graph_def()
    shuffled = graph_pb2.GraphDef()
    shuffled.node.extend(reversed(gdef.node))
    with tf.Graph().as_default():
        (y,) = tf.import_graph_def(shuffled, return_elements=["layer/y:0"])
        assert y.shape.as_list() == [None, 2]


def test_unknown_ops_cycles_and_dangling_inputs_are_clear_errors():
    gdef = graph_pb2.GraphDef()
    gdef.node.add(name="v", op="NotAnOpAnywhere")
    with pytest.raises(ValueError, match="node 'v' uses op 'NotAnOpAnywhere', which is not registered"):
        tf.import_graph_def(gdef)
    gdef = graph_pb2.GraphDef()
    gdef.node.add(name="a", op="Identity", input=["b"])
    gdef.node.add(name="b", op="Identity", input=["a"])
    with pytest.raises(ValueError, match="cycle through node"):
        tf.import_graph_def(gdef)
    gdef = graph_pb2.GraphDef()
    gdef.node.add(name="a", op="Identity", input=["ghost:0"])
    with pytest.raises(ValueError, match="node 'a' \\(Identity\\) has input 'ghost', which is not a node"):
        tf.import_graph_def(gdef)


def test_tf_only_attrs_are_dropped_private_and_default_silently_others_with_a_warning():
    g = small_graph()
    gdef = g.as_graph_def()
    matmul = next(n for n in gdef.node if n.op == "MatMul")
    matmul.attr["_class"].list.s.append(b"loc:@layer/w")
    matmul.attr["grad_a"].b = False
    relu = next(n for n in gdef.node if n.op == "Relu")
    relu.attr["future_knob"].i = 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tf.import_graph_def(gdef)
    messages = [str(w.message) for w in caught if issubclass(w.category, GraphImportWarning)]
    assert len(messages) == 1 and "attr 'future_knob' of node 'layer/y'" in messages[0]


def test_wrong_attr_kind_names_node_and_attr():
    gdef = small_graph().as_graph_def()
    node = next(n for n in gdef.node if n.op == "MatMul")
    node.attr["transpose_a"].i = 1
    with pytest.raises(TypeError, match=r"attr 'transpose_a' of node 'layer/MatMul' \(MatMul\): expected a bool"):
        tf.import_graph_def(gdef)


def test_devices_survive_and_clear_on_request():
    with tf.Graph().as_default() as g:
        with tf.device("/cpu:0"):
            tf.constant(1.0, name="c")
    gdef = g.as_graph_def()
    assert gdef.node[0].device == "/cpu:0"
    gdef.node[0].device = "/job:localhost/replica:0/task:0/device:CPU:0"
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gdef, name="")
        assert g2.get_operation_by_name("c").device == "/cpu:0"


def test_add_shapes_records_output_shapes():
    gdef = small_graph().as_graph_def(add_shapes=True)
    node = next(n for n in gdef.node if n.name == "layer/y")
    assert [d.size for d in node.attr["_output_shapes"].list.shape[0].dim] == [-1, 2]
    with tf.Graph().as_default():
        tf.import_graph_def(gdef)  # the private attr is accepted and dropped


def test_write_graph_text_and_binary(tmp_path):
    g = small_graph()
    text_path = tf.train.write_graph(g, str(tmp_path / "logs"), "graph.pbtxt")
    bin_path = tf.train.write_graph(g.as_graph_def(), str(tmp_path / "logs"), "graph.pb", as_text=False)
    from google.protobuf import text_format

    with open(text_path) as f:
        from_text = text_format.Parse(f.read(), graph_pb2.GraphDef())
    with open(bin_path, "rb") as f:
        from_bin = graph_pb2.GraphDef.FromString(f.read())
    assert from_text == from_bin == g.as_graph_def()
    assert not [p for p in (tmp_path / "logs").iterdir() if ".tmp-" in p.name]
