"""Symbolic reverse-mode differentiation: ``tf.gradients`` adds the gradient graph to the same graph.

Each op's gradient function is registered beside the op's definition (``@gradient("MatMul")`` in
``ops/*.py``), or by a third party with :func:`RegisterGradient` / ``OpDef(grad=...)``. A gradient
function is called as ``grad_fn(op, *output_grads)`` and returns one gradient (or None) per input.

The algorithm, as in TF 1.x:

1. Walk forward from ``xs`` through consumers, following floating-point tensors only (integer and
   bool tensors are not differentiable), to find the ops that depend on ``xs``.
2. Walk back from ``ys`` through those ops: the ops in between are the ones to differentiate.
3. Visit them consumers-first (ops are created after their inputs, so creation order reversed is a
   valid order). An output's gradients from several consumers are summed with ``add_n``; an output
   without any gets zeros, so a multi-output op's gradient function always sees every gradient.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable

import numpy as np

from .graph import Operation, Tensor
from .indexed_slices import IndexedSlices
from .op_builder import apply_op, convert_to_tensor
from .registry import GRADIENTS, NoGradient, where_defined

# Ops whose gradient functions take an IndexedSlices output gradient as it is (TF's pass-through ones).
SPARSE_GRADIENT_OPS = frozenset({"Identity"})


def register_gradient(op_type: str, fn: Callable | None = None) -> Callable:
    """Register ``fn(op, *output_grads) -> list of input grads`` as the gradient of ops of type ``op_type``.

    Usable as a decorator (``@register_gradient("Swish")``) or called with ``fn``. Registering a
    second gradient for the same op type raises, naming where the first one came from.

    Example:
        >>> from tensorflux.extend import register_gradient
        >>> @register_gradient("DocExampleSquarePlusOne")
        ... def _grad(op, grad):
        ...     return [grad * 2.0 * op.inputs[0]]
    """
    if not isinstance(op_type, str) or not op_type:
        raise TypeError(f"register_gradient expects an op type name (a non-empty str), got {op_type!r}")

    def attach(f: Callable) -> Callable:
        if not callable(f):
            raise TypeError(f"The gradient registered for op type '{op_type}' must be callable, got {f!r}")
        GRADIENTS.has(op_type)  # loads core's own gradients first, so a clash with one of them is reported here
        GRADIENTS.add(op_type, f, where_defined(f))
        return f

    return attach if fn is None else attach(fn)


class RegisterGradient:
    """Decorator registering the gradient function of an op type, as TF's ``tf.RegisterGradient``.

    The function is called as ``grad_fn(op, *output_grads)`` and returns one gradient (or None)
    per input of ``op``.

    Example:
        >>> import tensorflux as tf
        >>> @tf.RegisterGradient("DocExampleCube")
        ... def _cube_grad(op, grad):
        ...     x = op.inputs[0]
        ...     return [grad * 3.0 * x * x]
    """

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str) or not op_type:
            raise TypeError(f"RegisterGradient expects an op type name (a non-empty str), got {op_type!r}")
        self._op_type = op_type

    def __call__(self, fn: Callable) -> Callable:
        return register_gradient(self._op_type, fn)


def NotDifferentiable(op_type: str) -> None:  # noqa: N802 - TF's public name
    """Declare that ops of type ``op_type`` have no gradient: their inputs receive None.

    Example:
        >>> import tensorflux as tf
        >>> tf.NotDifferentiable("DocExampleLookupIndex")
    """
    if not isinstance(op_type, str) or not op_type:
        raise TypeError(f"NotDifferentiable expects an op type name (a non-empty str), got {op_type!r}")
    caller = sys._getframe(1)
    GRADIENTS.has(op_type)  # loads core's own gradients first, so a clash with one of them is reported here
    GRADIENTS.add(op_type, NoGradient(f"{caller.f_code.co_filename}:{caller.f_lineno}"), "")


not_differentiable = NotDifferentiable


def gradient_op_type(op: Operation) -> str:
    """The name ``op``'s gradient is registered under: its ``_gradient_op_type`` attr (set by
    ``Graph.gradient_override_map``) when it has one, else its type."""
    override = op.attrs.get("_gradient_op_type")
    if override is None:
        return op.type
    return override.decode() if isinstance(override, bytes) else str(override)


def gradient_function(op: Operation) -> Callable | None:
    """The gradient function of ``op``: None when the op is not differentiable; LookupError when undefined."""
    op_type = gradient_op_type(op)
    fn = GRADIENTS.find(op_type)
    if fn is None:
        mapped = f" (its gradient is overridden to '{op_type}' by gradient_override_map)" if op_type != op.type else ""
        raise LookupError(
            f"No gradient defined for operation '{op.name}' (op type: {op.type}){mapped}; register one with "
            f"tf.RegisterGradient('{op_type}') (tensorflux.extend.register_gradient), or declare it "
            f"tf.NotDifferentiable('{op_type}') if it has none")
    return None if isinstance(fn, NoGradient) else fn


def is_differentiable_dtype(t: Tensor) -> bool:
    """Only floating-point tensors carry gradients; integer, bool and string tensors do not."""
    return t.dtype.is_floating


def gradients(ys: Any, xs: Any, grad_ys: Any = None, name: str = "gradients", colocate_gradients_with_ops: bool = False,
              gate_gradients: bool = False, aggregation_method: Any = None, stop_gradients: Any = None,
              unconnected_gradients: str = "none") -> list:
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``, built into the same graph.

    ``ys`` and ``xs`` are a tensor (or Variable) or lists of them. ``grad_ys`` optionally gives the
    initial gradient of each y (default: ones). Tensors in ``stop_gradients`` are treated as
    constants. An x that no y depends on gets None (or zeros with ``unconnected_gradients='zero'``).
    Gradients reaching a tensor along several paths are summed with ``add_n``; gradients of
    broadcasting ops are summed back to each input's shape.

    Example:
        >>> import tensorflux as tf
        >>> x = tf.constant([1.0, 2.0])
        >>> y = tf.reduce_sum(x * x)
        >>> (dx,) = tf.gradients(y, x)
        >>> tf.Session().run(dx)
        array([2., 4.], dtype=float32)
    """
    del aggregation_method  # gradients are always summed with add_n
    if unconnected_gradients not in ("none", "zero"):
        raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
    ys_list = [_as_y(y) for y in _as_list(ys, "ys")]
    xs_list = [_as_x(x) for x in _as_list(xs, "xs")]
    if not ys_list:
        raise ValueError("tf.gradients needs at least one y")
    graph = ys_list[0].graph
    for t in ys_list + xs_list:
        if t.graph is not graph:
            raise ValueError(f"tf.gradients: tensor '{t.name}' is from a different graph than '{ys_list[0].name}'")
    grad_ys_list = _as_list(grad_ys, "grad_ys") if grad_ys is not None else [None] * len(ys_list)
    if len(grad_ys_list) != len(ys_list):
        raise ValueError(f"tf.gradients: grad_ys has {len(grad_ys_list)} entries, but ys has {len(ys_list)}")
    stop = {_as_y(t) for t in _as_list(stop_gradients, "stop_gradients")} if stop_gradients is not None else set()

    with graph.as_default(), graph.name_scope(name):
        grads: dict[Tensor, list] = {}
        for i, (y, gy) in enumerate(zip(ys_list, grad_ys_list)):
            grads.setdefault(y, []).append(_initial_grad(y, gy, i))
        from . import dtypes as _dtypes

        # A resource variable's gradient is the sum of its reads' gradients (as TF), so its reads are sources too.
        reads = {x: _variable_reads(x) for x in xs_list if x.dtype is _dtypes.resource}
        sources = xs_list + [r for rs in reads.values() for r in rs]
        xs_set = set(sources)
        between = _between_ops(ys_list, _reached_ops(sources))
        for op in sorted(between, key=lambda o: o._id, reverse=True):
            _backprop_op(op, grads, between, xs_set, stop, colocate_gradients_with_ops, gate_gradients)
        out = []
        for x in xs_list:
            if x in reads:
                pieces = [(r, _aggregate(grads, r)) for r in reads[x]]
                grads[x] = [_read_gradient(r, g) for r, g in pieces if g is not None]
            g = _aggregate(grads, x)
            if g is None and unconnected_gradients == "zero":
                g = _zeros_for(x) if x not in reads else _variable_zeros(x)
            out.append(g)
        return out


