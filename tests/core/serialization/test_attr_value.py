"""Attribute values to AttrValue and back, by the OpDef attribute kind."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.serialization.attr_value import attr_from_proto, attr_to_proto
from tensorflux.proto import attr_value_pb2


@pytest.mark.parametrize("kind, value, field", [
    ("type", tf.int64, "type"), ("int", -3, "i"), ("float", 0.5, "f"), ("bool", True, "b"), ("string", "SAME", "s"),
    ("shape", tf.TensorShape([None, 2]), "shape"), ("list(int)", [1, 2, 3], "list"),
    ("list(type)", [tf.float32, tf.int32], "list"), ("list(float)", [0.25, 1.0], "list"),
    ("list(string)", ["a", "b"], "list"), ("list(int)", [], "list"),
])
def test_round_trip_by_kind(kind, value, field):
    av = attr_value_pb2.AttrValue.FromString(attr_to_proto(kind, value, "attr").SerializeToString())
    assert av.WhichOneof("value") == field
    assert attr_from_proto(kind, av, "attr") == value


def test_tensor_attr_round_trips_and_comes_back_read_only():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = attr_from_proto("tensor", attr_to_proto("tensor", value, "attr value"), "attr value")
    np.testing.assert_array_equal(out, value)
    assert not out.flags.writeable


def test_unset_shape_is_unknown_rank_and_other_unset_values_are_omitted():
    assert attr_to_proto("shape", None, "attr").shape.unknown_rank
    assert attr_to_proto("type", None, "attr") is None


def test_kind_mismatch_names_the_attribute_and_both_kinds():
    av = attr_value_pb2.AttrValue(i=3)
    with pytest.raises(TypeError, match=r"attr 'T' of node 'n': expected a type value \('type'\), got .*'i'"):
        attr_from_proto("type", av, "attr 'T' of node 'n'")
    with pytest.raises(TypeError, match="expected a list of int values"):
        attr_from_proto("list(int)", av, "attr")


def test_unknown_kinds_are_inferred_from_the_value():
    assert attr_from_proto("?", attr_to_proto("?", [1, 2], "attr"), "attr") == [1, 2]
    assert attr_from_proto("?", attr_to_proto("?", "VALID", "attr"), "attr") == "VALID"
    assert attr_from_proto("?", attr_to_proto("?", tf.float16, "attr"), "attr") is tf.float16
