"""Fused optimizer updates: one launch per variable computes the new variable and slot values.

Each kernel writes fresh buffers and stores them with ``VariableSlot.assign`` (never into the current
buffers, which a constant or another op's input may share). Scalars such as the learning rate stay on
the device and are read by the kernel, so an update never waits for the host.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..device import ctype
from ._common import i32, launch_1d


def _source(dtype: np.dtype) -> str:
    t = ctype(dtype)
    g = "int n) { int i = get_global_id(0); if (i >= n) return; T gi = g[i];"
    return f"""
typedef {t} T;
typedef __global const T* in_t;
__kernel void sgd(__global T* nv, in_t v, in_t alpha, in_t g, {g}
  nv[i] = v[i] - alpha[0] * gi; }}
__kernel void momentum(__global T* nv, __global T* na, in_t v, in_t a, in_t lr, in_t g, in_t mom, int nesterov, {g}
  T a1 = a[i] * mom[0] + gi; na[i] = a1;
  nv[i] = v[i] - (nesterov ? gi * lr[0] + a1 * mom[0] * lr[0] : a1 * lr[0]); }}
__kernel void adam(__global T* nv, __global T* nm, __global T* nvv, in_t v, in_t m, in_t vv, in_t b1p, in_t b2p,
                   in_t lr, in_t b1, in_t b2, in_t eps, in_t g, int nesterov, {g}
  T lr_t = lr[0] * sqrt((T)1 - b2p[0]) / ((T)1 - b1p[0]);
  T m1 = m[i] + (gi - m[i]) * ((T)1 - b1[0]); T v1 = vv[i] + (gi * gi - vv[i]) * ((T)1 - b2[0]);
  nm[i] = m1; nvv[i] = v1;
  T dir = nesterov ? m1 * b1[0] + gi * ((T)1 - b1[0]) : m1;
  nv[i] = v[i] - lr_t * dir / (sqrt(v1) + eps[0]); }}
__kernel void adagrad(__global T* nv, __global T* na, in_t v, in_t a, in_t lr, in_t g, int update, {g}
  T a1 = update ? a[i] + gi * gi : a[i]; na[i] = a1; nv[i] = v[i] - lr[0] * gi / sqrt(a1); }}
__kernel void rmsprop(__global T* nv, __global T* nms, __global T* nmom, in_t v, in_t ms, in_t mom, in_t lr,
                      in_t rho, in_t momentum, in_t eps, in_t g, {g}
  T ms1 = ms[i] + (gi * gi - ms[i]) * ((T)1 - rho[0]);
  T mom1 = mom[i] * momentum[0] + lr[0] * gi / sqrt(ms1 + eps[0]);
  nms[i] = ms1; nmom[i] = mom1; nv[i] = v[i] - mom1; }}
__kernel void centered_rmsprop(__global T* nv, __global T* nmg, __global T* nms, __global T* nmom, in_t v, in_t mg,
                               in_t ms, in_t mom, in_t lr, in_t rho, in_t momentum, in_t eps, in_t g, {g}
  T mg1 = mg[i] + (gi - mg[i]) * ((T)1 - rho[0]);
  T ms1 = ms[i] + (gi * gi - ms[i]) * ((T)1 - rho[0]);
  T mom1 = mom[i] * momentum[0] + lr[0] * gi / sqrt(ms1 - mg1 * mg1 + eps[0]);
  nmg[i] = mg1; nms[i] = ms1; nmom[i] = mom1; nv[i] = v[i] - mom1; }}
"""


def _locked(slot, use_locking):
    return slot.lock if use_locking else contextlib.nullcontext()


def _update(kernel: str, var, slots: list, scalars: list, grad, flag=None):
    """Run ``kernel`` over ``var``'s elements and store the fresh values in ``var`` and ``slots``."""
    x = var.read()
    if x.shape != grad.shape:
        raise ValueError(f"{kernel}: gradient of shape {list(grad.shape)} does not match variable '{var.name}' of "
                         f"shape {list(x.shape)}")
    dev = x.device
    olds = [s.read() for s in slots]
    fresh = [dev.empty(x.shape, x.dtype) for _ in range(1 + len(slots))]
    prog = dev.kernels(("training", x.dtype), lambda: _source(x.dtype))
    args = [f.buffer for f in fresh] + [a.buffer for a in [x] + olds + scalars + [grad]]
    args += ([] if flag is None else [i32(flag)]) + [i32(x.size)]
    launch_1d(dev, getattr(prog, kernel), x.size, *args)
    for slot, value in zip(slots, fresh[1:]):
        slot.assign(value)
    return var.assign(fresh[0])


def apply_gradient_descent(var, alpha, delta, *, use_locking):
    with _locked(var, use_locking):
        return _update("sgd", var, [], [alpha], delta)


def apply_momentum(var, accum, lr, grad, momentum, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        x = var.read()
        a = accum.read()
        dev = x.device
        nv, na = dev.empty(x.shape, x.dtype), dev.empty(x.shape, x.dtype)
        prog = dev.kernels(("training", x.dtype), lambda: _source(x.dtype))
        launch_1d(dev, prog.momentum, x.size, nv.buffer, na.buffer, x.buffer, a.buffer, lr.buffer, grad.buffer,
                  momentum.buffer, i32(use_nesterov), i32(x.size))
        accum.assign(na)
        return var.assign(nv)


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, *, use_locking, use_nesterov):
    with _locked(var, use_locking):
        return _update("adam", var, [m, v], [beta1_power, beta2_power, lr, beta1, beta2, epsilon], grad,
                       flag=use_nesterov)


def apply_adagrad(var, accum, lr, grad, *, use_locking, update_slots):
    with _locked(var, use_locking):
        return _update("adagrad", var, [accum], [lr], grad, flag=update_slots)


def apply_rms_prop(var, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    with _locked(var, use_locking):
        return _update("rmsprop", var, [ms, mom], [lr, rho, momentum, epsilon], grad)


def apply_centered_rms_prop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, *, use_locking):
    with _locked(var, use_locking):
        return _update("centered_rmsprop", var, [mg, ms, mom], [lr, rho, momentum, epsilon], grad)


KERNELS = {
    "ApplyGradientDescent": apply_gradient_descent, "ApplyMomentum": apply_momentum, "ApplyAdam": apply_adam,
    "ApplyAdagrad": apply_adagrad, "ApplyRMSProp": apply_rms_prop, "ApplyCenteredRMSProp": apply_centered_rms_prop,
}


def register(registrar, dtypes: dict) -> None:
    """The fused updates for float dtypes."""
    registrar.kernels("opencl", KERNELS, dtypes=dtypes["f"])
