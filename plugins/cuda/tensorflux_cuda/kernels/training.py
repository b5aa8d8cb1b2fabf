"""Adam as one elementwise program: the step size, both moments and the variable in a single pass.

On a GPU the program is one ``ElementwiseKernel`` that reads the variable, its two slots and the gradient and
writes all three back, in place when nobody else holds their arrays (the same reference-count test as the cpu
plugin's fused kernels), else into fresh arrays. ``_MatMulApplyAdam`` (the fusion pass's ApplyAdam of a MatMul
gradient) is the product through cuBLAS, then the same program.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable

from .. import codegen
from ..backend import ArrayBackend
from .common import dtype_name

ADAM_INPUTS = ("var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad")


def adam_program(nesterov: bool) -> codegen.Program:
    """TF's Adam step: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, ``m += (g - m) * (1 - beta1)``,
    ``v += (g^2 - v) * (1 - beta2)``, ``var -= lr_t * m / (sqrt(v) + epsilon)`` (nesterov: ``m * beta1 +
    g * (1 - beta1)`` in place of ``m`` in the last).

    Example:
        >>> sorted(adam_program(False).outputs)
        ['m_out', 'v_out', 'var_out']
    """
    var, m, v, b1p, b2p, lr, b1, b2, eps, g = codegen.inputs(*ADAM_INPUTS)
    lr_t = lr * codegen.sqrt(1.0 - b2p) / (1.0 - b1p)
    m_t = m + (g - m) * (1.0 - b1)
    v_t = v + (g * g - v) * (1.0 - b2)
    direction = m_t * b1 + g * (1.0 - b1) if nesterov else m_t
    var_t = var - lr_t * direction / (codegen.sqrt(v_t) + eps)
    return codegen.Program("adam_nesterov" if nesterov else "adam", ADAM_INPUTS,
                           {"var_out": var_t, "m_out": m_t, "v_out": v_t})


PROGRAMS = {False: adam_program(False), True: adam_program(True)}


def _references(slot: Any) -> int:
    value = slot.value
    return sys.getrefcount(value)


class _Probe:
    """A slot whose array nobody else holds, to calibrate the reference count."""

    def __init__(self) -> None:
        self.value = bytearray(1)


_SOLE = _references(_Probe())  # the slot's reference, ours, and getrefcount's argument


def writable_in_place(slot: Any) -> bool:
    """Whether the slot's array may be overwritten: nobody but the slot holds it (no reader, view or fetch).

    Example:
        >>> class Slot:
        ...     value = None
        >>> writable_in_place(Slot())
        False
    """
    return slot.value is not None and _references(slot) <= _SOLE


def kernels(backend: ArrayBackend) -> dict[str, Callable]:
    """``{op: kernel}`` for ApplyAdam and _MatMulApplyAdam over ``backend``.

    Example:
        >>> import numpy as np
        >>> from tensorflux_cuda.backend import ArrayBackend
        >>> sorted(kernels(ArrayBackend(np)))
        ['ApplyAdam', '_MatMulApplyAdam']
    """
    xp = backend.xp

    def step(var, m, v, scalars: tuple, grad, use_locking: bool, use_nesterov: bool, op: str):
        with var.lock if use_locking else contextlib.nullcontext():
            in_place = [writable_in_place(s) for s in (var, m, v)]
            w = var.read()
            if any(tuple(a.shape) != tuple(w.shape) for a in (grad, m.read(), v.read())):
                raise ValueError(f"{op}: gradient of shape {list(grad.shape)} and slots m {list(m.read().shape)}, "
                                 f"v {list(v.read().shape)} must all match variable '{var.name}' of shape "
                                 f"{list(w.shape)}")
            arrays = [w, m.read(), v.read(), *scalars, grad]
            out = [a if ok else xp.empty_like(a) for a, ok in zip(arrays[:3], in_place)]
            new_w, new_m, new_v = backend.elementwise(PROGRAMS[bool(use_nesterov)], dtype_name(w.dtype))(arrays, out)
            m.assign(new_m)
            v.assign(new_v)
            return var.assign(new_w)

    def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking,
                   use_nesterov):
        return step(var, m, v, (beta1_power, beta2_power, lr, beta1, beta2, epsilon), grad, use_locking,
                    use_nesterov, "ApplyAdam")

    def matmul_apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, a, b, *, transpose_a,
                          transpose_b, use_locking, use_nesterov):
        grad = xp.matmul(xp.matrix_transpose(a) if transpose_a else a, xp.matrix_transpose(b) if transpose_b else b)
        return step(var, m, v, (beta1_power, beta2_power, lr, beta1, beta2, epsilon), grad, use_locking,
                    use_nesterov, "_MatMulApplyAdam")

    return {"ApplyAdam": apply_adam, "_MatMulApplyAdam": matmul_apply_adam}
