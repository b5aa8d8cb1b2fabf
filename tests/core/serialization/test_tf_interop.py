"""Interchange with TensorFlow (the reference): GraphDefs in both directions, text format, and the schemas.

TensorFlow is imported once, in a module-scoped fixture, because importing it is slow; every test
here is skipped, with the reason, where it is not installed (``make install`` installs it).
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf

BATCH = np.random.default_rng(7).normal(size=(5, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def weights():
    rng = np.random.default_rng(3)
    return {
        "w1": rng.normal(size=(4, 8)).astype(np.float32), "b1": rng.normal(size=(8,)).astype(np.float32),
        "w2": rng.normal(size=(8, 3)).astype(np.float32), "b2": rng.normal(size=(3,)).astype(np.float32),
    }


def build_mlp(api, weights, raw_add=None):
    """The same MLP with either library's v1 API: reference variables initialized from constants."""
    x = api.placeholder(api.float32, [None, 4], name="x")
    with api.name_scope("hidden"):
        w1 = api.Variable(weights["w1"], name="weights")
        b1 = api.Variable(weights["b1"], name="biases")
        hidden = api.nn.relu(api.matmul(x, w1) + b1)
    with api.name_scope("softmax_linear"):
        w2 = api.Variable(weights["w2"], name="weights")
        b2 = api.Variable(weights["b2"], name="biases")
        product = api.matmul(hidden, w2)
        logits = raw_add(product, b2) if raw_add else api.add(product, b2, name="logits")
    probs = api.nn.softmax(logits, name="probs")
    api.argmax(probs, 1, name="prediction")
    api.global_variables_initializer()
    return x


def tf_graph(tfr, weights, raw_add=False):
    graph = tfr.Graph()
    with graph.as_default():
        add = (lambda a, b: tfr.raw_ops.Add(x=a, y=b, name="logits")) if raw_add else None
        with tfr.variable_scope("", use_resource=False):
            build_mlp(tfr, weights, add)
    return graph


def run_tf(tfr, graph_or_def, prefix=""):
    graph = graph_or_def
    if not isinstance(graph_or_def, tfr.Graph):
        graph = tfr.Graph()
        with graph.as_default():
            tfr.import_graph_def(graph_or_def, name=prefix.rstrip("/"))
    with tfr.Session(graph=graph) as sess:
        sess.run(prefix + "init")
        return sess.run([prefix + "probs:0", prefix + "prediction:0"], {prefix + "x:0": BATCH})


def run_ours(fetch_prefix=""):
    with tf.Session() as sess:
        sess.run(fetch_prefix + "init")
        return sess.run([fetch_prefix + "probs:0", fetch_prefix + "prediction:0"], {fetch_prefix + "x:0": BATCH})


@pytest.mark.parametrize("raw_add", [False, True], ids=["AddV2", "Add-alias"])
def test_tf_written_graph_def_imports_and_gives_tf_outputs(tfr, weights, raw_add):
    graph = tf_graph(tfr, weights, raw_add)
    want_probs, want_pred = run_tf(tfr, graph)
    serialized = graph.as_graph_def().SerializeToString()
    assert ("Add" in {n.op for n in graph.as_graph_def().node}) is raw_add
    tf.import_graph_def(serialized, name="tfnet")
    probs, pred = run_ours("tfnet/")
    np.testing.assert_allclose(probs, want_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pred, want_pred)


def test_tf_graph_def_message_is_accepted_directly(tfr, weights):
    tf.import_graph_def(tf_graph(tfr, weights).as_graph_def(), name="")
    probs, _ = run_ours()
    assert probs.shape == (5, 3)


