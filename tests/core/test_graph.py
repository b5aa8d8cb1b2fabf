"""Graph, Operation and Tensor: names, scopes, devices, control dependencies, collections, finalize."""

import threading

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import PlacementWarning


# -- names -------------------------------------------------------------------------------
def test_tensor_and_op_names():
    c = tf.constant(1.0, name="c")
    assert c.name == "c:0" and c.op.name == "c" and c.value_index == 0
    assert c.op.type == "Const" and c.op.outputs == [c] and c.op.values() == (c,)
    assert c.graph is tf.get_default_graph() is c.op.graph


def test_default_names_are_the_op_type():
    assert tf.constant(1).op.name == "Const"
    assert tf.add(1, 2).op.name == "AddV2"
    assert tf.placeholder(tf.float32).op.name == "Placeholder"


def test_duplicate_names_get_numeric_suffixes():
    names = [tf.constant(1, name="a").op.name for _ in range(3)]
    assert names == ["a", "a_1", "a_2"]
    # An explicit name that collides with a generated one is itself made unique.
    assert tf.constant(1, name="a_1").op.name == "a_1_1"
    assert tf.constant(1, name="a").op.name == "a_3"


def test_unique_names_ignore_case():
    assert tf.constant(1, name="Foo").op.name == "Foo"
    assert tf.constant(1, name="foo").op.name == "foo_1"


def test_unique_name_without_marking():
    g = tf.get_default_graph()
    assert g.unique_name("x", mark_as_used=False) == "x"
    assert g.unique_name("x", mark_as_used=False) == "x"
    assert g.unique_name("x") == "x"
    assert g.unique_name("x") == "x_1"


def test_python_inputs_become_constants_named_under_the_op():
    z = tf.add(1.0, 2.0, name="sum")
    assert [t.name for t in z.op.inputs] == ["sum/x:0", "sum/y:0"]


@pytest.mark.parametrize("bad", ["bad name", "a:b", "-lead", "x!"])
def test_invalid_op_names_are_rejected_naming_them(bad):
    with pytest.raises(ValueError, match=f"'{bad}' is not a valid op name"):
        tf.constant(1, name=bad)


# -- name scopes -----------------------------------------------------------------------------
def test_name_scope_nesting_and_returned_scope_string():
    with tf.name_scope("outer") as outer:
        a = tf.constant(1, name="a")
        with tf.name_scope("inner") as inner:
            b = tf.constant(1, name="b")
    assert outer == "outer/" and inner == "outer/inner/"
    assert a.name == "outer/a:0" and b.name == "outer/inner/b:0"
    assert tf.get_default_graph().get_name_scope() == ""


def test_reopening_a_scope_name_makes_a_new_unique_scope():
    with tf.name_scope("s"):
        a = tf.constant(1, name="c")
    with tf.name_scope("s") as second:
        b = tf.constant(1, name="c")
    assert second == "s_1/"
    assert (a.name, b.name) == ("s/c:0", "s_1/c:0")


def test_scope_ending_in_slash_reenters_exactly():
    with tf.name_scope("s") as scope:
        a = tf.constant(1, name="c")
    with tf.name_scope(scope):
        b = tf.constant(1, name="c")
        d = tf.constant(1, name="d")
    assert (a.name, b.name, d.name) == ("s/c:0", "s/c_1:0", "s/d:0")


def test_name_scope_none_or_empty_resets_to_the_root():
    with tf.name_scope("outer"):
        with tf.name_scope(None):
            a = tf.constant(1, name="r")
        with tf.name_scope(""):
            b = tf.constant(1, name="q")
    assert (a.name, b.name) == ("r:0", "q:0")


def test_name_scope_default_name():
    with tf.name_scope(None, default_name="dflt") as scope:
        assert scope == "dflt/"
    with tf.name_scope("given", default_name="dflt") as scope:
        assert scope == "given/"


