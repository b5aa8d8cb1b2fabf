"""DType object model, conversion with as_dtype, and the dtype TF 1.x infers for constants."""

import copy
import pickle

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal import dtypes as dtypes_mod

# (public dtype, numpy dtype, TF DataType enum, kind flags)
TABLE = [
    (tf.float16, np.float16, 19, "float"),
    (tf.bfloat16, ml_dtypes.bfloat16, 14, "float"),
    (tf.float32, np.float32, 1, "float"),
    (tf.float64, np.float64, 2, "float"),
    (tf.int8, np.int8, 6, "int"),
    (tf.int16, np.int16, 5, "int"),
    (tf.int32, np.int32, 3, "int"),
    (tf.int64, np.int64, 9, "int"),
    (tf.uint8, np.uint8, 4, "uint"),
    (tf.bool, np.bool_, 10, "bool"),
    (tf.string, np.object_, 7, "string"),
]
IDS = [row[0].name for row in TABLE]


@pytest.mark.parametrize("dtype, np_dtype, enum, kind", TABLE, ids=IDS)
def test_dtype_properties(dtype, np_dtype, enum, kind):
    assert dtype.np_dtype == np.dtype(np_dtype)
    assert dtype.as_numpy_dtype is np.dtype(np_dtype).type
    assert dtype.enum == enum
    assert dtype.is_floating == (kind == "float")
    assert dtype.is_integer == (kind in ("int", "uint"))
    assert dtype.is_unsigned == (kind == "uint")
    assert dtype.is_bool == (kind == "bool")
    assert dtype.is_numeric == (kind in ("float", "int", "uint"))
    assert repr(dtype) == f"tf.{dtype.name}"


@pytest.mark.parametrize("dtype, np_dtype, enum, kind", TABLE, ids=IDS)
def test_as_dtype_round_trips_name_enum_and_numpy(dtype, np_dtype, enum, kind):
    assert tf.as_dtype(dtype) is dtype
    assert tf.as_dtype(dtype.name) is dtype
    assert tf.as_dtype(enum) is dtype
    assert tf.as_dtype(np_dtype) is dtype
    assert tf.as_dtype(np.dtype(np_dtype)) is dtype


@pytest.mark.parametrize("dtype", [row[0] for row in TABLE], ids=IDS)
def test_dtypes_survive_pickle_and_copy(dtype):
    assert pickle.loads(pickle.dumps(dtype)) is dtype
    assert copy.deepcopy(dtype) is dtype
    assert copy.copy(dtype) is dtype


@pytest.mark.parametrize("alias, dtype", [
    ("half", tf.float16), ("float", tf.float32), ("double", tf.float64), ("bool_", tf.bool),
    (float, tf.float32), (int, tf.int32), (bool, tf.bool), (str, tf.string), (bytes, tf.string),
    (np.dtype("U5"), tf.string), (np.dtype("S3"), tf.string),
])
def test_as_dtype_aliases_and_python_types(alias, dtype):
    assert tf.as_dtype(alias) is dtype


def test_public_aliases():
    assert tf.half is tf.float16 and tf.float is tf.float32 and tf.double is tf.float64


@pytest.mark.parametrize("bad", ["foo", 99, np.complex64, "uint16", None, 1.5])
def test_as_dtype_rejects_unknown_values_naming_them(bad):
    with pytest.raises(TypeError, match="Cannot convert") as info:
        tf.as_dtype(bad)
    assert repr(bad) in str(info.value)
    assert "float32" in str(info.value)  # lists what is accepted


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16, tf.float32, tf.float64])
def test_float_min_max_match_finfo(dtype):
    info = ml_dtypes.finfo(dtype.np_dtype)
    assert dtype.max == info.max and dtype.min == info.min


@pytest.mark.parametrize("dtype", [tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8])
def test_integer_min_max_match_iinfo(dtype):
    info = np.iinfo(dtype.np_dtype)
    assert (dtype.min, dtype.max) == (info.min, info.max)


@pytest.mark.parametrize("dtype", [tf.bool, tf.string])
def test_min_max_undefined_for_bool_and_string(dtype):
    with pytest.raises(TypeError, match=dtype.name):
        _ = dtype.min
    with pytest.raises(TypeError, match=dtype.name):
        _ = dtype.max


def test_dtype_groups():
    assert set(dtypes_mod.FLOATING) == {tf.float16, tf.bfloat16, tf.float32, tf.float64}
    assert set(dtypes_mod.INTEGER) == {tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8}
    assert set(dtypes_mod.NUMERIC) == set(dtypes_mod.FLOATING) | set(dtypes_mod.INTEGER)
    assert len(dtypes_mod.ALL_DTYPES) == len(TABLE)


@pytest.mark.parametrize("value, dtype", [
    (1.5, tf.float32), ([1.0, 2.0], tf.float32), (np.float64(1.0), tf.float64),
    (np.array([1.0], np.float16), tf.float16), (np.array([1], np.uint8), tf.uint8),
    (3, tf.int32), ([1, 2], tf.int32), (2 ** 40, tf.int64), ([-(2 ** 40), 1], tf.int64),
    (np.int64(3), tf.int64), (True, tf.bool), ([True, False], tf.bool),
    ("a", tf.string), (b"a", tf.string), (["a", "b"], tf.string), ([], tf.float32),
    (np.array([1.5], ml_dtypes.bfloat16), tf.bfloat16),
])
def test_infer_dtype_follows_tf1_constant_rules(value, dtype):
    assert dtypes_mod.infer_dtype(value) is dtype
    assert tf.constant(value).dtype is dtype
