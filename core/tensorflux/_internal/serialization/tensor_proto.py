"""numpy arrays, shapes and dtypes to TensorProto / TensorShapeProto / DataType and back, as TensorFlow encodes them.

Nothing here evaluates file content: values are decoded with ``np.frombuffer`` and plain field reads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...proto import tensor_pb2, tensor_shape_pb2
from .. import dtypes as _dtypes
from ..errors import InvalidArgumentError
from ..shapes import TensorShape, as_shape
from ..untrusted import InvalidArgumentTypeError, check_expansion

_REF_OFFSET = 100

# Which TensorProto repeated field holds a dtype's values when tensor_content is not used.
_VAL_FIELD = {
    "float32": "float_val", "float64": "double_val", "int32": "int_val", "int16": "int_val", "int8": "int_val",
    "uint8": "int_val", "int64": "int64_val", "bool": "bool_val", "string": "string_val",
    "float16": "half_val", "bfloat16": "half_val",
}
_HALF = ("float16", "bfloat16")


def dtype_from_enum(enum: int, what: str) -> _dtypes.DType:
    """The DType of a DataType enum value (a ``*_REF`` value gives its base type); errors name ``what``."""
    base = enum - _REF_OFFSET if enum > _REF_OFFSET else enum
    try:
        return _dtypes.as_dtype(int(base))
    except TypeError:
        known = ", ".join(f"{d.name}={d.enum}" for d in _dtypes.ALL_DTYPES)
        raise InvalidArgumentTypeError(f"{what}: DataType {enum} is not supported by Tensorflux; supported: {known}") from None


def shape_to_proto(shape: Any) -> tensor_shape_pb2.TensorShapeProto:
    """A TensorShape (or list, or None for unknown rank) as a TensorShapeProto; unknown dims are -1.

    Example:
        >>> from tensorflux._internal.serialization.tensor_proto import shape_to_proto
        >>> [d.size for d in shape_to_proto([None, 3]).dim]
        [-1, 3]
    """
    shape = as_shape(shape)
    proto = tensor_shape_pb2.TensorShapeProto()
    if shape.dims is None:
        proto.unknown_rank = True
        return proto
    for d in shape.dims:
        proto.dim.add(size=-1 if d is None else int(d))
    return proto


def shape_from_proto(proto: tensor_shape_pb2.TensorShapeProto, what: str = "shape") -> TensorShape:
    """The TensorShape a TensorShapeProto describes; sizes below -1 raise InvalidArgumentError naming ``what``."""
    if proto.unknown_rank:
        return TensorShape(None)
    dims = []
    for d in proto.dim:
        if d.size < -1:
            raise InvalidArgumentError(f"{what}: dimension size {d.size} is invalid; expected -1 (unknown) or >= 0")
        dims.append(None if d.size == -1 else int(d.size))
    return TensorShape(dims)


def to_tensor_proto(value: Any, dtype: Any = None) -> tensor_pb2.TensorProto:
    """Encode an array as TensorFlow's ``make_tensor_proto`` does.

    Multi-element numeric arrays go to ``tensor_content`` (little-endian bytes); scalars and bools
    to the typed ``*_val`` field; float16 and bfloat16 to ``half_val`` as 16-bit patterns;
    strings to ``string_val``.

    Example:
        >>> import numpy as np
        >>> from tensorflux._internal.serialization.tensor_proto import to_tensor_proto
        >>> p = to_tensor_proto(np.float32(2.5))
        >>> p.dtype, list(p.float_val)
        (1, [2.5])
    """
    dt = _dtypes.as_dtype(dtype) if dtype is not None else _dtypes.infer_dtype(value)
    proto = tensor_pb2.TensorProto(dtype=dt.enum)
    if dt is _dtypes.string:
        arr = np.asarray(value, dtype=object)
        proto.tensor_shape.CopyFrom(shape_to_proto(arr.shape))
        proto.string_val.extend(v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in arr.reshape(-1))
        return proto
    arr = np.asarray(value, dtype=dt.np_dtype)
    proto.tensor_shape.CopyFrom(shape_to_proto(arr.shape))
    if dt.name in _HALF:
        proto.half_val.extend(arr.reshape(-1).view(np.uint16).tolist())
    elif arr.size > 1 and not dt.is_bool:
        proto.tensor_content = np.ascontiguousarray(arr, dtype=dt.np_dtype.newbyteorder("<")).tobytes()
    else:
        getattr(proto, _VAL_FIELD[dt.name]).extend(arr.reshape(-1).tolist())
    return proto


def from_tensor_proto(proto: tensor_pb2.TensorProto, what: str = "tensor") -> np.ndarray:
    """Decode a TensorProto into a new numpy array; malformed protos raise InvalidArgumentError naming ``what``.

    Sizes are checked before anything is allocated: ``tensor_content`` must hold exactly the shape's bytes, and
    a value list shorter than the shape (TF repeats its last value) may expand only up to
    ``TENSORFLUX_MAX_EXPANDED_BYTES``.

    Example:
        >>> import numpy as np
        >>> from tensorflux._internal.serialization.tensor_proto import from_tensor_proto, to_tensor_proto
        >>> from_tensor_proto(to_tensor_proto(np.arange(3, dtype=np.int64)))
        array([0, 1, 2])
    """
    dt = dtype_from_enum(proto.dtype, what)
    shape = shape_from_proto(proto.tensor_shape, what)
    if not shape.is_fully_defined():
        raise InvalidArgumentError(f"{what}: a tensor value needs a fully defined shape, got {shape}")
    dims = tuple(shape.as_list())
    # Python ints: a product of crafted dims must not wrap around in int64.
    count = math.prod(dims)
    if proto.tensor_content:
        if dt is _dtypes.string:
            raise InvalidArgumentError(f"{what}: string tensors cannot use tensor_content; expected string_val")
        itemsize = dt.np_dtype.itemsize
        if len(proto.tensor_content) != count * itemsize:
            raise InvalidArgumentError(
                f"{what}: tensor_content has {len(proto.tensor_content)} bytes, but a {dt.name} tensor of shape "
                f"{list(dims)} needs {count * itemsize}"
            )
        flat = np.frombuffer(proto.tensor_content, dtype=dt.np_dtype.newbyteorder("<")).astype(dt.np_dtype)
        return flat.reshape(dims)
    field = _VAL_FIELD[dt.name]
    values = getattr(proto, field)
    if len(values) > count:
        raise InvalidArgumentError(f"{what}: {field} has {len(values)} values, but shape {list(dims)} holds only {count}")
    # An object array holds one 8-byte reference per element; the strings themselves are in the proto already.
    itemsize = 8 if dt is _dtypes.string else dt.np_dtype.itemsize
    check_expansion(count * itemsize, len(values) * itemsize, what)
    if dt is _dtypes.string:
        out = np.empty(count, dtype=object)
        out[:len(values)] = list(values)
        out[len(values):] = values[-1] if len(values) else b""
        return out.reshape(dims)
    if dt.name in _HALF:
        raw = np.fromiter(values, dtype=np.int64, count=len(values))
        if raw.size and (raw.min() < 0 or raw.max() > 0xFFFF):
            raise InvalidArgumentError(
                f"{what}: half_val holds {dt.name} bit patterns in [0, 65535], got {raw.min()}..{raw.max()}")
        flat = raw.astype(np.uint16).view(dt.np_dtype)
    else:
        try:
            # fromiter, not a list: a list of Python numbers would take ~8x the bytes of the packed field.
            flat = np.fromiter(values, dtype=dt.np_dtype, count=len(values))
        except OverflowError as exc:
            raise InvalidArgumentError(f"{what}: {field} holds a value out of range for {dt.name}: {exc}") from None
    if flat.size < count:
        # TF's rule: a short value list repeats its last value; an empty one means zeros.
        fill = flat[-1] if flat.size else np.zeros((), dtype=dt.np_dtype)
        flat = np.concatenate([flat, np.full(count - flat.size, fill, dtype=dt.np_dtype)])
    return flat.reshape(dims)
