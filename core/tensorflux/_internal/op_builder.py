"""Adding ops to a graph: input conversion, dtype-attr inference, attribute defaults and shape inference."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import dtypes as _dtypes
from .graph import _NAME_RE, Graph, Operation, Tensor, get_default_graph
from .registry import OPS, REQUIRED, OpDef
from .shapes import TensorShape, as_shape


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None, preferred_dtype: Any = None) -> Tensor:
    """Return ``value`` as a Tensor: Tensors pass through, Variables read, Python/numpy values become constants.

    Example:
        >>> import tensorflux as tf
        >>> t = tf.convert_to_tensor([1, 2, 3])
        >>> t.dtype, t.shape
        (tf.int32, TensorShape([3]))
    """
    if isinstance(value, Tensor):
        if dtype is not None and _dtypes.as_dtype(dtype) is not value.dtype:
            raise TypeError(
                f"Tensor '{value.name}' has dtype {value.dtype.name}, but {_dtypes.as_dtype(dtype).name} was requested"
            )
        return value
    if hasattr(value, "_as_tensor"):
        return convert_to_tensor(value._as_tensor(), dtype=dtype, name=name)
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) or hasattr(v, "_as_tensor") for v in _flat(value)):
        return _list_packer()(list(value), dtype, name or "packed")
    if dtype is None and preferred_dtype is not None:
        try:
            return make_constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return make_constant(value, dtype=dtype, name=name or "Const")


# Packing a list of tensors needs the Pack op, defined by the array-op family above this module; it registers
# its packer here on import.
_LIST_PACKERS: list = []


def register_list_packer(fn: Callable) -> None:
    """Install ``fn(values, dtype, name)`` as the way a list holding tensors becomes one tensor (a cast ``tf.stack``).

    Example:
        >>> import tensorflux as tf
        >>> tf.convert_to_tensor([tf.constant(1), 2]).op.type
        'Pack'
    """
    _LIST_PACKERS[:] = [fn]


def _list_packer() -> Callable:
    if not _LIST_PACKERS:
        raise RuntimeError("No list packer is registered; import tensorflux (its package root loads the array ops)")
    return _LIST_PACKERS[0]


def _flat(values: Any) -> list:
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


def to_numpy_value(value: Any, dtype: _dtypes.DType | None, what: str) -> np.ndarray:
    """Convert ``value`` to a numpy array of ``dtype``, refusing lossy kind changes (e.g. float -> int)."""
    if dtype is None:
        dtype = _dtypes.infer_dtype(value)
    if dtype is _dtypes.string:
        return _dtypes.as_string_array(value, what)
    arr = np.asarray(value)
    if arr.dtype.kind in ("U", "S", "O"):
        raise TypeError(f"{what}: expected {dtype.name} values, got {arr.dtype.kind == 'O' and 'objects' or 'strings'} {value!r}")
    src = arr.dtype
    if src != dtype.np_dtype:
        target_kind = "f" if dtype.is_floating else ("b" if dtype.is_bool else "i")
        if src.kind == "f" and target_kind in ("i", "b") and arr.size:  # [] is float64 to numpy
            if not np.all(np.mod(arr, 1) == 0) or target_kind == "b":
                raise TypeError(f"{what}: expected {dtype.name} values, got floating-point values")
        if dtype.is_integer and arr.size:
            info = np.iinfo(dtype.np_dtype)
            if src.kind in "iuf" and (arr.min() < info.min or arr.max() > info.max):
                raise ValueError(f"{what}: value out of range for {dtype.name}")
        arr = arr.astype(dtype.np_dtype)
    return arr


def make_constant(value: Any, dtype: Any = None, shape: Any = None, name: str = "Const") -> Tensor:
    """Add a Const op holding ``value`` (broadcast to ``shape`` when given)."""
    dt = None if dtype is None else _dtypes.as_dtype(dtype)
    arr = to_numpy_value(value, dt, f"constant '{name}'")
    dt = dt or _dtypes.as_dtype(arr.dtype) if arr.dtype != object else _dtypes.string
    if shape is not None:
        shape = tuple(as_shape(shape).as_list())
        if arr.size == 1:
            arr = np.broadcast_to(arr.reshape(()), shape).copy()
        elif arr.shape != shape:
            if arr.size != int(np.prod(shape)):
                raise ValueError(f"constant '{name}': {arr.size} values cannot fill shape {list(shape)}")
            arr = arr.reshape(shape)
    if isinstance(value, np.ndarray) and np.may_share_memory(arr, value):
        arr = arr.copy()  # freezing the caller's own array would make it read-only for them
    arr.setflags(write=False)
    return apply_op("Const", name=name, value=arr, dtype=dt)[0]


def constant_value(tensor: Tensor) -> np.ndarray | None:
    """The value of ``tensor`` if it can be computed at graph-construction time, else None."""
    if not isinstance(tensor, Tensor):
        return None
    op = tensor.op
    if op.type == "Const":
        return op.attrs["value"]
    if op.type == "Shape" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.as_list(), dtype=op.attrs["out_type"].np_dtype)
    if op.type == "Size" and op.inputs[0].shape.is_fully_defined():
        return np.array(op.inputs[0].shape.num_elements(), dtype=op.attrs["out_type"].np_dtype)
    if op.type == "Rank" and op.inputs[0].shape.rank is not None:
        return np.array(op.inputs[0].shape.rank, dtype=np.int32)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op.inputs[0])
    if op.type == "Cast":
        v = constant_value(op.inputs[0])
        return None if v is None else v.astype(op.attrs["DstT"].np_dtype)
    if op.type == "Pack":
        vals = [constant_value(t) for t in op.inputs]
        if any(v is None for v in vals):
            return None
        return np.stack(vals, axis=op.attrs["axis"])
    return None


def constant_shape(tensor: Tensor) -> TensorShape:
    """Interpret a 1-D int tensor as a shape, as far as it is known at construction time."""
    v = constant_value(tensor)
    if v is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.reshape(v, -1)])
    if tensor.op.type == "Pack":
        dims = []
        for t in tensor.op.inputs:
            c = constant_value(t)
            dims.append(None if c is None or int(c) < 0 else int(c))
        return TensorShape(dims)
    n = tensor.shape[0] if tensor.shape.rank == 1 else None
    return TensorShape(None if n is None else [None] * n)


def apply_op(op_type: str, *inputs: Any, name: str | None = None, **attrs: Any) -> list[Tensor]:
    """Add an op of type ``op_type`` to the default graph and return its output tensors.

    This is the public way for an op library (first- or third-party) to build a Python wrapper.

    Example:
        >>> import tensorflux as tf
        >>> from tensorflux.extend import apply_op
        >>> (z,) = apply_op("AddV2", tf.constant(1.0), 2.0, name="z")
        >>> z.name, z.dtype
        ('z:0', tf.float32)
    """
    op_def = OPS.get(op_type)
    graph = get_default_graph()
    if graph.finalized:
        # Checked before anything is named or wired, so a refused op leaves no consumers behind.
        raise RuntimeError(f"Graph is finalized and cannot be modified (adding op '{name or op_type}')")
    if name and not _NAME_RE.match(name.rstrip("/")):
        raise ValueError(f"'{name}' is not a valid op name for op '{op_type}'; use letters, digits and _.-/>")
    if name is not None and name.endswith("/"):
        op_name = name[:-1]
        graph._names_in_use[op_name.lower()] = max(graph._names_in_use.get(op_name.lower(), 0), 1)
    else:
        op_name = graph.unique_name(name or op_type)
    if len(inputs) != len(op_def.input_specs):
        raise TypeError(
            f"Op '{op_type}' (node '{op_name}') takes {len(op_def.input_specs)} inputs "
            f"({', '.join(s.name for s in op_def.input_specs)}), got {len(inputs)}"
        )
    resolved = _resolve_attrs(op_def, op_name, attrs)
    flat_inputs = _convert_inputs(graph, op_def, op_name, inputs, resolved)
    capture = getattr(graph, "capture", None)
    if capture is not None:  # a function's graph (tf.cond's branches) turns outer tensors into its own inputs
        flat_inputs = [t if t.graph is graph else capture(t) for t in flat_inputs]
    _check_attrs(op_def, op_name, resolved)
    override = graph._gradient_override_map.get(op_type)
    if override is not None:  # tf.gradients differentiates this op with the gradient registered under ``override``
        resolved["_gradient_op_type"] = override.encode()
    op = Operation(graph, op_def, op_name, flat_inputs, resolved, graph._current_control_inputs(),
                   graph._current_device())
    for t in flat_inputs:
        if t.graph is not graph:
            raise ValueError(
                f"Op '{op_type}' (node '{op_name}'): input tensor '{t.name}' is from a different graph"
            )
    out_dtypes = _output_dtypes(op_def, op_name, resolved)
    shapes = _infer_shapes(op_def, op, len(out_dtypes))
    op.outputs = [Tensor(op, i, dt, shp) for i, (dt, shp) in enumerate(zip(out_dtypes, shapes))]
    for spec, out in zip(_expand_specs(op_def.output_specs, len(out_dtypes)), op.outputs):
        out._is_ref = spec.is_ref
    for t in flat_inputs:
        t._consumers.append(op)
        if getattr(t, "_is_ref", False) and op.device == "":
            op.colocate_with = t.op
    graph._add_op(op)
    return op.outputs


def _resolve_attrs(op_def: OpDef, op_name: str, attrs: dict) -> dict:
    resolved = {}
    for key, value in attrs.items():
        if key not in op_def.attr_defs:
            raise TypeError(
                f"Op '{op_def.name}' (node '{op_name}') has no attr '{key}'; known attrs: "
                f"{', '.join(op_def.attr_defs) or 'none'}"
            )
        kind = op_def.attr_defs[key].kind
        if value is not None and kind == "type":
            value = _dtypes.as_dtype(value)
        elif value is not None and kind == "shape":
            value = as_shape(value)
        elif value is not None and kind == "list(type)":
            value = [_dtypes.as_dtype(v) for v in value]
        resolved[key] = value
    return resolved


def _convert_inputs(graph: Graph, op_def: OpDef, op_name: str, inputs: tuple, attrs: dict) -> list[Tensor]:
    flat: list[Tensor] = []
    for spec, value in zip(op_def.input_specs, inputs):
        if spec.fixed_dtype() is None and attrs.get(spec.type_spec) is None and not _is_type_list(op_def, spec):
            for v in (list(value) if spec.variadic else [value]):
                t = _existing_tensor(v)
                if t is not None:
                    attrs[spec.type_spec] = t.dtype
                    break
    with graph.name_scope(op_name + "/"):
        for spec, value in zip(op_def.input_specs, inputs):
            values = list(value) if spec.variadic else [value]
            if _is_type_list(op_def, spec):  # may be empty: its attr says how many
                flat.extend(_convert_typed_list(op_def, op_name, spec, values, attrs))
                continue
            if spec.variadic:
                if not values:
                    raise ValueError(f"Op '{op_def.name}' (node '{op_name}'): input '{spec.name}' needs at least one value")
                n_attr = "N"
                if n_attr in op_def.attr_defs:
                    attrs[n_attr] = len(values)
            fixed = spec.fixed_dtype()
            type_attr = None if fixed is not None else spec.type_spec
            if fixed is None and type_attr not in op_def.attr_defs:
                raise TypeError(f"Op '{op_def.name}': input spec '{spec.name}' names unknown type attr '{type_attr}'")
            for i, v in enumerate(values):
                want = fixed if fixed is not None else attrs.get(type_attr)
                if want is None:
                    default = op_def.attr_defs[type_attr].default
                    allowed = op_def.attr_defs[type_attr].allowed
                    if default is not REQUIRED and default is not None and not _looks_float(v):
                        want = _dtypes.as_dtype(default)
                    elif allowed and not _looks_float(v) and _dtypes.int32 not in allowed:
                        want = _dtypes.float32 if _dtypes.float32 in allowed else allowed[0]
                t = _existing_tensor(v)
                if spec.is_ref:
                    if t is None or not getattr(t, "_is_ref", False):
                        got = t.name if t is not None else repr(v)
                        raise TypeError(
                            f"Op '{op_def.name}' (node '{op_name}'): input '{spec.name}' must be a variable reference, got {got}"
                        )
                if t is None:
                    try:
                        t = convert_to_tensor(v, dtype=want, name=spec.name if not spec.variadic else f"{spec.name}_{i}")
                    except (TypeError, ValueError) as exc:
                        raise TypeError(
                            f"Op '{op_def.name}' (node '{op_name}'): cannot convert input '{spec.name}' to "
                            f"{want.name if want else 'a tensor'}: {exc}"
                        ) from None
                    if type_attr is not None and attrs.get(type_attr) is None:
                        attrs[type_attr] = t.dtype
                if want is not None and t.dtype is not want:
                    source = "fixed" if fixed is not None else f"attr {type_attr}"
                    raise TypeError(
                        f"Op '{op_def.name}' (node '{op_name}'): input '{spec.name}' has dtype {t.dtype.name} "
                        f"('{t.name}'), but {want.name} was expected ({source})"
                    )
                flat.append(t)
    return flat


def _is_type_list(op_def: OpDef, spec: Any) -> bool:
    """Whether ``spec`` is a variadic input or output typed by a ``list(type)`` attr (one dtype per value)."""
    adef = op_def.attr_defs.get(spec.type_spec)
    return spec.variadic and adef is not None and adef.kind == "list(type)"


def _convert_typed_list(op_def: OpDef, op_name: str, spec: Any, values: list, attrs: dict) -> list[Tensor]:
    """The tensors of a ``list(type)``-typed variadic input, each of its own dtype; records the dtypes in the attr."""
    wanted = attrs.get(spec.type_spec)
    if wanted is not None and len(wanted) != len(values):
        raise ValueError(f"Op '{op_def.name}' (node '{op_name}'): input '{spec.name}' has {len(values)} values, but "
                         f"attr {spec.type_spec} lists {len(wanted)} dtypes")
    tensors = []
    for i, v in enumerate(values):
        want = None if wanted is None else _dtypes.as_dtype(wanted[i])
        t = _existing_tensor(v)
        if t is None:
            t = convert_to_tensor(v, dtype=want, name=f"{spec.name}_{i}")
        if want is not None and t.dtype is not want:
            raise TypeError(f"Op '{op_def.name}' (node '{op_name}'): input '{spec.name}' value {i} has dtype "
                            f"{t.dtype.name} ('{t.name}'), but {want.name} was expected (attr {spec.type_spec})")
        tensors.append(t)
    attrs[spec.type_spec] = [t.dtype for t in tensors]
    return tensors


def _looks_float(v: Any) -> bool:
    try:
        arr = np.asarray(v)
    except Exception:  # noqa: BLE001
        return False
    # An empty Python list holds no floats, though numpy types it float64: [] as a shape or axis list
    # must take the int32 default (tf.reshape(x, []), tf.reduce_sum(x, axis=[])).
    return arr.dtype.kind == "f" and not (arr.size == 0 and isinstance(v, (list, tuple)))


def _existing_tensor(v: Any) -> Tensor | None:
    if isinstance(v, Tensor):
        return v
    if hasattr(v, "_as_tensor"):
        return v._as_tensor()
    return None


def _check_attrs(op_def: OpDef, op_name: str, attrs: dict) -> None:
    for key, adef in op_def.attr_defs.items():
        if attrs.get(key) is None:
            if adef.default is REQUIRED:
                raise TypeError(f"Op '{op_def.name}' (node '{op_name}') is missing required attr '{key}'")
            default = adef.default
            if adef.kind == "type" and default is not None:
                default = _dtypes.as_dtype(default)
            if adef.kind == "shape":
                default = as_shape(default)
            attrs[key] = default
        value = attrs[key]
        if adef.allowed is not None and value not in adef.allowed:
            allowed = ", ".join(getattr(a, "name", str(a)) for a in adef.allowed)
            shown = getattr(value, "name", value)
            raise TypeError(
                f"Op '{op_def.name}' (node '{op_name}'): attr {key}={shown} is not allowed; expected one of: {allowed}"
            )


def _output_dtypes(op_def: OpDef, op_name: str, attrs: dict) -> list[_dtypes.DType]:
    out = []
    for spec in op_def.output_specs:
        fixed = spec.fixed_dtype()
        dt = fixed if fixed is not None else attrs.get(spec.type_spec)
        if _is_type_list(op_def, spec):  # one dtype per output, listed by the attr
            out.extend(_dtypes.as_dtype(d) for d in dt or ())
            continue
        if dt is None:
            raise TypeError(f"Op '{op_def.name}' (node '{op_name}'): cannot determine dtype of output '{spec.name}'")
        if spec.variadic:
            count = attrs[_num_attr(op_def)]
            out.extend([dt] * count)
        else:
            out.append(dt)
    return out


def _num_attr(op_def: OpDef) -> str:
    for key in ("num", "num_split", "N"):
        if key in op_def.attr_defs:
            return key
    raise TypeError(f"Op '{op_def.name}' has a variadic output but no 'num', 'num_split' or 'N' attr")


def _expand_specs(specs: tuple, count: int) -> list:
    out = []
    for s in specs:
        out.extend([s] * (count - len(specs) + 1) if s.variadic else [s])
    return out


def _infer_shapes(op_def: OpDef, op: Operation, n_out: int) -> list[TensorShape]:
    if op_def.shape_fn is None:
        return [TensorShape(None)] * n_out
    try:
        shapes = op_def.shape_fn(op)
    except ValueError as exc:
        raise ValueError(f"Op '{op_def.name}' (node '{op.name}'): {exc}") from None
    if isinstance(shapes, TensorShape) or shapes is None:
        shapes = [shapes]
    shapes = [as_shape(s) for s in shapes]
    if len(shapes) != n_out:
        raise RuntimeError(f"shape function of op '{op_def.name}' returned {len(shapes)} shapes for {n_out} outputs")
    return shapes
