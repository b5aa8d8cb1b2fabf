"""Control flow in GraphDefs (issue 14): ours as TF's functional ops with a FunctionDef library, run by TF 2.21;
TF's (control flow v2) imported and run here; round trips with gradients; meta graphs; refusals of TF 1 control
flow and of hostile libraries."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.serialization.function_import import MAX_DEPTH
from tensorflux.proto import graph_pb2

X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0], [0.5, 0.0, 2.0], [-1.0, 1.0, 1.0]], np.float32)


# -- helpers ---------------------------------------------------------------------------------------------------
def run_in_tf(tfr, graph_def, fetches, feeds, *more_feeds):
    """Import a GraphDef (ours) into a fresh TF graph and run it there, once per feed dict."""
    graph = tfr.Graph()
    with graph.as_default():
        tfr.import_graph_def(tfr.GraphDef.FromString(graph_def.SerializeToString()), name="")
    with tfr.Session(graph=graph) as sess:
        results = [sess.run(fetches, f) for f in (feeds, *more_feeds)]
    return results if more_feeds else results[0]


def run_here(graph_def, fetches, feeds, grads_of=None, grads_wrt=None):
    """Import a GraphDef into a fresh graph of ours and run it; optionally with tf.gradients built after."""
    tf.reset_default_graph()
    outs = tf.import_graph_def(graph_def.SerializeToString(), name="", return_elements=list(fetches))
    g = tf.get_default_graph()
    if grads_of is not None:
        outs += tf.gradients([g.get_tensor_by_name(n) for n in grads_of], [g.get_tensor_by_name(n) for n in grads_wrt])
    return tf.Session().run(outs, feeds)


def assert_all_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-6)


def build_control_flow(api):
    """cond, nested cond, while_loop with captures and maximum_iterations, and case, in either library."""
    x = api.placeholder(api.float32, [None, 3], name="x")
    s = api.placeholder(api.float32, [], name="s")
    w = api.constant(np.float32(0.5), name="w")
    total = api.reduce_sum(x)
    y_cond = api.cond(total > 0.0, lambda: x * w + s, lambda: x - s, name="plain_cond")
    y_nested = api.cond(s > 0.0, lambda: api.cond(total > 5.0, lambda: total * s, lambda: total + s),
                        lambda: api.reduce_max(x) * w, name="nested_cond")
    i, acc = api.while_loop(lambda i, a: i < 10, lambda i, a: (i + 1, a * s + w), (0, api.constant(1.0)),
                            maximum_iterations=4, name="loop")
    y_case = api.case([(s < 0.0, lambda: x * 0.0), (s > 2.0, lambda: x * s)], default=lambda: x + w, name="case")
    return [y_cond, y_nested, i, acc, y_case]


FEEDS = [(X, 1.5), (-X, 3.0), (X, -1.0)]


# -- ours -> TF --------------------------------------------------------------------------------------------------
def test_cond_and_while_export_as_tf_stateless_ops_with_the_attrs_tf_writes(tfr):
    ours = {n.name: n for n in _graph_def_of(build_control_flow, tf).node}
    g = tfr.Graph()
    with g.as_default():
        build_control_flow(tfr)
    theirs = g.as_graph_def()
    tf_attrs = {n.op: set(n.attr) for n in theirs.node if n.op in ("StatelessIf", "StatelessWhile")}
    assert ours["plain_cond/If"].op == "StatelessIf" and ours["loop/While"].op == "StatelessWhile"
    assert set(ours["plain_cond/If"].attr) == tf_attrs["StatelessIf"]
    assert set(ours["loop/While"].attr) == tf_attrs["StatelessWhile"]
    for fdef in _graph_def_of(build_control_flow, tf).library.function:
        assert fdef.signature.input_arg and fdef.signature.output_arg and set(fdef.ret) == {
            a.name for a in fdef.signature.output_arg}


def _graph_def_of(build, api):
    tf.reset_default_graph()
    build(api)
    return tf.get_default_graph().as_graph_def()


def test_our_cond_case_and_while_loop_run_in_tensorflow(tfr):
    outs = build_control_flow(tf)
    gdef = tf.get_default_graph().as_graph_def()
    feeds = [{"x:0": x, "s:0": s} for x, s in FEEDS]
    with tf.Session() as sess:
        wants = [sess.run(outs, f) for f in feeds]
    for got, want in zip(run_in_tf(tfr, gdef, [t.name for t in outs], *feeds), wants):
        assert_all_close(got, want)


def build_functional(api, with_gradients=True):
    """map_fn (with a cond inside), scan, foldl, foldr, a cond and a while loop, and the gradients through all."""
    x = api.placeholder(api.float32, [None, 3], name="x")
    v = api.placeholder(api.float32, [], name="v")
    m = api.map_fn(lambda r: api.cond(api.reduce_sum(r) > 0.0, lambda: r * v, lambda: r - api.reduce_sum(r)), x)
    sc = api.scan(lambda a, r: a * 0.5 + r, x)
    fl = api.foldl(lambda a, r: a + r * r, x, initializer=api.zeros([3]))
    fr = api.foldr(lambda a, r: a * v - r, x, initializer=api.ones([3]))
    _, acc = api.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * v + 1.0), (0, api.constant(2.0)))
    c = api.cond(v > 0.0, lambda: x * v * v, lambda: x)
    if not with_gradients:
        return [m, sc, fl, fr, acc, c]
    loss = sum(api.reduce_sum(t) for t in (m, sc, fl, fr, c)) + acc
    return [m, sc, fl, fr, acc, c] + api.gradients(loss, [x, v])


def test_map_fn_scan_folds_and_gradients_through_them_run_in_tensorflow(tfr):
    outs = build_functional(tf)
    gdef = tf.get_default_graph().as_graph_def()
    kinds = {n.op for n in gdef.node}
    assert "PartitionedCall" in kinds and not kinds & {"Scan", "WhileGrad", "If", "While"}
    with tf.Session() as sess:
        want = sess.run(outs, {"x:0": X, "v:0": 1.5})
    assert_all_close(run_in_tf(tfr, gdef, [t.name for t in outs], {"x:0": X, "v:0": 1.5}), want)
    # And what TF itself computes for the same program.
    g = tfr.Graph()
    with g.as_default():
        theirs = build_functional(tfr)
        with tfr.Session() as sess:
            assert_all_close(want, sess.run(theirs, {"x:0": X, "v:0": 1.5}))


def test_an_empty_map_fn_runs_in_tensorflow_with_its_static_element_shape(tfr):
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    y = tf.map_fn(lambda r: r + 1.0, x)
    got = run_in_tf(tfr, tf.get_default_graph().as_graph_def(), [y.name], {"x:0": np.zeros((0, 2), np.float32)})
    assert got[0].shape == (0, 2)


# -- TF -> ours --------------------------------------------------------------------------------------------------
def test_tf_written_cond_case_and_while_loop_run_here_as_in_tf(tfr):
    g = tfr.Graph()
    with g.as_default():
        outs = build_control_flow(tfr)
        with tfr.Session() as sess:
            wants = [sess.run(outs, {"x:0": x, "s:0": s}) for x, s in FEEDS]
    gdef = g.as_graph_def()
    assert {"StatelessIf", "StatelessWhile"} <= {n.op for n in gdef.node} and gdef.library.function
    for (x, s), want in zip(FEEDS, wants):
        assert_all_close(run_here(gdef, [t.name for t in outs], {"x:0": x, "s:0": s}), want)


def test_tf_written_map_fn_scan_and_while_gradient_run_here_on_tensor_lists(tfr):
    g = tfr.Graph()
    with g.as_default():
        outs = build_functional(tfr, with_gradients=False)
        acc, c = outs[4:]
        # TF's gradients of the loop and the cond (TensorList stacks, Optionals); those of map_fn itself add
        # TensorLists with AddN, which is not imported (docs/tf-compat.md).
        outs += tfr.gradients(acc + tfr.reduce_sum(c), [g.get_tensor_by_name("x:0"), g.get_tensor_by_name("v:0")])
        with tfr.Session() as sess:
            want = sess.run(outs, {"x:0": X, "v:0": 1.5})
    gdef = g.as_graph_def()
    assert "TensorListFromTensor" in {n.op for n in gdef.node}
    assert "TensorListPopBack" in {n.op for f in gdef.library.function for n in f.node_def}
    assert_all_close(run_here(gdef, [t.name for t in outs], {"x:0": X, "v:0": 1.5}), want)


def test_tf_written_stateful_if_and_while_and_gradients_built_here(tfr):
    g = tfr.Graph()
    with g.as_default():
        x = tfr.placeholder(tfr.float32, [], name="x")
        y = tfr.cond(x > 0.0, lambda: tfr.sin(x) * x, lambda: x * x * x)
        _, z = tfr.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * x), (0, tfr.constant(1.0)))
        dy, dz = tfr.gradients(y, x)[0], tfr.gradients(z, x)[0]
        gdef = g.as_graph_def()
        for node in gdef.node:  # TF writes If/While where a branch is stateful: the importer takes both forms
            node.op = {"StatelessIf": "If", "StatelessWhile": "While"}.get(node.op, node.op)
        with tfr.Session() as sess:
            wants = [sess.run([y, z, dy, dz], {x: v}) for v in (0.7, -1.3)]
    for v, want in zip((0.7, -1.3), wants):
        got = run_here(gdef, [y.name, z.name], {"x:0": v}, grads_of=[y.name, z.name], grads_wrt=["x:0"])
        assert_all_close(got[:2], want[:2])
        np.testing.assert_allclose(got[2], want[2] + want[3], rtol=1e-5)


def test_a_tf_function_called_in_a_graph_imports_with_its_gradient(tfr):
    import tensorflow

    g = tfr.Graph()
    with g.as_default():
        x = tfr.placeholder(tfr.float32, [None], name="x")
        y = tensorflow.function(lambda a: a * a + 1.0)(x)
        with tfr.Session() as sess:
            want = sess.run(y, {x: X[0]})
    got = run_here(g.as_graph_def(), [y.name], {"x:0": X[0]}, grads_of=[y.name], grads_wrt=["x:0"])
    assert_all_close(got, [want, 2 * X[0]])


# -- round trips -------------------------------------------------------------------------------------------------
def test_round_trip_keeps_values_and_gradients_of_cond_while_and_scans():
    outs = build_functional(tf, with_gradients=False)
    loss = tf.add_n([tf.reduce_sum(t) for t in outs], name="loss")
    grads = tf.gradients(loss, [tf.get_default_graph().get_tensor_by_name(n) for n in ("x:0", "v:0")])
    feeds = {"x:0": X, "v:0": 1.5}
    with tf.Session() as sess:
        want = sess.run(outs + grads, feeds)
    gdef = tf.get_default_graph().as_graph_def()
    got = run_here(gdef, [t.name for t in outs], feeds, grads_of=["loss:0"], grads_wrt=["x:0", "v:0"])
    assert_all_close(got, want)
    kinds = {op.type for op in tf.get_default_graph().get_operations()}
    assert {"Scan", "While", "If", "WhileGrad"} <= kinds  # our own ops again, not TF's loop over TensorLists
    again = tf.get_default_graph().as_graph_def()
    assert_all_close(run_here(again, [t.name for t in outs], feeds), want[:len(outs)])


def test_write_graph_text_round_trips_with_its_library(tfr, tmp_path):
    outs = build_control_flow(tf)
    tf.train.write_graph(tf.get_default_graph(), str(tmp_path), "cf.pbtxt", as_text=True)
    from google.protobuf import text_format

    theirs = text_format.Parse((tmp_path / "cf.pbtxt").read_text(), tfr.GraphDef())
    feeds = {"x:0": X, "s:0": 1.5}
    with tf.Session() as sess:
        want = sess.run(outs, feeds)
    assert_all_close(run_in_tf(tfr, theirs, [t.name for t in outs], feeds), want)


# -- meta graphs -------------------------------------------------------------------------------------------------
def test_meta_graphs_carry_control_flow_both_ways(tfr, tmp_path):
    outs = build_control_flow(tf)
    for t in outs:
        tf.add_to_collection("outs", t)
    tf.train.export_meta_graph(str(tmp_path / "ours.meta"))
    feeds = {"x:0": X, "s:0": 1.5}
    with tf.Session() as sess:
        want = sess.run(outs, feeds)
    g = tfr.Graph()
    with g.as_default():
        tfr.train.import_meta_graph(str(tmp_path / "ours.meta"))
        with tfr.Session() as sess:
            assert_all_close(sess.run(tfr.get_collection("outs"), feeds), want)
        theirs = build_functional(tfr, with_gradients=False)
        for t in theirs:
            tfr.add_to_collection("theirs", t)
        tfr.train.export_meta_graph(str(tmp_path / "tf.meta"))
        with tfr.Session() as sess:
            want_tf = sess.run(theirs, {"x_1:0": X, "v:0": 1.5})
    tf.reset_default_graph()
    tf.train.import_meta_graph(str(tmp_path / "tf.meta"))
    with tf.Session() as sess:
        assert_all_close(sess.run(tf.get_collection("theirs"), {"x_1:0": X, "v:0": 1.5}), want_tf)


# -- refusals ------------------------------------------------------------------------------------------------------
def test_tf1_dataflow_control_flow_is_refused_saying_how_to_re_export(tfr):
    import tensorflow

    tensorflow.compat.v1.disable_control_flow_v2()
    try:
        g = tfr.Graph()
        with g.as_default():
            x = tfr.placeholder(tfr.float32, [], name="x")
            tfr.cond(x > 0.0, lambda: x, lambda: -x)
        loop = tfr.Graph()
        with loop.as_default():
            tfr.while_loop(lambda i: i < 3, lambda i: i + 1, [0])
    finally:
        tensorflow.compat.v1.enable_control_flow_v2()
    for gdef in (g.as_graph_def(), loop.as_graph_def()):
        assert "Switch" in {n.op for n in gdef.node}
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"TensorFlow 1's dataflow control flow.*control "
                                                                 r"flow v2.*enable_control_flow_v2"):
            tf.import_graph_def(gdef.SerializeToString(), name="")
        assert tf.get_default_graph().get_operations() == []


def _cond_graph_def() -> graph_pb2.GraphDef:
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [], name="x")
    tf.cond(x > 0.0, lambda: x * 2.0, lambda: -x, name="c")
    gdef = tf.get_default_graph().as_graph_def()
    tf.reset_default_graph()
    return gdef


def _function(gdef, suffix):
    return next(f for f in gdef.library.function if f.signature.name.endswith(suffix))


def _import_fails(gdef, pattern):
    with pytest.raises(tf.errors.InvalidArgumentError, match=pattern):
        tf.import_graph_def(gdef.SerializeToString(), name="")
    assert tf.get_default_graph().get_operations() == []
    assert not tf.get_default_graph().__dict__.get("_data_objects")  # no functions left behind


def test_a_missing_function_is_refused_naming_it():
    gdef = _cond_graph_def()
    gdef.node[-1].attr["then_branch"].func.name = "nowhere"
    _import_fails(gdef, r"node 'c/If' \(StatelessIf\) calls function 'nowhere', which the GraphDef's library does not "
                        "define")


def test_a_recursive_function_is_refused_naming_the_cycle():
    gdef = _cond_graph_def()
    then = _function(gdef, "_true")
    call = then.node_def.add(name="again", op="StatelessIf", input=["captured"])  # calls the function itself
    call.attr["then_branch"].func.name = call.attr["else_branch"].func.name = then.signature.name
    _import_fails(gdef, rf"function '{then.signature.name}' calls itself")


def test_functions_nested_too_deep_are_refused_before_python_recursion_fails():
    gdef = graph_pb2.GraphDef()
    gdef.node.add(name="p", op="Placeholder").attr["dtype"].type = tf.bool.enum
    call = gdef.node.add(name="top", op="StatelessIf", input=["p", "p"])
    call.attr["then_branch"].func.name = call.attr["else_branch"].func.name = "f0"
    call.attr["Tout"].list.type.append(tf.bool.enum)
    for k in range(MAX_DEPTH + 5):
        f = gdef.library.function.add()
        f.signature.name = f"f{k}"
        f.signature.input_arg.add(name="a", type=tf.bool.enum)
        f.signature.output_arg.add(name="out", type=tf.bool.enum)
        inner = f.node_def.add(name="inner", op="StatelessIf", input=["a", "a"])
        inner.attr["then_branch"].func.name = inner.attr["else_branch"].func.name = f"f{k + 1}"
        inner.attr["Tout"].list.type.append(tf.bool.enum)
        f.ret["out"] = "inner:output:0"
    _import_fails(gdef, rf"nested {MAX_DEPTH + 1} calls deep; at most {MAX_DEPTH}")


def test_a_library_calling_one_function_from_many_places_imports_each_function_once():
    # 24 levels, each calling the next from both branches: 2**24 calls if functions were imported per call.
    gdef = graph_pb2.GraphDef()
    gdef.node.add(name="p", op="Placeholder").attr["dtype"].type = tf.bool.enum
    call = gdef.node.add(name="top", op="StatelessIf", input=["p", "p"])
    call.attr["then_branch"].func.name = call.attr["else_branch"].func.name = "f0"
    call.attr["Tout"].list.type.append(tf.bool.enum)
    for k in range(24):
        f = gdef.library.function.add()
        f.signature.name = f"f{k}"
        f.signature.input_arg.add(name="a", type=tf.bool.enum)
        f.signature.output_arg.add(name="out", type=tf.bool.enum)
        if k == 23:
            f.node_def.add(name="not", op="LogicalNot", input=["a"])
            f.ret["out"] = "not:y:0"
            continue
        for branch in ("one", "two"):
            inner = f.node_def.add(name=branch, op="StatelessIf", input=["a", "a"])
            inner.attr["then_branch"].func.name = inner.attr["else_branch"].func.name = f"f{k + 1}"
            inner.attr["Tout"].list.type.append(tf.bool.enum)
        f.node_def.add(name="both", op="LogicalAnd", input=["one:output:0", "two:output:0"])
        f.ret["out"] = "both:z:0"
    start = time.perf_counter()
    tf.import_graph_def(gdef.SerializeToString(), name="")
    assert time.perf_counter() - start < 5
    assert len(tf.get_default_graph().__dict__["_data_objects"]) == 24  # one traced function per FunctionDef


def _mul(fdef):
    return next(n for n in fdef.node_def if n.op == "Mul")


@pytest.mark.parametrize("damage, pattern", [
    (lambda f: setattr(f.signature.input_arg[0], "type_attr", "T"), "polymorphic type"),
    (lambda f: f.signature.input_arg.add(name=f.signature.input_arg[0].name, type=1), "two arguments named"),
    (lambda f: f.ret.clear(), "no 'ret' entry for its output"),
    (lambda f: _mul(f).input.__setitem__(0, "ghost:z:0"), "the function has no node 'ghost'"),
    (lambda f: _mul(f).input.__setitem__(0, "nothing"), "reads 'nothing', which is not an argument"),
    (lambda f: f.node_def.add(name="p", op="Placeholder").attr["dtype"].__setattr__("type", 1),
     "has a Placeholder node 'p'"),
    (lambda f: setattr(f.signature.output_arg[0], "type", tf.int32.enum), "declares output 'output_0' as int32"),
])
def test_malformed_functions_are_refused_naming_the_function(damage, pattern):
    gdef = _cond_graph_def()
    damage(_function(gdef, "_true"))
    _import_fails(gdef, pattern)


def test_duplicate_function_names_are_refused():
    gdef = _cond_graph_def()
    gdef.library.function.add().CopyFrom(gdef.library.function[0])
    _import_fails(gdef, "two functions named")


# -- schemas -------------------------------------------------------------------------------------------------------
def test_function_and_op_def_schemas_match_tensorflows(tfr):
    from tensorflow.core.framework import function_pb2 as tf_function_pb2, op_def_pb2 as tf_op_def_pb2

    from tensorflux.proto import function_pb2, op_def_pb2
    from tests.core.serialization.test_tf_interop import _compare_message

    problems = []
    for ours, theirs in ((function_pb2, tf_function_pb2), (op_def_pb2, tf_op_def_pb2)):
        for name, descriptor in ours.DESCRIPTOR.message_types_by_name.items():
            problems += _compare_message(descriptor, theirs.DESCRIPTOR.message_types_by_name[name], name)
    assert not problems, "\n".join(problems)


def test_tensor_lists_stay_in_host_memory_when_the_graph_is_pinned_to_another_device(tfr):
    from tensorflux._internal.placement import place
    from tensorflux._internal.registry import DEVICES, lookup_kernel

    tf.Session().run(tf.constant(0.0))  # discovers the installed device plugins
    # A device with its own memory that would run TensorList ops (through the host adapter) if placement let it.
    attrs = {"element_dtype": tf.float32, "shape_type": tf.int32}
    others = [d for d in DEVICES.all() if not d.host_memory and lookup_kernel("TensorListReserve", d.device_type, attrs)]
    if not others:
        pytest.skip("no installed device plugin with its own memory (tpu_sim...) has the host kernels to pin to")
    g = tfr.Graph()
    with g.as_default():
        x = tfr.placeholder(tfr.float32, [None, 3], name="x")
        y = tfr.map_fn(lambda r: r * 2.0, x)
    tf.reset_default_graph()
    with tf.device(others[0].name):
        (out,) = tf.import_graph_def(g.as_graph_def().SerializeToString(), name="", return_elements=[y.name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan reports the TensorList ops it moved to the host
        np.testing.assert_allclose(tf.Session().run(out, {"x:0": X}), X * 2.0)
    variant_ops = [op for op in tf.get_default_graph().get_operations() if op.type.startswith("TensorList")]
    placed: dict = {}
    assert variant_ops and all(place(op, placed)[0].host_memory for op in variant_ops)
