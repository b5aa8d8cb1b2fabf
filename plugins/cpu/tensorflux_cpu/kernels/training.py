"""Fused optimizer kernels. Ref inputs arrive as VariableSlots.

Each kernel stores its results with ``VariableSlot.assign``. It writes into the current array only
when nobody else can see it: the array owns its memory and its only reference is the slot's (CPython's
reference count says so; a fetched result, another op's input or a view would each hold one more).
Otherwise it computes fresh arrays. Large float32/float64 updates run in cache-sized chunks across the
plugin's threads, each chunk doing every step of the update while it is in cache.
"""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

from tensorflux.extend import FLOATING

from .. import blas

_FAST = (np.dtype(np.float32), np.dtype(np.float64))
_CHUNK = 1 << 16  # elements per chunk of a fused update (256 KiB of float32 per array)


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


def _writable(slot):
    """The slot's array to update in place, or a fresh copy when someone else may hold it."""
    value = slot.read()
    if (type(value) is np.ndarray and value.base is None and value.flags.c_contiguous
            and sys.getrefcount(value) <= _SOLE):
        value.setflags(write=True)
        return value
    return np.array(value, order="C")


def _fast(slots, *arrays):
    dtype = slots[0].dtype.np_dtype
    if dtype not in _FAST:
        return False
    for s in slots:
        if s.dtype.np_dtype != dtype:
            return False
    for a in arrays:
        if getattr(a, "dtype", None) != dtype:
            return False
    return True


_local = threading.local()


def _scratch(dtype):
    """Two reusable one-chunk arrays for this thread: fresh ones would cost page faults on every call."""
    cache = getattr(_local, "scratch", None)
    if cache is None:
        cache = _local.scratch = {}
    pair = cache.get(dtype)
    if pair is None:
        pair = cache[dtype] = (np.empty(_CHUNK, dtype), np.empty(_CHUNK, dtype))
    return pair


def _chunked(fn, size, dtype=None):
    """``fn(start, stop[, scratch])`` over ``range(size)`` in cache-sized chunks, across threads when large.

    With ``dtype``, each chunk also gets this thread's two scratch arrays of one chunk's length.
    """
    bounds = [(s, min(s + _CHUNK, size)) for s in range(0, size, _CHUNK)] or [(0, 0)]

    def run(first, stop):
        scratch = _scratch(dtype) if dtype is not None else None
        for j in range(first, stop):
            if scratch is None:
                fn(*bounds[j])
            else:
                fn(*bounds[j], scratch)

    if len(bounds) < 8:  # under about two megabytes per array: handing chunks to threads costs more than it saves
        run(0, len(bounds))
        return
    groups = blas.chunk_bounds(len(bounds), blas.THREADS * 4)
    blas.parallel_chunks(lambda i: run(*groups[i]), len(groups))


def _flat(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def apply_gradient_descent(var, alpha, delta, *, use_locking, donated=()):
    with _locked(var, use_locking):
        if not _fast([var], alpha, delta) or np.shape(delta) != var.read().shape:
            return _store(var, var.read() - alpha * delta)
        w = _writable(var)
        wf, df = w.reshape(-1), _flat(delta, w.dtype)
        if 2 in donated and (df is delta or df.base is delta):
            # The gradient is ours to overwrite: scale it in place, then subtract (same values as w - alpha*delta).
            np.multiply(df, alpha, out=df)
            np.subtract(wf, df, out=wf)
            return _store(var, w)

        def step(s, e, scratch):
            t = scratch[0][:e - s]
            np.multiply(alpha, df[s:e], out=t)
            wf[s:e] -= t

        _chunked(step, w.size, w.dtype)
        return _store(var, w)


def apply_momentum(var, accum, lr, grad, momentum, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        a = _store(accum, accum.read() * momentum + grad)
        step = grad * lr + a * momentum * lr if use_nesterov else a * lr
        return _store(var, var.read() - step)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
        if _fast([var, m, v], lr_t, beta1, beta2, epsilon, grad) and np.shape(grad) == var.read().shape == \
                m.read().shape == v.read().shape:
            return _adam_in_place(var, m, v, lr_t, beta1, beta2, epsilon, grad, use_nesterov)
        m_t = _store(m, m.read() + (grad - m.read()) * (1 - beta1))
        v_t = _store(v, v.read() + (grad * grad - v.read()) * (1 - beta2))
        direction = m_t * beta1 + grad * (1 - beta1) if use_nesterov else m_t
        return _store(var, var.read() - lr_t * direction / (np.sqrt(v_t) + epsilon))


def _adam_in_place(var, m, v, lr_t, beta1, beta2, epsilon, grad, use_nesterov):
    """The same arithmetic as the generic path, in the same order, chunk by chunk."""
    w, mw, vw = _writable(var), _writable(m), _writable(v)
    wf, mf, vf, gf = w.reshape(-1), mw.reshape(-1), vw.reshape(-1), _flat(grad, w.dtype)
    one_b1, one_b2 = 1 - beta1, 1 - beta2

    def step(s, e, scratch):
        g, mc, vc = gf[s:e], mf[s:e], vf[s:e]
        t, den = scratch[0][:e - s], scratch[1][:e - s]
        np.subtract(g, mc, out=t)
        t *= one_b1
        mc += t  # m_t = m + (g - m) * (1 - beta1)
        np.multiply(g, g, out=t)
        t -= vc
        t *= one_b2
        vc += t  # v_t = v + (g*g - v) * (1 - beta2)
        if use_nesterov:
            d = mc * beta1
            d += g * one_b1
        else:
            d = mc
        np.multiply(lr_t, d, out=t)
        np.sqrt(vc, out=den)
        den += epsilon
        t /= den
        wf[s:e] -= t  # var - lr_t * direction / (sqrt(v_t) + epsilon)

    _chunked(step, w.size, w.dtype)
    _store(m, mw)
    _store(v, vw)
    return _store(var, w)


def apply_adagrad(var, accum, lr, grad, *, use_locking, update_slots):
    with _locked(var, use_locking):
        a = _store(accum, accum.read() + grad * grad) if update_slots else accum.read()
        return _store(var, var.read() - lr * grad / np.sqrt(a))


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    with _locked(var, use_locking):
        ms_t = _store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
        mom_t = _store(mom, mom.read() * momentum + lr * grad / np.sqrt(ms_t + epsilon))
        return _store(var, var.read() - mom_t)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    with _locked(var, use_locking):
        mg_t = _store(mg, mg.read() + (grad - mg.read()) * (1 - rho))
        ms_t = _store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
        mom_t = _store(mom, mom.read() * momentum + lr * grad / np.sqrt(ms_t - mg_t * mg_t + epsilon))
        return _store(var, var.read() - mom_t)


KERNELS = {
    "ApplyGradientDescent": apply_gradient_descent, "ApplyMomentum": apply_momentum, "ApplyAdam": apply_adam,
    "ApplyAdagrad": apply_adagrad, "ApplyRMSProp": apply_rms_prop, "ApplyCenteredRMSProp": apply_centered_rms_prop,
}


def register(registrar) -> None:
    registrar.kernels("cpu", KERNELS, dtypes=FLOATING)
