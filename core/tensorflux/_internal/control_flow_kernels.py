"""The host kernels of ``If``, ``While``, ``WhileGrad`` and ``Scan``: they run traced functions' compiled plans on the host.

The cpu plugin registers them as they are; every other device gets them through the host adapter
(``reference/host.py``), so a branch always runs on the host.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InvalidArgumentError
from .function_graph import runner
from .resource_kernels import resource_kernels
from .tf_graph_kernels import tf_graph_kernels
from .variant_kernels import variant_kernels


def _truth(value: Any, what: str) -> bool:
    value = np.asarray(value)
    if value.size != 1:
        raise InvalidArgumentError(f"{what}: the predicate must be a scalar, got shape {value.shape}")
    return bool(value.reshape(()))


def if_kernel(cond: Any, *inputs: Any, then_branch: str, else_branch: str, ctx: Any) -> tuple:
    """``If``: run only the branch ``cond`` picks, on ``inputs``."""
    chosen = then_branch if _truth(cond, f"op '{ctx.op_name}' (If)") else else_branch
    return tuple(runner(chosen, ctx)(inputs))


def while_kernel(*inputs: Any, cond: str, body: str, num_loop_vars: int, ctx: Any) -> tuple:
    """``While``: apply ``body`` to the loop variables while ``cond`` holds; captured inputs stay as they are."""
    values, captured = list(inputs[:num_loop_vars]), list(inputs[num_loop_vars:])
    test, step = runner(cond, ctx), runner(body, ctx)
    what = f"op '{ctx.op_name}' (While)"
    while _truth(test(values + captured)[0], what):
        values = step(values + captured)
    return tuple(values + captured)


def while_grad_kernel(*args: Any, T: list, cond: str, body: str, body_grad: str, num_loop_vars: int,
                      num_grad_loop_vars: int, ctx: Any) -> tuple:
    """``WhileGrad``: rerun the loop keeping every iteration's loop variables (TF keeps them in stacks while the
    forward loop runs; recomputing leaves ``While`` itself free of bookkeeping), then walk them backwards through
    ``body_grad``, summing the captured inputs' gradients over the iterations."""
    inputs, dys = args[:len(T)], args[len(T):]
    values, captured = list(inputs[:num_loop_vars]), list(inputs[num_loop_vars:])
    test, step, step_grad = runner(cond, ctx), runner(body, ctx), runner(body_grad, ctx)
    what = f"op '{ctx.op_name}' (WhileGrad)"
    history = []
    while _truth(test(values + captured)[0], what):
        history.append(values)
        values = step(values + captured)
    grads = list(dys[:num_grad_loop_vars])
    captured_grads = [np.array(g, copy=True) for g in dys[num_grad_loop_vars:]]
    for entered in reversed(history):
        out = step_grad(entered + captured + grads)
        grads = list(out[:num_grad_loop_vars])
        for total, g in zip(captured_grads, out[num_grad_loop_vars:]):
            total += g
    return tuple(grads + captured_grads)


def scan_kernel(*inputs: Any, T: list, Tout: list, body: str, num_carry: int, num_sliced: int, reverse: bool,
                output_shapes: list, ctx: Any) -> tuple:
    """``Scan``: one step of ``body`` per slice of the sliced inputs, stacking what each step emits."""
    what = f"op '{ctx.op_name}' (Scan)"
    carry = list(inputs[:num_carry])
    sliced = [np.asarray(x) for x in inputs[num_carry:num_carry + num_sliced]]
    captured = list(inputs[num_carry + num_sliced:])
    lengths = {x.shape[0] if x.ndim else None for x in sliced}
    if None in lengths or len(lengths) != 1:
        raise InvalidArgumentError(f"{what}: the sliced inputs must share a first dimension, got shapes "
                                   f"{[x.shape for x in sliced]}")
    length = lengths.pop()
    step = runner(body, ctx)
    stacked: list | None = None
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        out = step(carry + [x[t] for x in sliced] + captured)
        carry = out[:num_carry]
        if stacked is None:
            stacked = [np.empty((length,) + np.shape(y), dtype=np.asarray(y).dtype) for y in out[num_carry:]]
        for k, (buf, y) in enumerate(zip(stacked, out[num_carry:])):
            if np.shape(y) != buf.shape[1:]:
                raise InvalidArgumentError(f"{what}: output {k} of the function has shape {np.shape(y)} at step {t} "
                                           f"but {buf.shape[1:]} at the first step; every step must emit one shape")
            buf[t] = y
    if stacked is None:
        stacked = [_empty_stack(shape, dtype, what) for shape, dtype in zip(output_shapes[num_carry:], Tout[num_carry:])]
    return tuple(carry + stacked)


def _empty_stack(shape: Any, dtype: Any, what: str) -> np.ndarray:
    # Zero steps emit nothing to learn a shape from: the traced function's declared shape must do.
    if shape.rank is None or any(d is None for d in shape.as_list()[1:]):
        raise InvalidArgumentError(f"{what}: zero steps, and the function's output shape {shape} is not fully known, "
                                   "so the empty result's shape cannot be given")
    return np.empty([0] + shape.as_list()[1:], dtype=dtype.np_dtype)


def control_flow_kernels() -> dict[str, Callable]:
    """``{op_name: host kernel}`` for If, While, While's gradient and Scan, TF's TensorList and Optional ops
    (the state of control flow imported from TF) TF's resource-variable ops (the state of its variables) and
    ``BroadcastGradientArgs`` (shape arithmetic of TF's gradient graphs).

    Example:
        >>> {"If", "EmptyTensorList", "OptionalGetValue", "ReadVariableOp"} <= set(control_flow_kernels())
        True
    """
    return {"If": if_kernel, "While": while_kernel, "WhileGrad": while_grad_kernel, "Scan": scan_kernel,
            **variant_kernels(), **resource_kernels(), **tf_graph_kernels()}
