"""Fused optimizer kernels. Ref inputs arrive as VariableSlots.

Each kernel stores its results with ``VariableSlot.assign``. It writes into the current array only
when nobody else can see it: the array owns its memory and its only reference is the slot's (CPython's
reference count says so; a fetched result, another op's input or a view would each hold one more).
Otherwise it writes fresh arrays. ApplyGradientDescent and ApplyAdam on float32/float64 run as one
compiled pass over the arrays (``_loops``), in slices across the plugin's threads when large; other
dtypes, and operands that do not match the variable's dtype and shape, take the numpy formulas.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from tensorflux.extend import FLOATING

from .. import blas
from . import _loops

_FAST = _loops.FAST


def _store(slot, value):
    if value is slot.value:  # updated in place: only the read-only flag needs restoring
        value.setflags(write=False)
        return value
    value = np.asarray(value, dtype=slot.dtype.np_dtype)
    if value.base is None:
        value.setflags(write=False)  # a fresh result: assign keeps it as is instead of copying it
    return slot.assign(value)


def _locked(slot, use_locking):
    return slot.lock if use_locking else contextlib.nullcontext()


def _references(slot):
    value = slot.read()
    return sys.getrefcount(value)


class _Probe:
    """Stands in for a VariableSlot whose array nobody else holds, to calibrate the reference count."""

    def __init__(self):
        self.value = np.empty(1)

    def read(self):
        return self.value


_SOLE = _references(_Probe())  # the slot's reference, ours, and getrefcount's argument


def _sole(slot):
    """Whether the slot's array may be updated in place: it owns its memory, is C-contiguous, and nobody
    but the slot holds it (the caller must not hold it either)."""
    value = slot.read()
    return (type(value) is np.ndarray and value.base is None and value.flags.c_contiguous
            and sys.getrefcount(value) <= _SOLE)


def _target(slot):
    """(the slot's array flattened, the flat array to write its update into, that array unflattened).

    The two are the same array when ``_sole(slot)``, else the update goes to a fresh one.
    """
    if _sole(slot):
        value = slot.read()
        value.setflags(write=True)
        flat = value.reshape(-1)
        return flat, flat, value
    value = slot.read()
    dst = np.empty(np.shape(value), slot.dtype.np_dtype)
    return np.ascontiguousarray(value).reshape(-1), dst.reshape(-1), dst


def _fresh(src, dst, full):
    """A ``_target`` triple that writes to a fresh array."""
    if src is dst:
        full.setflags(write=False)  # the slot's array stays as it was
        full = np.empty(full.shape, full.dtype)
        dst = full.reshape(-1)
    return src, dst, full


def _scalars(dtype, *values):
    """``values`` as numpy scalars of ``dtype`` (so compiled arithmetic stays in it), or None if one is not a 0-d ``dtype``."""
    kind = dtype.type
    out = []
    for x in values:
        if type(x) is not kind:
            if type(x) is not np.ndarray or x.dtype != dtype or x.ndim:
                return None
            x = x[()]
        out.append(x)
    return out


def _operand(a, dtype, shape):
    """``a`` flattened, when it is an array of ``dtype`` and ``shape``; else None."""
    if type(a) is np.ndarray and a.dtype == dtype and a.shape == shape:
        return a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
    return None


def apply_gradient_descent(var, alpha, delta, *, use_locking):
    """``var -= alpha * delta``."""
    if use_locking:
        with var.lock:
            return _gradient_descent(var, alpha, delta)
    return _gradient_descent(var, alpha, delta)


def _gradient_descent(var, alpha, delta):
    dtype = var.dtype.np_dtype
    if dtype in _FAST:
        d = _operand(delta, dtype, np.shape(var.read()))
        scalars = _scalars(dtype, alpha)
        if d is not None and scalars is not None:
            w, out, result = _target(var)
            if w is out:
                _loops.split(_loops.gradient_descent_in_place, w.shape[0], (w, d), *scalars)
            else:
                _loops.split(_loops.gradient_descent, w.shape[0], (w, d, out), *scalars)
            return _store(var, result)
    return _store(var, var.read() - alpha * delta)


def apply_momentum(var, accum, lr, grad, momentum, *, use_locking, use_nesterov):
    """``accum = accum * momentum + grad``; ``var -= accum * lr`` (nesterov: ``grad * lr + accum * momentum * lr``)."""
    with _locked(var, use_locking):
        a = _store(accum, accum.read() * momentum + grad)
        step = grad * lr + a * momentum * lr if use_nesterov else a * lr
        return _store(var, var.read() - step)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking, use_nesterov):
    """TF's Adam step: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, then m, v and var as in ``_loops.adam``."""
    with _locked(var, use_locking):
        return _adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_nesterov)


# Rows of a fused product's gradient per block: about 256 KiB of float32, so the block, and the blocks
# of the variable and its two slots, stay in cache between the product and the update.
_BLOCK_ELEMENTS = 1 << 16