def _backprop_op(op: Operation, grads: dict, between: set, xs_set: set, stop: set, colocate: bool, gate: bool) -> None:
    out_grads = [None if t in stop else _aggregate(grads, t) for t in op.outputs]
    if all(g is None for g in out_grads):
        return
    grad_fn = gradient_function(op)
    if grad_fn is None:
        return
    out_grads = [_zeros_for(t) if g is None and is_differentiable_dtype(t) else g for t, g in zip(op.outputs, out_grads)]
    if gradient_op_type(op) not in SPARSE_GRADIENT_OPS:
        # Other gradient functions expect tensors: a sparse gradient reaching them densifies, warning as in TF.
        out_grads = [convert_to_tensor(g) if isinstance(g, IndexedSlices) else g for g in out_grads]
    graph = op.graph
    device = graph.device(op.device) if colocate and op.device else contextlib.nullcontext()
    with graph.name_scope(op.name + "_grad"), device:
        in_grads = grad_fn(op, *out_grads)
        in_grads = _as_grad_list(op, in_grads)
        if gate and sum(g is not None for g in in_grads) > 1:
            from .ops.state_ops import tuple as tf_tuple

            in_grads = tf_tuple(in_grads)
    for i, (t, g) in enumerate(zip(op.inputs, in_grads)):
        if g is None or not is_differentiable_dtype(t):
            continue
        if t.op not in between and t not in xs_set:
            continue
        grads.setdefault(t, []).append(_checked_grad(op, i, t, g))


