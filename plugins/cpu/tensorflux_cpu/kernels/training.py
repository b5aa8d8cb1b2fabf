"""Fused optimizer kernels. Ref inputs arrive as VariableSlots.

Each kernel computes fresh arrays and stores them with ``VariableSlot.assign``; it never writes into
the current array, which a fetched result or another op's input may still hold.
"""

from __future__ import annotations

import contextlib

import numpy as np

from tensorflux.extend import FLOATING


def _store(slot, value):
    value = np.asarray(value, dtype=slot.dtype.np_dtype)
    if value.base is None:
        value.setflags(write=False)  # a fresh result: assign keeps it as is instead of copying it
    return slot.assign(value)


def _locked(slot, use_locking):
    return slot.lock if use_locking else contextlib.nullcontext()


def apply_gradient_descent(var, alpha, delta, *, use_locking):
    with _locked(var, use_locking):
        return _store(var, var.read() - alpha * delta)


def apply_momentum(var, accum, lr, grad, momentum, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        a = _store(accum, accum.read() * momentum + grad)
        step = grad * lr + a * momentum * lr if use_nesterov else a * lr
        return _store(var, var.read() - step)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
        m_t = _store(m, m.read() + (grad - m.read()) * (1 - beta1))
        v_t = _store(v, v.read() + (grad * grad - v.read()) * (1 - beta2))
        direction = m_t * beta1 + grad * (1 - beta1) if use_nesterov else m_t
        return _store(var, var.read() - lr_t * direction / (np.sqrt(v_t) + epsilon))


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