def test_scope_and_op_names_share_one_namespace():
    tf.constant(1, name="layer")
    with tf.name_scope("layer") as scope:
        pass
    assert scope == "layer_1/"


def test_invalid_scope_name_raises_naming_it():
    with pytest.raises(ValueError, match="'bad name!'"):
        with tf.name_scope("bad name!"):
            pass


def test_name_scope_restored_after_exception():
    g = tf.get_default_graph()
    with pytest.raises(RuntimeError):
        with tf.name_scope("boom"):
            raise RuntimeError("x")
    assert g.get_name_scope() == ""


# -- devices ------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, canonical", [
    ("/cpu:0", "/cpu:0"),
    ("/device:CPU:0", "/cpu:0"),
    ("/CPU:0", "/cpu:0"),
    ("cpu", "/cpu:0"),
    ("/cpu:*", "/cpu:0"),
    ("/job:localhost/replica:0/task:0/device:CPU:0", "/cpu:0"),
    ("/device:GPU:1", "/cuda:1"),
    ("/gpu:2", "/cuda:2"),
])
def test_device_scope_canonicalizes_specs(spec, canonical):
    with tf.device(spec):
        t = tf.constant(1.0)
    assert t.device == canonical and t.op.device == canonical


def test_device_scopes_nest_and_none_clears():
    with tf.device("/cpu:0"):
        with tf.device("/gpu:0"):
            inner = tf.constant(1.0)
        with tf.device(None):
            cleared = tf.constant(1.0)
        outer = tf.constant(1.0)
    after = tf.constant(1.0)
    assert (inner.device, cleared.device, outer.device, after.device) == ("/cuda:0", "", "/cpu:0", "")


def test_invalid_device_spec_names_it():
    with pytest.raises(ValueError, match="'what is this'"):
        with tf.device("what is this"):
            pass


def test_ops_placed_on_the_cpu_run():
    with tf.device("/device:CPU:0"):
        y = tf.constant([1.0, 2.0]) * 3
    np.testing.assert_array_equal(tf.Session().run(y), [3.0, 6.0])


def test_op_on_missing_device_runs_elsewhere_or_fails_naming_op_and_device():
    # As TF: with soft placement (our default) a script pinned to a device this machine lacks still runs, and
    # says so; without it, the run fails naming the op, the device and the devices there are.
    with tf.device("/device:NOWHERE:3"):
        y = tf.constant(1.0, name="far_away")
    with pytest.warns(PlacementWarning, match=r"far_away.*/nowhere:3, which is not available.*\n.*/nowhere:3: "
                                              r"no such device is available \(available: .*/cpu:0"):
        assert tf.Session().run(y) == 1.0
    strict = tf.Session(config=tf.ConfigProto(allow_soft_placement=False))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"far_away.*/nowhere:3, but no such device.*"
                                                             r"allow_soft_placement=False"):
        strict.run(y)


# -- control dependencies ---------------------------------------------------------------------
def test_control_dependencies_nest_accept_tensors_and_clear_with_none():
    a = tf.no_op(name="a")
    b = tf.constant(1, name="b")
    v = tf.Variable(1.0, name="v")
    with tf.control_dependencies([a, b]):
        x = tf.constant(1)
        with tf.control_dependencies([v]):
            y = tf.constant(1)
        with tf.control_dependencies(None):
            z = tf.constant(1)
    assert [o.name for o in x.op.control_inputs] == ["a", "b"]
    assert {o.name for o in y.op.control_inputs} == {"a", "b", "v"}
    assert z.op.control_inputs == []


def test_control_dependencies_reject_non_ops_naming_the_value():
    with pytest.raises(TypeError, match="42"):
        with tf.control_dependencies([42]):
            pass


def test_control_dependency_runs_before_the_dependent_op():
    counter = tf.Variable(0, name="counter")
    inc = tf.assign_add(counter, 1)
    with tf.control_dependencies([inc]):
        out = tf.identity(tf.constant(5))
    with tf.Session() as sess:
        sess.run(counter.initializer)
        sess.run(out)
        sess.run(out)
        assert sess.run(counter) == 2


