"""Op attributes to AttrValue and back, driven by the attribute kinds of the op's OpDef."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...proto import attr_value_pb2
from .. import dtypes as _dtypes
from ..shapes import TensorShape
from .tensor_proto import dtype_from_enum, from_tensor_proto, shape_from_proto, shape_to_proto, to_tensor_proto

# AttrValue oneof field (and ListValue field) for each scalar attribute kind.
_FIELD = {"type": "type", "int": "i", "float": "f", "bool": "b", "string": "s", "shape": "shape", "tensor": "tensor"}
_KIND_OF_FIELD = {field: kind for kind, field in _FIELD.items()}


def attr_to_proto(kind: str, value: Any, what: str) -> attr_value_pb2.AttrValue | None:
    """Encode attribute ``value`` of ``kind`` (e.g. 'type', 'list(int)'); None for an unset value.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux._internal.serialization.attr_value import attr_to_proto
        >>> attr_to_proto("type", tf.float32, "attr T").type
        1
    """
    if value is None:
        return attr_value_pb2.AttrValue(shape=shape_to_proto(None)) if kind == "shape" else None
    av = attr_value_pb2.AttrValue()
    if kind.startswith("list(") and kind.endswith(")"):
        inner = kind[5:-1]
        if inner not in _FIELD:
            raise TypeError(f"{what}: cannot serialize attribute kind '{kind}'")
        av.list.SetInParent()
        target = getattr(av.list, _FIELD[inner])
        for item in value:
            if inner in ("shape", "tensor"):
                target.add().CopyFrom(_scalar_message(inner, item))
            else:
                target.append(_scalar_plain(inner, item, what))
        return av
    if kind in ("shape", "tensor"):
        getattr(av, _FIELD[kind]).CopyFrom(_scalar_message(kind, value))
    elif kind in _FIELD:
        setattr(av, _FIELD[kind], _scalar_plain(kind, value, what))
    else:
        return _infer_to_proto(value, what)
    return av


def _scalar_plain(kind: str, value: Any, what: str) -> Any:
    if kind == "type":
        return _dtypes.as_dtype(value).enum
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    if kind == "string":
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    raise TypeError(f"{what}: cannot serialize attribute kind '{kind}'")


def _scalar_message(kind: str, value: Any) -> Any:
    return shape_to_proto(value) if kind == "shape" else to_tensor_proto(value, _tensor_dtype(value))


def _tensor_dtype(value: Any) -> _dtypes.DType:
    arr = np.asarray(value)
    return _dtypes.string if arr.dtype.kind in "OSU" else _dtypes.as_dtype(arr.dtype)


def _infer_to_proto(value: Any, what: str) -> attr_value_pb2.AttrValue:
    """Encode an attribute whose OpDef kind is unknown to this module, from its Python type."""
    if isinstance(value, _dtypes.DType):
        return attr_to_proto("type", value, what)
    if isinstance(value, bool):
        return attr_to_proto("bool", value, what)
    if isinstance(value, int):
        return attr_to_proto("int", value, what)
    if isinstance(value, float):
        return attr_to_proto("float", value, what)
    if isinstance(value, (str, bytes)):
        return attr_to_proto("string", value, what)
    if isinstance(value, TensorShape):
        return attr_to_proto("shape", value, what)
    if isinstance(value, np.ndarray):
        return attr_to_proto("tensor", value, what)
    if isinstance(value, (list, tuple)):
        if not value:
            return attr_to_proto("list(int)", [], what)
        inner = _infer_to_proto(value[0], what).WhichOneof("value")
        return attr_to_proto(f"list({_KIND_OF_FIELD[inner]})", value, what)
    raise TypeError(f"{what}: cannot serialize attribute value {value!r} of type {type(value).__name__}")


def attr_from_proto(kind: str, av: attr_value_pb2.AttrValue, what: str) -> Any:
    """Decode an AttrValue as attribute ``kind``; a value of another kind raises TypeError naming ``what``.

    Example:
        >>> from tensorflux.proto import attr_value_pb2
        >>> from tensorflux._internal.serialization.attr_value import attr_from_proto
        >>> attr_from_proto("list(int)", attr_value_pb2.AttrValue(list={"i": [1, 2]}), "attr axes")
        [1, 2]
    """
    which = av.WhichOneof("value")
    if kind.startswith("list(") and kind.endswith(")"):
        inner = kind[5:-1]
        if which is None:
            return []
        if which != "list" or inner not in _FIELD:
            raise TypeError(f"{what}: expected a list of {inner} values, got an AttrValue holding '{which}'")
        items = getattr(av.list, _FIELD[inner])
        return [_decode_scalar(inner, item, what) for item in items]
    if kind not in _FIELD:
        return _infer_from_proto(av, what)
    if which != _FIELD[kind]:
        raise TypeError(f"{what}: expected a {kind} value ('{_FIELD[kind]}'), got an AttrValue holding '{which}'")
    return _decode_scalar(kind, getattr(av, which), what)


def _decode_scalar(kind: str, raw: Any, what: str) -> Any:
    if kind == "type":
        return dtype_from_enum(raw, what)
    if kind == "string":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{what}: string attribute is not valid UTF-8: {raw[:40]!r}") from None
    if kind == "shape":
        return shape_from_proto(raw, what)
    if kind == "tensor":
        arr = from_tensor_proto(raw, what)
        arr.setflags(write=False)
        return arr
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return bool(raw)


def _infer_from_proto(av: attr_value_pb2.AttrValue, what: str) -> Any:
    which = av.WhichOneof("value")
    if which in _KIND_OF_FIELD:
        return _decode_scalar(_KIND_OF_FIELD[which], getattr(av, which), what)
    if which == "list":
        for field, kind in _KIND_OF_FIELD.items():
            items = getattr(av.list, field)
            if len(items):
                return [_decode_scalar(kind, item, what) for item in items]
        return []
    raise TypeError(f"{what}: attribute values of kind '{which}' are not supported by Tensorflux")