def _as_grad_list(op: Operation, in_grads: Any) -> list:
    if in_grads is None or isinstance(in_grads, (Tensor, IndexedSlices)):
        in_grads = [in_grads]
    in_grads = list(in_grads)
    if len(in_grads) != len(op.inputs):
        raise ValueError(
            f"The gradient function of op '{op.name}' ({op.type}) returned {len(in_grads)} gradients, but the op "
            f"has {len(op.inputs)} inputs; return one gradient (or None) per input")
    return in_grads


def _checked_grad(op: Operation, index: int, t: Tensor, g: Any) -> Tensor | IndexedSlices:
    if isinstance(g, IndexedSlices):
        if g.dtype is not t.dtype:
            raise TypeError(
                f"The gradient function of op '{op.name}' ({op.type}) returned IndexedSlices of {g.dtype.name} for "
                f"input {index} ('{t.name}'), but that input is {t.dtype.name}")
        return g
    if not isinstance(g, Tensor):
        g = convert_to_tensor(g, dtype=t.dtype)
    if g.dtype is not t.dtype:
        raise TypeError(
            f"The gradient function of op '{op.name}' ({op.type}) returned a {g.dtype.name} gradient for input "
            f"{index} ('{t.name}'), but that input is {t.dtype.name}")
    if not t.shape.is_compatible_with(g.shape):
        raise ValueError(
            f"The gradient function of op '{op.name}' ({op.type}) returned a gradient of shape {g.shape} for input "
            f"{index} ('{t.name}'), but that input has shape {t.shape}")
    g.set_shape(t.shape)
    return g


def _aggregate(grads: dict, t: Tensor) -> Tensor | IndexedSlices | None:
    """The sum of the gradients recorded for ``t`` (cached, so later readers share one AddN).

    As TF: sparse gradients only are concatenated into one IndexedSlices; a mix with dense ones is summed
    densely (each IndexedSlices densified, with TF's warning where it applies).
    """
    pending = grads.get(t)
    if not pending:
        return None
    if len(pending) > 1:
        if all(isinstance(g, IndexedSlices) for g in pending):
            pending[:] = [_concat_slices(pending)]
        else:
            from .ops.math_ops import add_n

            pending[:] = [add_n([convert_to_tensor(g) for g in pending], name="AddN")]
    return pending[0]


def _concat_slices(slices: list) -> IndexedSlices:
    from .ops.math_ops import cast
    from .ops.shape_ops import concat

    index_dtype = max((s.indices.dtype for s in slices), key=lambda d: np.dtype(d.np_dtype).itemsize)  # int64 if any is
    indices = [s.indices if s.indices.dtype is index_dtype else cast(s.indices, index_dtype) for s in slices]
    return IndexedSlices(concat([s.values for s in slices], 0), concat(indices, 0), slices[0].dense_shape)


def _reached_ops(xs: list) -> set:
    """Ops that consume, directly or through other ops, a floating-point tensor computed from ``xs``."""
    reached: set = set()
    stack = [x for x in xs if is_differentiable_dtype(x)]
    seen = set(stack)
    while stack:
        t = stack.pop()
        for op in t._consumers:
            if op in reached:
                continue
            reached.add(op)
            for out in op.outputs:
                if is_differentiable_dtype(out) and out not in seen:
                    seen.add(out)
                    stack.append(out)
    return reached


def _between_ops(ys: list, reached: set) -> set:
    """The reached ops on a path to ``ys``: walk back from ``ys`` along floating-point inputs."""
    between: set = set()
    stack = [y.op for y in ys if y.op in reached]
    while stack:
        op = stack.pop()
        if op in between:
            continue
        between.add(op)
        for t in op.inputs:
            if t.op in reached and t.op not in between and is_differentiable_dtype(t):
                stack.append(t.op)
    return between