def test_control_dependency_on_an_op_only_runs_it_when_needed():
    counter = tf.Variable(0, name="counter")
    inc = tf.assign_add(counter, 1)
    with tf.control_dependencies([inc]):
        gated = tf.constant(1)
    free = tf.constant(2)
    with tf.Session() as sess:
        sess.run(counter.initializer)
        sess.run(free)
        assert sess.run(counter) == 0
        sess.run(gated)
        assert sess.run(counter) == 1


# -- lookups --------------------------------------------------------------------------------------
def test_get_tensor_and_operation_by_name():
    g = tf.get_default_graph()
    with tf.name_scope("s"):
        c = tf.constant(1, name="c")
    assert g.get_tensor_by_name("s/c:0") is c
    assert g.get_operation_by_name("s/c") is c.op
    assert g.as_graph_element("s/c:0") is c and g.as_graph_element("s/c") is c.op


def test_multi_output_op_tensor_lookup():
    parts = tf.split(tf.zeros([4]), 2, name="sp")
    g = tf.get_default_graph()
    assert g.get_tensor_by_name("sp:1") is parts[1]
    with pytest.raises(KeyError, match=r"'sp:2'.*2 outputs"):
        g.get_tensor_by_name("sp:2")


@pytest.mark.parametrize("name, exc, pattern", [
    ("missing:0", KeyError, r"'missing:0'.*'missing' is not in the graph"),
    ("c:3", KeyError, r"'c:3'.*has 1 outputs"),
    ("c", ValueError, r"'c' does not look like a tensor name"),
    ("c:x", ValueError, r"'c:x'"),
])
def test_get_tensor_by_name_errors_name_the_tensor(name, exc, pattern):
    tf.constant(1, name="c")
    with pytest.raises(exc, match=pattern):
        tf.get_default_graph().get_tensor_by_name(name)


@pytest.mark.parametrize("name, exc, pattern", [
    ("missing", KeyError, r"'missing' refers to an Operation not in the graph"),
    ("c:0", ValueError, r"'c:0' looks like a tensor name"),
    (3, TypeError, "3"),
])
def test_get_operation_by_name_errors_name_the_op(name, exc, pattern):
    tf.constant(1, name="c")
    with pytest.raises(exc, match=pattern):
        tf.get_default_graph().get_operation_by_name(name)


def test_get_operations_in_creation_order_and_consumers():
    a = tf.constant(1.0, name="a")
    b = tf.add(a, a, name="b")
    c = tf.multiply(a, b, name="c")
    g = tf.get_default_graph()
    assert [op.name for op in g.get_operations()] == ["a", "b", "c"]
    assert a.consumers() == [b.op, b.op, c.op]
    assert b.op.inputs == (a, a)


def test_get_attr_and_missing_attr_names_op():
    t = tf.cast(tf.constant([1, 2]), tf.float32, name="cst")
    assert t.op.get_attr("DstT") is tf.float32
    with pytest.raises(ValueError, match=r"'cst'.*'nope'"):
        t.op.get_attr("nope")


def test_elements_of_another_graph_are_rejected():
    other = tf.Graph()
    with other.as_default():
        foreign = tf.constant(1.0, name="foreign")
    with pytest.raises(ValueError, match="foreign:0.*different graph"):
        tf.add(foreign, 1.0)
    with pytest.raises(ValueError, match="not an element of this graph"):
        tf.get_default_graph().as_graph_element(foreign)


# -- tensors --------------------------------------------------------------------------------------
def test_tensor_set_shape_refines_and_rejects_incompatible():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    x.set_shape([4, None])
    assert x.shape == [4, 3] and x.get_shape() == [4, 3]
    with pytest.raises(ValueError, match=r"'x:0'.*\(4, 3\).*\(5, 3\)"):
        x.set_shape([5, 3])


