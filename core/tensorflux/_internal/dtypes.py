"""Data types: the DType object model and conversion from numpy and Python values."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np


class DType:
    """A tensor element type, wrapping a numpy dtype and TF's DataType enum value.

    Example:
        >>> import tensorflux as tf
        >>> tf.float32.name, tf.float32.is_floating
        ('float32', True)
    """

    __slots__ = ("name", "np_dtype", "enum", "_kind")

    def __init__(self, name: str, np_dtype: Any, enum: int, kind: str) -> None:
        self.name = name
        self.np_dtype = np.dtype(np_dtype)
        self.enum = enum
        self._kind = kind

    @property
    def base_dtype(self) -> "DType":
        """This dtype (TF distinguishes reference dtypes; tensorflux has none). TF optimizer code uses it."""
        return self

    @property
    def is_floating(self) -> bool:
        return self._kind == "float"

    @property
    def is_integer(self) -> bool:
        return self._kind in ("int", "uint")

    @property
    def is_unsigned(self) -> bool:
        return self._kind == "uint"

    @property
    def is_bool(self) -> bool:
        return self._kind == "bool"

    @property
    def is_numeric(self) -> bool:
        return self._kind in ("float", "int", "uint")

    @property
    def as_numpy_dtype(self) -> type:
        return self.np_dtype.type

    @property
    def min(self) -> Any:
        if self.is_floating:
            return ml_dtypes.finfo(self.np_dtype).min
        if self.is_integer:
            return np.iinfo(self.np_dtype).min
        raise TypeError(f"dtype {self.name} has no minimum")

    @property
    def max(self) -> Any:
        if self.is_floating:
            return ml_dtypes.finfo(self.np_dtype).max
        if self.is_integer:
            return np.iinfo(self.np_dtype).max
        raise TypeError(f"dtype {self.name} has no maximum")

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __reduce__(self) -> tuple:
        # Reduce through as_dtype: the module-global lookup a bare name implies fails for 'bool'.
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16, 19, "float")
bfloat16 = DType("bfloat16", ml_dtypes.bfloat16, 14, "float")
float32 = DType("float32", np.float32, 1, "float")
float64 = DType("float64", np.float64, 2, "float")
int8 = DType("int8", np.int8, 6, "int")
int16 = DType("int16", np.int16, 5, "int")
int32 = DType("int32", np.int32, 3, "int")
int64 = DType("int64", np.int64, 9, "int")
uint8 = DType("uint8", np.uint8, 4, "uint")
bool_ = DType("bool", np.bool_, 10, "bool")
string = DType("string", np.object_, 7, "string")

ALL_DTYPES = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool_, string)
FLOATING = tuple(d for d in ALL_DTYPES if d.is_floating)
INTEGER = tuple(d for d in ALL_DTYPES if d.is_integer)
NUMERIC = FLOATING + INTEGER
REAL_AND_BOOL = NUMERIC + (bool_,)

_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"half": float16, "float": float32, "double": float64, "bool_": bool_})
_BY_ENUM = {d.enum: d for d in ALL_DTYPES}
_BY_NP = {d.np_dtype: d for d in ALL_DTYPES if d is not string}

# TF's handle type: a TensorList or Optional (the state of control flow imported from TF), one host object per
# element. In no dtype family (and not in ALL_DTYPES): only those ops and control flow take it.
variant = DType("variant", np.object_, 21, "variant")
_BY_NAME[variant.name] = variant
_BY_ENUM[variant.enum] = variant
# TF's resource handle: refers to a variable in the running session's state (``resource_kernels.py``), for graphs
# TF wrote with resource variables. Like ``variant``, in no family: only the resource ops take it.
resource = DType("resource", np.object_, 20, "resource")
_BY_NAME[resource.name] = resource
_BY_ENUM[resource.enum] = resource
# The Philox key and counter of TF's stateless random ops (``StatelessRandomGetKeyCounter``), in graphs TF wrote.
# In no dtype family either: only those ops take it.
uint64 = DType("uint64", np.uint64, 23, "uint")
_BY_NAME[uint64.name] = uint64
_BY_ENUM[uint64.enum] = uint64
_BY_NP[uint64.np_dtype] = uint64
# The 32-bit draws of StatelessRandomUniformFullIntV2, in graphs TF wrote; in no family either.
uint32 = DType("uint32", np.uint32, 22, "uint")
_BY_NAME[uint32.name] = uint32
_BY_ENUM[uint32.enum] = uint32
_BY_NP[uint32.np_dtype] = uint32


def as_dtype(value: Any) -> DType:
    """Convert a DType, name, numpy dtype, TF enum value or Python type into a DType.

    Example:
        >>> import numpy as np, tensorflux as tf
        >>> tf.as_dtype(np.float32) is tf.float32, tf.as_dtype("int64")
        (True, tf.int64)
    """
    if isinstance(value, DType):
        return value
    if value is None:
        # np.dtype(None) is float64; TF refuses None instead of guessing.
        raise TypeError(f"Cannot convert {value!r} to a tensorflux dtype; expected one of: "
                        + ", ".join(d.name for d in ALL_DTYPES))
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in _BY_ENUM:
        return _BY_ENUM[value]
    if value in (str, bytes):
        return string
    if value is bool:
        return bool_
    if value is int:
        return int32
    if value is float:
        return float32
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        np_dtype = None
    if np_dtype is not None:
        if np_dtype.kind in ("U", "S", "O"):
            return string
        if np_dtype in _BY_NP:
            return _BY_NP[np_dtype]
    known = ", ".join(d.name for d in ALL_DTYPES)
    raise TypeError(f"Cannot convert {value!r} to a tensorflux dtype; expected one of: {known}")


def infer_dtype(value: Any) -> DType:
    """The dtype TF 1.x would give a constant built from ``value`` (float32 for Python floats)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return as_dtype(value.dtype)
    arr = np.asarray(value)
    if arr.dtype.kind in ("U", "S", "O"):
        return string
    if arr.dtype.kind == "f":
        return float32
    if arr.dtype.kind in ("i", "u"):
        if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
            return int64
        return int32
    return as_dtype(arr.dtype)


def as_string_array(value: Any, what: str) -> np.ndarray:
    """``value`` as an object array of ``bytes`` (str encoded as UTF-8), TF's representation of strings.

    Raises TypeError, naming ``what``, for any element that is neither str nor bytes.

    Example:
        >>> as_string_array(["a", b"b"], "feed for 'x:0'").tolist()
        [b'a', b'b']
    """
    arr = np.asarray(value, dtype=object)
    flat = arr.reshape(-1)
    for i, v in enumerate(flat):
        if isinstance(v, str):
            flat[i] = v.encode("utf-8")
        elif not isinstance(v, bytes):
            raise TypeError(f"{what}: expected string values, got {type(v).__name__} {v!r}")
    return arr