def _initial_grad(y: Tensor, grad_y: Any, index: int) -> Tensor:
    if grad_y is not None:
        g = grad_y if isinstance(grad_y, Tensor) else convert_to_tensor(grad_y, dtype=y.dtype, name=f"grad_ys_{index}")
        if g.dtype is not y.dtype:
            raise TypeError(f"grad_ys[{index}] ('{g.name}') is {g.dtype.name}, but y '{y.name}' is {y.dtype.name}")
        if not y.shape.is_compatible_with(g.shape):
            raise ValueError(f"grad_ys[{index}] ('{g.name}') has shape {g.shape}, but y '{y.name}' has shape {y.shape}")
        return g
    return _filled_like(y, 1, f"grad_ys_{index}")


def _variable_reads(handle: Tensor) -> list[Tensor]:
    """The values read from the resource variable of ``handle`` (its ReadVariableOp and ResourceGather outputs)."""
    return [op.outputs[0] for op in handle._consumers if op.type in ("ReadVariableOp", "ResourceGather")]


def _read_gradient(read: Tensor, grad: Any) -> Any:
    """The part of a resource variable's gradient that ``grad``, the gradient of its read ``read``, gives: ``grad``
    for a ReadVariableOp; the gathered rows (an IndexedSlices) for a ResourceGather, as TF's gradient of it."""
    op = read.op
    if op.type == "ReadVariableOp":
        return grad
    from .ops.shape_ops import concat, reshape

    if op.attrs["batch_dims"] != 0:
        raise NotImplementedError(f"tf.gradients: the gradient of ResourceGather '{op.name}' with batch_dims="
                                  f"{op.attrs['batch_dims']} is not supported; only batch_dims=0")
    handle, indices = op.inputs
    shape = handle.op.attrs["shape"] if handle.op.type == "VarHandleOp" else None
    if shape is not None and shape.is_fully_defined():
        dense_shape = convert_to_tensor(np.array(shape.as_list(), np.int32))
        values = reshape(convert_to_tensor(grad), [-1] + shape.as_list()[1:])
    else:
        dense_shape = apply_op("VariableShape", handle, name="VariableShape")[0]
        values = reshape(convert_to_tensor(grad), concat([[-1], dense_shape[1:]], 0))
    return IndexedSlices(values, reshape(indices, [-1]), dense_shape)


def _variable_zeros(handle: Tensor) -> Tensor:
    """Zeros shaped as the resource variable of ``handle``: its gradient where no y depends on it."""
    from .ops import array_ops

    shape, dtype = handle.op.attrs["shape"], handle.op.attrs["dtype"]
    if shape.is_fully_defined():
        return array_ops.zeros(shape.as_list(), dtype=dtype, name="zeros")
    return array_ops.fill(apply_op("VariableShape", handle)[0], np.array(0, dtype.np_dtype), name="zeros")


def _zeros_for(t: Tensor) -> Tensor:
    return _filled_like(t, 0, "zeros")


def _filled_like(t: Tensor, value: int, name: str) -> Tensor:
    """A tensor of ``value`` with the shape and dtype of ``t``; static shapes need no run of ``t``."""
    from .ops import array_ops

    if t.shape.is_fully_defined():
        dims = t.shape.as_list()
        if int(np.prod(dims)) <= 1:
            return array_ops.constant(np.full(dims, value, dtype=t.dtype.np_dtype), dtype=t.dtype, name=name)
        return array_ops.fill(np.array(dims, dtype=np.int32), np.array(value, dtype=t.dtype.np_dtype), name=name)
    like = array_ops.ones_like if value == 1 else array_ops.zeros_like
    return like(t, name=name)


def _as_list(value: Any, what: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_y(y: Any) -> Tensor:
    if isinstance(y, Tensor):
        return y
    if hasattr(y, "_as_tensor"):
        return y._as_tensor()
    raise TypeError(f"tf.gradients expects Tensors or Variables, got {type(y).__name__} {y!r}")


def _as_x(x: Any) -> Tensor:
    """A Variable differentiates through its reference, so every read of it contributes."""
    if isinstance(x, Tensor):
        return x
    if hasattr(x, "_ref"):
        return x._ref
    raise TypeError(f"tf.gradients: xs must be Tensors or Variables, got {type(x).__name__} {x!r}")