def test_tensor_refuses_bool_iter_and_len_naming_it():
    t = tf.constant([1, 2], name="t")
    with pytest.raises(TypeError, match="'t:0'"):
        bool(t)
    with pytest.raises(TypeError, match="'t:0'"):
        iter(t)
    with pytest.raises(TypeError, match="'t:0'"):
        len(t)


def test_tensors_hash_by_identity_and_repr_shows_shape_and_dtype():
    a, b = tf.constant(1.0, name="a"), tf.constant(1.0, name="b")
    assert len({a: 1, b: 2}) == 2
    assert repr(a) == "<tf.Tensor 'a:0' shape=() dtype=float32>"
    assert repr(a.op) == "<tf.Operation 'a' type=Const>"


# -- default graph ------------------------------------------------------------------------------
def test_as_default_nests_and_restores():
    g1, g2 = tf.Graph(), tf.Graph()
    base = tf.get_default_graph()
    with g1.as_default():
        assert tf.get_default_graph() is g1
        with g2.as_default():
            assert tf.get_default_graph() is g2
        assert tf.get_default_graph() is g1
    assert tf.get_default_graph() is base


def test_reset_default_graph_replaces_it_but_not_inside_as_default():
    before = tf.get_default_graph()
    tf.reset_default_graph()
    assert tf.get_default_graph() is not before
    with tf.Graph().as_default():
        with pytest.raises(AssertionError):
            tf.reset_default_graph()


def test_default_graph_stack_is_per_thread():
    g = tf.Graph()
    seen = []
    with g.as_default():
        t = threading.Thread(target=lambda: seen.append(tf.get_default_graph()))
        t.start()
        t.join()
    assert seen[0] is not g


# -- collections ---------------------------------------------------------------------------------
def test_collections_add_get_scope_filter_and_copy_semantics():
    with tf.name_scope("s"):
        a = tf.constant(1, name="a")
    b = tf.constant(1, name="b")
    tf.add_to_collection("things", a)
    tf.add_to_collection("things", b)
    assert tf.get_collection("things") == [a, b]
    assert tf.get_collection("things", scope="s") == [a]
    assert tf.get_collection("nothing") == []
    snapshot = tf.get_collection("things")
    snapshot.append("junk")
    assert tf.get_collection("things") == [a, b]


def test_collection_ref_is_live_and_keys_and_clear():
    g = tf.get_default_graph()
    ref = tf.get_collection_ref("live")
    ref.append(1)
    assert tf.get_collection("live") == [1]
    g.add_to_collections(["k1", "k2"], 5)
    assert {"live", "k1", "k2"} <= set(g.get_all_collection_keys())
    g.clear_collection("k1")
    assert g.get_collection("k1") == []


def test_graph_keys_names():
    assert tf.GraphKeys.GLOBAL_VARIABLES == "variables"
    assert tf.GraphKeys.TRAINABLE_VARIABLES == "trainable_variables"
    assert tf.GraphKeys.LOCAL_VARIABLES == "local_variables"


# -- finalize ---------------------------------------------------------------------------------------
def test_finalized_graph_rejects_new_ops_but_still_runs():
    y = tf.constant(2.0) * 3
    g = tf.get_default_graph()
    g.finalize()
    assert g.finalized
    with pytest.raises(RuntimeError, match="finalized.*'late'"):
        tf.constant(1.0, name="late")
    assert tf.Session().run(y) == 6.0


def test_failed_add_to_finalized_graph_leaves_no_trace():
    a = tf.constant(1.0, name="a")
    g = tf.get_default_graph()
    n_ops = len(g.get_operations())
    g.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        tf.identity(a, name="late")
    assert a.consumers() == []
    assert len(g.get_operations()) == n_ops
    g._unsafe_unfinalize()
    assert tf.identity(a, name="late").op.name == "late"
