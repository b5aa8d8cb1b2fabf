"""Optimizer-update reference kernels: each reads the variable and its slots and stores fresh values in them.

Ref inputs arrive as VariableSlots; the other inputs (learning rate, gradient...) are device arrays of
the variable's dtype. The formulas are TF's, as in the cpu plugin's fused kernels.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable


def _locked(slot: Any, use_locking: bool) -> Any:
    return slot.lock if use_locking else contextlib.nullcontext()


def kernels(xp: Any) -> dict[str, Callable]:
    """``{op_name: kernel}`` for the Apply* optimizer updates, computing with the array namespace ``xp``.

    Example:
        >>> import numpy as np
        >>> "ApplyAdam" in kernels(np)
        True
    """

    def store(slot, value):
        # asarray: numpy's arithmetic on 0-d arrays gives scalars, and a variable holds an array
        return slot.assign(xp.asarray(value))

    def apply_gradient_descent(var, alpha, delta, *, use_locking):
        """``var -= alpha * delta``."""
        with _locked(var, use_locking):
            return store(var, var.read() - alpha * delta)

    def apply_momentum(var, accum, lr, grad, momentum, *, use_locking, use_nesterov):
        """``accum = accum * momentum + grad``; ``var -= accum * lr`` (nesterov: ``grad * lr + accum * momentum * lr``)."""
        with _locked(var, use_locking):
            a = store(accum, accum.read() * momentum + grad)
            step = grad * lr + a * momentum * lr if use_nesterov else a * lr
            return store(var, var.read() - step)

    def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking, use_nesterov):
        """``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; m and v move toward grad and grad^2; var steps by m/sqrt(v)."""
        with _locked(var, use_locking):
            lr_t = lr * xp.sqrt(1 - beta2_power) / (1 - beta1_power)
            m_t = store(m, m.read() + (grad - m.read()) * (1 - beta1))
            v_t = store(v, v.read() + (grad * grad - v.read()) * (1 - beta2))
            direction = m_t * beta1 + grad * (1 - beta1) if use_nesterov else m_t
            return store(var, var.read() - lr_t * direction / (xp.sqrt(v_t) + epsilon))

    def apply_adagrad(var, accum, lr, grad, *, use_locking, update_slots):
        """``accum += grad * grad`` (when ``update_slots``); ``var -= lr * grad / sqrt(accum)``."""
        with _locked(var, use_locking):
            a = store(accum, accum.read() + grad * grad) if update_slots else accum.read()
            return store(var, var.read() - lr * grad / xp.sqrt(a))

    def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
        """``ms`` moves toward ``grad^2``; ``mom = mom * momentum + lr * grad / sqrt(ms + epsilon)``; ``var -= mom``."""
        with _locked(var, use_locking):
            ms_t = store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
            mom_t = store(mom, mom.read() * momentum + lr * grad / xp.sqrt(ms_t + epsilon))
            return store(var, var.read() - mom_t)

    def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
        """RMSProp centred by the mean gradient ``mg``: the denominator is ``sqrt(ms - mg^2 + epsilon)``."""
        with _locked(var, use_locking):
            mg_t = store(mg, mg.read() + (grad - mg.read()) * (1 - rho))
            ms_t = store(ms, ms.read() + (grad * grad - ms.read()) * (1 - rho))
            mom_t = store(mom, mom.read() * momentum + lr * grad / xp.sqrt(ms_t - mg_t * mg_t + epsilon))
            return store(var, var.read() - mom_t)

    return {
        "ApplyGradientDescent": apply_gradient_descent, "ApplyMomentum": apply_momentum, "ApplyAdam": apply_adam,
        "ApplyAdagrad": apply_adagrad, "ApplyRMSProp": apply_rms_prop, "ApplyCenteredRMSProp": apply_centered_rms_prop,
    }
