"""Host kernels of TF's resource-variable ops (``ops/resource_ops.py``).

A ``resource`` value is a 0-d object array holding a :class:`ResourceHandle`: the running session's
:class:`VariableSlot` of the ``VarHandleOp`` that made it, keyed by that op's name as a ``VariableV2``'s slot is,
so ``Saver``, ``sess.run`` and ``Session.load_variable`` see the same state. Reads and writes go through the host
(the slot's device copies when its memory is not the host's); the optimizer updates are the reference kernels'
formulas (``reference/training.py``), run on the slots.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError
from .host_adapter import HostSlot
from .registry import attr_parameters, kernel_parameters
from .session_state import VariableSlot


class ResourceHandle:
    """What a ``resource`` tensor holds: the session slot of one variable.

    Example:
        >>> from tensorflux._internal.devices import Device
        >>> from tensorflux._internal.shapes import TensorShape
        >>> ResourceHandle(VariableSlot("w", None, TensorShape([2]), Device())).name
        'w'
    """

    __slots__ = ("slot",)

    def __init__(self, slot: VariableSlot) -> None:
        self.slot = slot

    @property
    def name(self) -> str:
        return self.slot.name

    def __repr__(self) -> str:
        return f"ResourceHandle({self.slot.name})"


def _where(ctx: Any) -> str:
    return f"op '{ctx.op_name}' ({ctx.op_type})"


def _held(handle: Any, ctx: Any) -> VariableSlot:
    held = handle[()] if isinstance(handle, np.ndarray) and handle.dtype == object and handle.ndim == 0 else handle
    if not isinstance(held, ResourceHandle):
        raise InvalidArgumentError(f"{_where(ctx)}: expected a resource handle, got {type(held).__name__}")
    return held.slot


def _slot(handle: Any, ctx: Any) -> Any:
    # The slot as a host kernel uses it: reads and writes copy where the variable's memory is not the host's.
    slot = _held(handle, ctx)
    return slot if getattr(slot.device, "host_memory", True) else HostSlot(slot)


def _read(slot: Any, ctx: Any) -> np.ndarray:
    return np.asarray(slot.read())


def _checked(slot: Any, value: Any, ctx: Any) -> np.ndarray:
    value = np.asarray(value)
    if slot.dtype is not None and value.dtype != slot.dtype.np_dtype:
        raise InvalidArgumentError(f"{_where(ctx)}: variable '{slot.name}' is {slot.dtype.name}, got a value of dtype "
                                   f"{value.dtype}")
    return value


# Where a session keeps the slots of handles with a ``shared_name``, by (container, shared_name): handles that name
# the same variable share its state, as TF's resource manager shares it.
_SHARED = "resource_variables/shared"


def _var_handle(*, dtype: Any, shape: Any, container: str = "", shared_name: str = "", ctx: Any) -> np.ndarray:
    variables = ctx.state.variables
    slot = variables.get(ctx.op_name)
    if shared_name:
        # dict.setdefault is atomic: two handles running at once still get one slot (no lock: a run may hold it)
        shared = ctx.state.resources.setdefault(_SHARED, {})
        slot = shared.setdefault((container, shared_name), slot or VariableSlot(ctx.op_name, dtype, shape, ctx.device))
        if slot.dtype is not None and slot.dtype != dtype:
            raise InvalidArgumentError(f"{_where(ctx)}: variable '{shared_name}' (container '{container}') is "
                                       f"{slot.dtype.name}, but this handle asks for {dtype.name}")
        variables[ctx.op_name] = slot
    if slot is None:
        slot = variables.setdefault(ctx.op_name, VariableSlot(ctx.op_name, dtype, shape, ctx.device))
    out = np.empty((), dtype=object)
    out[()] = ResourceHandle(slot)
    return out


def _read_variable(handle: Any, *, dtype: Any, ctx: Any) -> np.ndarray:
    return _read(_slot(handle, ctx), ctx)


def _assign(handle: Any, value: Any, *, dtype: Any, validate_shape: bool = False, ctx: Any) -> tuple:
    slot = _slot(handle, ctx)
    slot.assign(_checked(slot, value, ctx), validate_shape)
    return ()


def _updater(combine: Callable) -> Callable:
    def update(handle: Any, value: Any, *, dtype: Any, ctx: Any) -> tuple:
        slot = _slot(handle, ctx)
        with slot.lock:
            old = _read(slot, ctx)
            new = combine(old, _checked(slot, value, ctx))
            if new.shape != old.shape:
                raise InvalidArgumentError(f"{_where(ctx)}: a value of shape {list(np.shape(value))} cannot update "
                                           f"variable '{slot.name}' of shape {list(old.shape)}")
            slot.assign(np.asarray(new, old.dtype), True)
        return ()

    return update


def _is_initialized(handle: Any, *, ctx: Any) -> np.ndarray:
    return np.array(_held(handle, ctx).value is not None)


def _variable_shape(handle: Any, *, out_type: Any, ctx: Any) -> np.ndarray:
    return np.array(np.shape(_read(_slot(handle, ctx), ctx)), out_type.np_dtype)


def _destroy(handle: Any, *, ignore_lookup_error: bool, ctx: Any) -> tuple:
    slot = _held(handle, ctx)
    if slot.value is None and not ignore_lookup_error:
        raise InvalidArgumentError(f"{_where(ctx)}: variable '{slot.name}' holds no value to destroy")
    slot.value = None
    return ()


def _rows(slot: Any, indices: Any, ctx: Any) -> tuple[np.ndarray, np.ndarray]:
    value = _read(slot, ctx)
    flat = np.asarray(indices).reshape(-1)
    if value.ndim == 0:
        raise InvalidArgumentError(f"{_where(ctx)}: variable '{slot.name}' is a scalar and has no rows")
    bad = (flat < 0) | (flat >= value.shape[0])
    if bad.any():
        raise InvalidArgumentError(f"{_where(ctx)}: index {int(flat[bad][0])} is out of range for variable "
                                   f"'{slot.name}' of {value.shape[0]} rows")
    return value, flat


def _gather(handle: Any, indices: Any, *, dtype: Any, batch_dims: int, validate_indices: bool = True,
            ctx: Any) -> np.ndarray:
    if batch_dims == 0:
        value, flat = _rows(_slot(handle, ctx), indices, ctx)
        return value[flat].reshape(np.shape(indices) + value.shape[1:])
    return _batch_gather(_read(_slot(handle, ctx), ctx), np.asarray(indices), batch_dims, ctx)


def _batch_gather(value: np.ndarray, indices: np.ndarray, batch_dims: int, ctx: Any) -> np.ndarray:
    # TF's gather with batch_dims b: the leading b axes of the variable and of the indices are paired, and within
    # each pair the indices pick along the variable's axis b; a negative b counts from the indices' rank.
    b = batch_dims + indices.ndim if batch_dims < 0 else batch_dims
    if not 0 <= b <= indices.ndim or b >= value.ndim:
        raise InvalidArgumentError(f"{_where(ctx)}: batch_dims={batch_dims} must be in [-{indices.ndim}, "
                                   f"{indices.ndim}] and below the variable's rank {value.ndim}")
    if value.shape[:b] != indices.shape[:b]:
        raise InvalidArgumentError(f"{_where(ctx)}: batch_dims={batch_dims} pairs the variable's leading axes "
                                   f"{list(value.shape[:b])} with the indices' {list(indices.shape[:b])}; they differ")
    n, rows, rest = int(np.prod(value.shape[:b], dtype=np.int64)), value.shape[b], value.shape[b + 1:]
    flat = indices.reshape(n, -1)
    bad = (flat < 0) | (flat >= rows)
    if bad.any():
        raise InvalidArgumentError(f"{_where(ctx)}: index {int(flat[bad][0])} is out of range for axis {b} of the "
                                   f"variable, of size {rows}")
    picked = value.reshape((n, rows) + rest)[np.arange(n)[:, None], flat]
    return picked.reshape(indices.shape + rest)


def _scatter(combine: Any) -> Callable:
    def scatter(handle: Any, indices: Any, updates: Any, *, dtype: Any, ctx: Any) -> tuple:
        slot = _slot(handle, ctx)
        with slot.lock:
            value, flat = _rows(slot, indices, ctx)
            value = np.array(value, copy=True)
            rows = np.broadcast_to(np.asarray(updates, value.dtype), (flat.size,) + value.shape[1:])
            if combine is None:
                value[flat] = rows  # a repeated index keeps the last row, as TF's CPU kernel
            else:
                combine.at(value, flat, rows)
            slot.assign(value, True)
        return ()

    return scatter


def _dense_apply(fn: Callable, n_slots: int) -> Callable:
    """The reference update ``fn`` on the slots of the first ``n_slots`` handles; the other inputs are values."""

    def apply(*args: Any, ctx: Any, **attrs: Any) -> tuple:
        slots = [_slot(h, ctx) for h in args[:n_slots]]
        for s in slots:
            s.read()  # an uninitialized slot fails here, before any is written
        fn(*slots, *[np.asarray(a) for a in args[n_slots:]], **attrs)
        return ()

    # The registry passes the attributes a kernel's signature names: ``fn``'s, plus ctx.
    apply.__signature__ = inspect.Signature(
        [inspect.Parameter("inputs", inspect.Parameter.VAR_POSITIONAL)] + attr_parameters(kernel_parameters(fn))
        + [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY)])
    return apply


def _sparse_update(var: Any, accum: Any, grad: Any, indices: Any, ctx: Any, update: Callable) -> tuple:
    """Under the variable's lock, copies of the variable and its accumulator, ``update(value, acc, rows, grad)`` on the
    gathered rows (``grad`` shaped one row per index), then both written back."""
    v, a = _slot(var, ctx), _slot(accum, ctx)
    with v.lock:
        value, flat = _rows(v, indices, ctx)
        acc = np.array(_read(a, ctx), copy=True)
        value = np.array(value, copy=True)
        update(value, acc, flat, np.asarray(grad).reshape((flat.size,) + value.shape[1:]))
        a.assign(acc, True)
        v.assign(value, True)
    return ()


def _sparse_momentum(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, momentum: Any, *, use_nesterov: bool,
                     ctx: Any) -> tuple:
    def update(value, acc, flat, grad):
        acc[flat] = acc[flat] * momentum + grad
        value[flat] -= grad * lr + acc[flat] * momentum * lr if use_nesterov else acc[flat] * lr

    return _sparse_update(var, accum, grad, indices, ctx, update)


def _sparse_adagrad(var: Any, accum: Any, lr: Any, grad: Any, indices: Any, *, update_slots: bool, ctx: Any) -> tuple:
    def update(value, acc, flat, grad):
        if update_slots:
            acc[flat] += grad * grad
        value[flat] -= lr * grad / np.sqrt(acc[flat])

    return _sparse_update(var, accum, grad, indices, ctx, update)


def resource_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for TF's resource-variable ops.

    Example:
        >>> sorted(resource_kernels())[:3]
        ['AssignAddVariableOp', 'AssignSubVariableOp', 'AssignVariableOp']
    """
    from .reference.training import kernels as training_kernels  # here: the reference package imports this module

    dense = training_kernels(np)
    return {
        "VarHandleOp": _var_handle, "ReadVariableOp": _read_variable, "AssignVariableOp": _assign,
        "AssignAddVariableOp": _updater(np.add), "AssignSubVariableOp": _updater(np.subtract),
        "VarIsInitializedOp": _is_initialized, "VariableShape": _variable_shape, "DestroyResourceOp": _destroy,
        "ResourceGather": _gather, "ResourceScatterAdd": _scatter(np.add), "ResourceScatterSub": _scatter(np.subtract),
        "ResourceScatterUpdate": _scatter(None),
        "ResourceApplyGradientDescent": _dense_apply(dense["ApplyGradientDescent"], 1),
        "ResourceApplyMomentum": _dense_apply(dense["ApplyMomentum"], 2),
        "ResourceApplyAdam": _dense_apply(dense["ApplyAdam"], 3),
        "ResourceApplyAdagrad": _dense_apply(dense["ApplyAdagrad"], 2),
        "ResourceApplyRMSProp": _dense_apply(dense["ApplyRMSProp"], 3),
        "ResourceApplyCenteredRMSProp": _dense_apply(dense["ApplyCenteredRMSProp"], 4),
        "ResourceSparseApplyMomentum": _sparse_momentum, "ResourceSparseApplyAdagrad": _sparse_adagrad,
    }