def matmul_apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, a, b, *, transpose_a,
                      transpose_b, use_locking, use_nesterov):
    """ApplyAdam with ``grad = op(a) @ op(b)``: the product in blocks of rows, each applied to the variable and
    its slots while still in cache (never the whole gradient in memory). Updates in place only; when the
    variable or a slot is held elsewhere, it computes the whole gradient and runs ``apply_adam``'s update."""
    with _locked(var, use_locking):
        left, right = (a.T if transpose_a else a), (b.T if transpose_b else b)
        dtype = var.dtype.np_dtype
        value = var.read()
        fast = (dtype in _FAST and left.dtype == dtype and right.dtype == dtype and m.dtype.np_dtype == dtype
                and v.dtype.np_dtype == dtype and left.ndim == right.ndim == 2
                and np.shape(value) == (left.shape[0], right.shape[1]) == np.shape(m.read()) == np.shape(v.read())
                and left.shape[1] == right.shape[0])
        scalars = _scalars(dtype, lr * np.sqrt(1 - beta2_power) / (1 - beta1_power), beta1, 1 - beta1, 1 - beta2,
                           epsilon) if fast else None
        del value
        if scalars is not None and _sole(var) and _sole(m) and _sole(v):
            (w, _, w_new), (mf, _, m_new), (vf, _, v_new) = _target(var), _target(m), _target(v)
            rows, cols = left.shape[0], right.shape[1]
            step = max(1, _BLOCK_ELEMENTS // max(cols, 1))
            bounds = blas.chunk_bounds(rows, -(-rows // step))
            nesterov = bool(use_nesterov)

            def block(i):
                r0, r1 = bounds[i]
                g = np.matmul(left[r0:r1], right)  # parallel_chunks runs it on one BLAS thread
                s, e = r0 * cols, r1 * cols
                _loops.adam_in_place(w[s:e], mf[s:e], vf[s:e], g.reshape(-1), *scalars, nesterov)

            blas.parallel_chunks(block, len(bounds))
            _store(m, m_new)
            _store(v, v_new)
            return _store(var, w_new)
        grad = blas.matmul(left, right) if left.ndim == right.ndim == 2 else np.matmul(left, right)
        return _adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad.astype(dtype, copy=False),
                     use_nesterov)


def _adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, use_nesterov):
    """The Adam update of ``apply_adam``, with the lock (if any) already held."""
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    dtype = var.dtype.np_dtype
    if dtype in _FAST and m.dtype.np_dtype == dtype and v.dtype.np_dtype == dtype:
        shape = np.shape(var.read())
        g = _operand(grad, dtype, shape)
        scalars = _scalars(dtype, lr_t, beta1, 1 - beta1, 1 - beta2, epsilon)
        if g is not None and scalars is not None and np.shape(m.read()) == shape == np.shape(v.read()):
            targets = [_target(var), _target(m), _target(v)]
            if 0 < sum(t[0] is t[1] for t in targets) < 3:  # all in place, or none
                targets = [_fresh(*t) for t in targets]
            (w, w_out, w_new), (mf, m_out, m_new), (vf, v_out, v_new) = targets
            if w is w_out:
                _loops.split(_loops.adam_in_place, w.shape[0], (w, mf, vf, g), *scalars, bool(use_nesterov), cost=32)
            else:
                _loops.split(_loops.adam, w.shape[0], (w, mf, vf, g, w_out, m_out, v_out), *scalars, bool(use_nesterov),
                             cost=32)
            _store(m, m_new)
            _store(v, v_new)
            return _store(var, w_new)
    m_t = _store(m, m.read() + (grad - m.read()) * (1 - beta1))
    v_t = _store(v, v.read() + (grad * grad - v.read()) * (1 - beta2))
    direction = m_t * beta1 + grad * (1 - beta1) if use_nesterov else m_t
    return _store(var, var.read() - lr_t * direction / (np.sqrt(v_t) + epsilon))


def apply_adagrad(var, accum, lr, grad, *, use_locking, update_slots):
    """``accum += grad * grad`` (when ``update_slots``); ``var -= lr * grad / sqrt(accum)``."""
    with _locked(var, use_locking):
        a = _store(accum, accum.read() + grad * grad) if update_slots else accum.read()
        return _store(var, var.read() - lr * grad / np.sqrt(a))


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    """RMSProp: ``ms`` moves toward ``grad * grad``; ``mom = mom * momentum + lr * grad / sqrt(ms + epsilon)``; ``var -= mom``."""
    with _locked(var, use_locking):
        ms_t = _store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
        mom_t = _store(mom, mom.read() * momentum + lr * grad / np.sqrt(ms_t + epsilon))
        return _store(var, var.read() - mom_t)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    """RMSProp centred by the mean gradient ``mg``: the denominator is ``sqrt(ms - mg * mg + epsilon)``."""
    with _locked(var, use_locking):
        mg_t = _store(mg, mg.read() + (grad - mg.read()) * (1 - rho))
        ms_t = _store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
        mom_t = _store(mom, mom.read() * momentum + lr * grad / np.sqrt(ms_t - mg_t * mg_t + epsilon))
        return _store(var, var.read() - mom_t)


KERNELS = {
    "ApplyGradientDescent": apply_gradient_descent, "ApplyMomentum": apply_momentum, "ApplyAdam": apply_adam,
    "_MatMulApplyAdam": matmul_apply_adam,
    "ApplyAdagrad": apply_adagrad, "ApplyRMSProp": apply_rms_prop, "ApplyCenteredRMSProp": apply_centered_rms_prop,
}


def register(registrar) -> None:
    """Register the optimizer kernels for every float dtype on the cpu device."""
    registrar.kernels("cpu", KERNELS, dtypes=FLOATING)
