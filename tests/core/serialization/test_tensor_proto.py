"""TensorProto / TensorShapeProto encoding: TF's field choices, the splat rule, and malformed protos."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.serialization.tensor_proto import (
    dtype_from_enum,
    from_tensor_proto,
    shape_from_proto,
    shape_to_proto,
    to_tensor_proto,
)
from tensorflux.proto import tensor_pb2


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                                   "uint8", "bool"])
@pytest.mark.parametrize("shape", [(), (1,), (4,), (2, 3), (0, 2)])
def test_numeric_round_trip_keeps_dtype_shape_and_values(dtype, shape):
    dt = tf.as_dtype(dtype)
    rng = np.random.default_rng(1)
    value = (rng.normal(size=shape) * 100).astype(dt.np_dtype) if not dt.is_bool else rng.integers(0, 2, shape) > 0
    proto = tensor_pb2.TensorProto.FromString(to_tensor_proto(value, dt).SerializeToString())
    out = from_tensor_proto(proto)
    assert out.dtype == dt.np_dtype and out.shape == shape
    np.testing.assert_array_equal(out, value)


def test_field_choice_follows_tensorflow():
    assert to_tensor_proto(np.ones((2, 2), np.float32)).tensor_content  # many elements: raw bytes
    assert list(to_tensor_proto(np.float32(3)).float_val) == [3.0]  # scalar: typed field
    assert list(to_tensor_proto(np.array([True, False])).bool_val) == [True, False]
    half = to_tensor_proto(np.array([1.0, 2.0], np.float16))
    assert list(half.half_val) == np.array([1.0, 2.0], np.float16).view(np.uint16).tolist()
    assert not half.tensor_content
    bf = to_tensor_proto(np.array([1.5], tf.bfloat16.np_dtype), tf.bfloat16)
    assert bf.dtype == tf.bfloat16.enum and list(bf.half_val) == [0x3FC0]


def test_strings_use_string_val_and_keep_bytes():
    value = np.array([["a", b"\x00b"], ["", "\u00e9"]], dtype=object)
    proto = to_tensor_proto(value, tf.string)
    assert list(proto.string_val) == [b"a", b"\x00b", b"", "\u00e9".encode()]
    out = from_tensor_proto(proto)
    assert out.shape == (2, 2) and out[0, 1] == b"\x00b" and out[1, 1] == "\u00e9".encode()


def test_short_value_list_repeats_its_last_value_like_tensorflow():
    proto = tensor_pb2.TensorProto(dtype=tf.int32.enum, tensor_shape=shape_to_proto([2, 3]), int_val=[1, 7])
    np.testing.assert_array_equal(from_tensor_proto(proto), [[1, 7, 7], [7, 7, 7]])
    zeros = tensor_pb2.TensorProto(dtype=tf.float32.enum, tensor_shape=shape_to_proto([3]))
    np.testing.assert_array_equal(from_tensor_proto(zeros), [0, 0, 0])


def test_shapes_with_unknown_dims_and_rank():
    assert shape_from_proto(shape_to_proto([None, 3])) == tf.TensorShape([None, 3])
    assert shape_from_proto(shape_to_proto(None)).rank is None
    assert shape_to_proto(None).unknown_rank
    assert shape_from_proto(shape_to_proto([])) == tf.TensorShape([])


@pytest.mark.parametrize("proto, message", [
    (tensor_pb2.TensorProto(dtype=1, tensor_shape=shape_to_proto([3]), tensor_content=b"\x00" * 8),
     r"my const: tensor_content has 8 bytes, but a float32 tensor of shape \[3\] needs 12"),
    (tensor_pb2.TensorProto(dtype=3, tensor_shape=shape_to_proto([1]), int_val=[1, 2]),
     r"my const: int_val has 2 values, but shape \[1\] holds only 1"),
    (tensor_pb2.TensorProto(dtype=1, tensor_shape=shape_to_proto([None])), r"my const: .*fully defined shape"),
    (tensor_pb2.TensorProto(dtype=6, tensor_shape=shape_to_proto([1]), int_val=[300]), r"my const: .*out of range"),
])
def test_malformed_protos_raise_naming_the_tensor(proto, message):
    with pytest.raises(ValueError, match=message):
        from_tensor_proto(proto, "my const")


def test_unsupported_dtype_names_the_tensor_and_lists_supported():
    with pytest.raises(TypeError, match=r"my const: DataType 8 is not supported.*float32=1"):
        dtype_from_enum(8, "my const")
    assert dtype_from_enum(101, "ref") is tf.float32  # DT_FLOAT_REF is a float variable's output type