def test_our_graph_def_imports_into_tf_and_gives_our_outputs(tfr, weights):
    build_mlp(tf, weights)
    ours_probs, ours_pred = run_ours()
    from tensorflow.core.framework import graph_pb2 as tf_graph_pb2

    tf_def = tf_graph_pb2.GraphDef.FromString(tf.get_default_graph().as_graph_def().SerializeToString())
    probs, pred = run_tf(tfr, tf_def, prefix="ours/")
    np.testing.assert_allclose(probs, ours_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(pred, ours_pred)


def test_our_pbtxt_parses_with_tf_text_format_and_runs(tfr, weights, tmp_path):
    build_mlp(tf, weights)
    path = tf.train.write_graph(tf.get_default_graph(), str(tmp_path), "mlp.pbtxt", as_text=True)
    from google.protobuf import text_format
    from tensorflow.core.framework import graph_pb2 as tf_graph_pb2

    with open(path) as f:
        parsed = text_format.Parse(f.read(), tf_graph_pb2.GraphDef())
    ours = tf.get_default_graph().as_graph_def()
    assert [n.name for n in parsed.node] == [n.name for n in ours.node]
    assert [n.op for n in parsed.node] == [n.op for n in ours.node]
    probs, _ = run_tf(tfr, parsed, prefix="txt/")
    np.testing.assert_allclose(probs, run_ours()[0], rtol=1e-5, atol=1e-6)


def test_tf_pbtxt_reads_back_here(tfr, weights, tmp_path):
    graph = tf_graph(tfr, weights)
    want, _ = run_tf(tfr, graph)
    tfr.train.write_graph(graph, str(tmp_path), "tf.pbtxt", as_text=True)
    from google.protobuf import text_format

    from tensorflux.proto import graph_pb2

    with open(tmp_path / "tf.pbtxt") as f:
        gdef = text_format.Parse(f.read(), graph_pb2.GraphDef())
    tf.import_graph_def(gdef, name="")
    np.testing.assert_allclose(run_ours()[0], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                                   "uint8", "bool", "string"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_tensor_protos_decode_identically_in_both_directions(tfr, dtype, shape):
    from tensorflux._internal.serialization.tensor_proto import from_tensor_proto, to_tensor_proto
    from tensorflux.proto import tensor_pb2

    real = __import__("tensorflow")
    rng = np.random.default_rng(0)
    if dtype == "string":
        value = np.array([f"s{i}".encode() for i in range(int(np.prod(shape)))], dtype=object).reshape(shape)
    elif dtype == "bool":
        value = rng.integers(0, 2, size=shape).astype(bool)
    else:
        value = (rng.normal(size=shape) * 50).astype(tf.as_dtype(dtype).np_dtype)
    ours = to_tensor_proto(value, tf.as_dtype(dtype))
    theirs = real.make_tensor_proto(value, dtype=getattr(real, dtype))
    from_tf = from_tensor_proto(tensor_pb2.TensorProto.FromString(theirs.SerializeToString()))
    to_tf = real.make_ndarray(type(theirs).FromString(ours.SerializeToString()))
    for got in (from_tf, to_tf):
        assert got.shape == value.shape
        assert got.dtype == value.dtype
        np.testing.assert_array_equal(got, value)


def _tf_schema_modules():
    from tensorflow.core.framework import (
        attr_value_pb2,
        graph_pb2,
        node_def_pb2,
        tensor_pb2,
        tensor_shape_pb2,
        types_pb2,
        variable_pb2,
        versions_pb2,
    )
    from tensorflow.core.protobuf import meta_graph_pb2, saver_pb2
    from tensorflow.python.training import checkpoint_state_pb2

    return {
        "types": types_pb2, "tensor_shape": tensor_shape_pb2, "tensor": tensor_pb2, "attr_value": attr_value_pb2,
        "node_def": node_def_pb2, "versions": versions_pb2, "graph": graph_pb2, "variable": variable_pb2,
        "saver": saver_pb2, "meta_graph": meta_graph_pb2, "checkpoint_state": checkpoint_state_pb2,
    }


def _compare_message(ours, theirs, path):
    problems = []
    for field in ours.fields:
        other = theirs.fields_by_number.get(field.number)
        where = f"{path}.{field.name} = {field.number}"
        if other is None:
            problems.append(f"{where}: TensorFlow has no field number {field.number}")
            continue
        if (other.name, other.type, other.is_repeated) != (field.name, field.type, field.is_repeated):
            problems.append(f"{where}: TensorFlow has {other.name} type={other.type} repeated={other.is_repeated}, "
                            f"ours type={field.type} repeated={field.is_repeated}")
        if field.message_type is not None and other.message_type is not None:
            if field.message_type.name != other.message_type.name:
                problems.append(f"{where}: message type {field.message_type.name} vs {other.message_type.name}")
            elif field.message_type.containing_type is ours:
                problems.extend(_compare_message(field.message_type, other.message_type,
                                                 f"{path}.{field.message_type.name}"))
        if field.enum_type is not None:
            problems.extend(_compare_enum(field.enum_type, other.enum_type, f"{path}.{field.enum_type.name}"))
        if (field.containing_oneof is None) != (other.containing_oneof is None):
            problems.append(f"{where}: oneof membership differs")
    return problems


def _compare_enum(ours, theirs, path):
    return [f"{path}.{v.name} = {v.number}: TensorFlow has {theirs.values_by_number.get(v.number)}"
            for v in ours.values
            if v.number not in theirs.values_by_number or theirs.values_by_number[v.number].name != v.name]


def test_every_shared_schema_field_has_tensorflows_number_name_and_type(tfr):
    import importlib

    problems = []
    for module_name, tf_module in _tf_schema_modules().items():
        ours = importlib.import_module(f"tensorflux.proto.{module_name}_pb2")
        for name, descriptor in ours.DESCRIPTOR.message_types_by_name.items():
            if name in ("CheckpointIndex", "CheckpointIndexBody", "TensorEntry"):
                continue
            theirs = tf_module.DESCRIPTOR.message_types_by_name.get(name)
            if theirs is None:
                problems.append(f"{module_name}.proto: TensorFlow has no message {name}")
                continue
            problems.extend(_compare_message(descriptor, theirs, name))
        for name, enum in ours.DESCRIPTOR.enum_types_by_name.items():
            problems.extend(_compare_enum(enum, tf_module.DESCRIPTOR.enum_types_by_name[name], name))
    assert not problems, "\n".join(problems)


def test_our_meta_graph_reads_in_tf_with_collections_and_variable_defs(tfr, weights, tmp_path):
    x = build_mlp(tf, weights)
    tf.add_to_collection("images", x)
    path = str(tmp_path / "model.meta")
    tf.train.export_meta_graph(path)
    from tensorflow.core.framework import variable_pb2
    from tensorflow.core.protobuf import meta_graph_pb2

    with open(path, "rb") as f:
        mg = meta_graph_pb2.MetaGraphDef.FromString(f.read())
    assert list(mg.collection_def["images"].node_list.value) == ["x:0"]
    vdefs = [variable_pb2.VariableDef.FromString(b) for b in mg.collection_def["trainable_variables"].bytes_list.value]
    assert [v.variable_name for v in vdefs] == [v.name for v in tf.trainable_variables()]
    assert [v.snapshot_name for v in vdefs] == [v.value().name for v in tf.trainable_variables()]
    graph = tfr.Graph()
    with graph.as_default():
        tfr.import_graph_def(mg.graph_def, name="")
        assert graph.get_tensor_by_name("probs:0").shape.as_list() == [None, 3]


def test_checkpoint_state_file_parses_with_tensorflows_schema(tfr, tmp_path):
    from google.protobuf import text_format
    from tensorflow.python.training import checkpoint_state_pb2

    v = tf.Variable(1.0, name="v")
    with tf.Session() as sess:
        sess.run(v.initializer)
        tf.train.Saver().save(sess, str(tmp_path / "model.ckpt"), global_step=3)
    state = text_format.Parse((tmp_path / "checkpoint").read_text(), checkpoint_state_pb2.CheckpointState())
    assert state.model_checkpoint_path == str(tmp_path / "model.ckpt-3")
    assert tfr.train.get_checkpoint_state(str(tmp_path)).model_checkpoint_path == str(tmp_path / "model.ckpt-3")


def test_tf_written_meta_graph_imports_with_tfs_saver_ops(tfr, weights, tmp_path):
    graph = tf_graph(tfr, weights)
    with graph.as_default():
        tfr.add_to_collection("logits", graph.get_tensor_by_name("softmax_linear/logits:0"))
        tf_saver = tfr.train.Saver(max_to_keep=3)
        tfr.train.export_meta_graph(str(tmp_path / "tf.meta"), saver_def=tf_saver.as_saver_def())
    want, _ = run_tf(tfr, graph)
    saver = tf.train.import_meta_graph(str(tmp_path / "tf.meta"))
    # TF's save/restore ops import (SaveV2 and RestoreV2 are defined here), and the returned Saver names them
    assert tf.get_default_graph().get_operation_by_name("save/RestoreV2").type == "RestoreV2"
    assert (saver.saver_def.filename_tensor_name, saver.saver_def.restore_op_name) == ("save/Const:0", "save/restore_all")
    assert [v.name for v in tf.trainable_variables()] == [v.name for v in graph.get_collection("trainable_variables")]
    assert saver._max_to_keep == 3
    assert tf.get_collection("logits")[0].name == "softmax_linear/logits:0"
    np.testing.assert_allclose(run_ours()[0], want, rtol=1e-5, atol=1e-6)
    with tf.Session() as sess:  # the returned Saver works with Tensorflux checkpoints
        sess.run("init")
        prefix = saver.save(sess, str(tmp_path / "ours"))
    assert sorted(name for name, _ in tf.train.list_variables(prefix)) == sorted(weights_names(graph))


def weights_names(graph):
    return [v.op.name for v in graph.get_collection("variables")]
