"""Op-info entries of the state ops and the optimizer updates, applied through variables.

In a ``state`` case the first inputs are the initial values of the variables ``fn`` creates; the op
runs twice, and after each run its output and every variable are compared with the reference, which
returns ``(output, *new variable values)`` (TensorFlow's update formulas). ``_MatMulApplyAdam`` is
checked built directly, and as the ``ApplyAdam`` of a ``MatMul`` gradient that the fusion graph pass
rewrites where the device has the fused kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorflux as tf

from .base import BOOL, FLOATING, NUMERIC, OpInfo
from .nn_ops import _op


def _ref(variable: Any) -> Any:
    """The reference (``ref`` dtype) tensor of a variable, which update ops take."""
    return variable.op.outputs[0]


def _variables(*initial: Any) -> list:
    return [tf.Variable(value, name=f"v{i}") for i, value in enumerate(initial)]


def _assign(op: str) -> Any:
    return lambda x, y: _op(op, _ref(_variables(x)[0]), y)


def _is_initialized(x: Any) -> list:
    # The second variable stays out of the global collection, so the global initializer skips it.
    kept, skipped = tf.Variable(x, name="kept"), tf.Variable(x, name="skipped", collections=[])
    return [kept.is_initialized(), skipped.is_initialized()]


ASSIGN_SHAPES = [((2, 3), (2, 3)), ((), ()), ((0,), (0,))]
ASSIGN = [
    OpInfo("Assign", _assign("Assign"), lambda x, y: (y, y), dtypes=NUMERIC + BOOL, shapes=ASSIGN_SHAPES,
           kind="state", domain="distinct", differentiable=False),
    OpInfo("AssignAdd", _assign("AssignAdd"), lambda x, y: (x + y, x + y), shapes=ASSIGN_SHAPES, kind="state",
           differentiable=False),
    OpInfo("AssignSub", _assign("AssignSub"), lambda x, y: (x - y, x - y), shapes=ASSIGN_SHAPES, kind="state",
           differentiable=False),
    OpInfo("IsVariableInitialized", _is_initialized, lambda x: ([np.bool_(True), np.bool_(False)], x),
           dtypes=NUMERIC + BOOL, shapes=[(2, 3), ()], kind="state", differentiable=False),
]


def _apply(op: str, slots: int) -> Any:
    """Build ``op`` on new variables (the first ``slots`` inputs: the variable and its slots) and the rest."""
    def build(*inputs: Any, **attrs: Any) -> Any:
        refs = [_ref(v) for v in _variables(*inputs[:slots])]
        return _op(op, *refs, *inputs[slots:], **attrs)

    return build


def _np_gradient_descent(var: np.ndarray, alpha: np.ndarray, delta: np.ndarray) -> tuple:
    new = var - alpha * delta
    return new, new


def _np_momentum(var: np.ndarray, accum: np.ndarray, lr: np.ndarray, grad: np.ndarray, momentum: np.ndarray,
                 use_nesterov: bool) -> tuple:
    accum = accum * momentum + grad
    var = var - (grad * lr + accum * momentum * lr if use_nesterov else accum * lr)
    return var, var, accum


def np_adam(var: np.ndarray, m: np.ndarray, v: np.ndarray, beta1_power: np.ndarray, beta2_power: np.ndarray,
            lr: np.ndarray, beta1: np.ndarray, beta2: np.ndarray, epsilon: np.ndarray, grad: np.ndarray,
            use_nesterov: bool = False) -> tuple:
    """TensorFlow's ApplyAdam: ``(new var, new var, new m, new v)``.

    Example:
        >>> import numpy as np
        >>> var, _, m, v = np_adam(np.ones(1), np.zeros(1), np.zeros(1), 0.9, 0.999, 0.1, 0.9, 0.999, 1e-8, np.ones(1))
        >>> round(float(var[0]), 6), round(float(m[0]), 6)
        (0.9, 0.1)
    """
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m = m + (grad - m) * (1 - beta1)
    v = v + (grad * grad - v) * (1 - beta2)
    direction = m * beta1 + grad * (1 - beta1) if use_nesterov else m
    var = var - lr_t * direction / (np.sqrt(v) + epsilon)
    return var, var, m, v


def _np_adagrad(var: np.ndarray, accum: np.ndarray, lr: np.ndarray, grad: np.ndarray, update_slots: bool) -> tuple:
    if update_slots:
        accum = accum + grad * grad
    var = var - lr * grad / np.sqrt(accum)
    return var, var, accum


def _np_rms_prop(var: np.ndarray, ms: np.ndarray, mom: np.ndarray, lr: np.ndarray, rho: np.ndarray,
                 momentum: np.ndarray, epsilon: np.ndarray, grad: np.ndarray) -> tuple:
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + lr * grad / np.sqrt(ms + epsilon)
    var = var - mom
    return var, var, ms, mom


def _np_centered_rms_prop(var: np.ndarray, mg: np.ndarray, ms: np.ndarray, mom: np.ndarray, lr: np.ndarray,
                          rho: np.ndarray, momentum: np.ndarray, epsilon: np.ndarray, grad: np.ndarray) -> tuple:
    mg = mg + (grad - mg) * (1 - rho)
    ms = ms + (grad * grad - ms) * (1 - rho)
    mom = mom * momentum + lr * grad / np.sqrt(ms - mg * mg + epsilon)
    var = var - mom
    return var, var, mg, ms, mom


def _shapes(variables: int, scalars: int, tensors: int, shape: tuple = (2, 3)) -> list:
    """Cases of ``variables`` shaped inputs, ``scalars`` hyperparameters, then ``tensors`` gradients."""
    return [(shape,) * variables + ((),) * scalars + (shape,) * tensors for shape in (shape, (4,), ())]


# Domains keep every formula defined: second moments positive, decay rates and powers in (0, 1), and a
# centred mean square above the squared mean gradient (so ms - mg * mg stays positive).
APPLY = [
    OpInfo("ApplyGradientDescent", _apply("ApplyGradientDescent", 1), _np_gradient_descent, dtypes=FLOATING,
           kind="state", shapes=_shapes(1, 1, 1), domain=("any", "unit", "any"), differentiable=False),
    OpInfo("ApplyMomentum", _apply("ApplyMomentum", 2), _np_momentum, dtypes=FLOATING, kind="state",
           shapes=[s[:3] + (s[3], ()) for s in _shapes(2, 1, 1)], domain=("any", "any", "unit", "any", "unit"),
           attrs=[{"use_nesterov": False}, {"use_nesterov": True}], differentiable=False),
    OpInfo("ApplyAdam", _apply("ApplyAdam", 3), np_adam, dtypes=FLOATING, kind="state", shapes=_shapes(3, 6, 1),
           domain=("any", "any", "positive") + ("unit",) * 6 + ("any",),
           attrs=[{"use_nesterov": False}, {"use_nesterov": True}], differentiable=False),
    OpInfo("ApplyAdagrad", _apply("ApplyAdagrad", 2), _np_adagrad, dtypes=FLOATING, kind="state",
           shapes=_shapes(2, 1, 1), domain=("any", "positive", "unit", "any"),
           attrs=[{"update_slots": True}, {"update_slots": False}], differentiable=False),
    OpInfo("ApplyRMSProp", _apply("ApplyRMSProp", 3), _np_rms_prop, dtypes=FLOATING, kind="state",
           shapes=_shapes(3, 4, 1), domain=("any", "positive", "any") + ("unit",) * 4 + ("any",),
           differentiable=False),
    OpInfo("ApplyCenteredRMSProp", _apply("ApplyCenteredRMSProp", 4), _np_centered_rms_prop, dtypes=FLOATING,
           kind="state", shapes=_shapes(4, 4, 1), domain=("any", "unit", "one-two", "any") + ("unit",) * 4 + ("any",),
           differentiable=False),
]


def _matmul_apply_adam(*inputs: Any, transpose_a: bool, transpose_b: bool, use_nesterov: bool) -> Any:
    refs = [_ref(v) for v in _variables(*inputs[:3])]
    return _op("_MatMulApplyAdam", *refs, *inputs[3:], transpose_a=transpose_a, transpose_b=transpose_b,
               use_nesterov=use_nesterov)


def _adam_of_matmul(*inputs: Any, transpose_a: bool, transpose_b: bool, use_nesterov: bool) -> Any:
    """ApplyAdam whose gradient is a MatMul nothing else reads: the graph the fusion pass rewrites."""
    refs = [_ref(v) for v in _variables(*inputs[:3])]
    grad = tf.matmul(inputs[9], inputs[10], transpose_a=transpose_a, transpose_b=transpose_b)
    return _op("ApplyAdam", *refs, *inputs[3:9], grad, use_nesterov=use_nesterov)


def _np_matmul_apply_adam(*inputs: np.ndarray, transpose_a: bool, transpose_b: bool, use_nesterov: bool) -> tuple:
    a, b = inputs[9], inputs[10]
    grad = (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    return np_adam(*inputs[:9], grad, use_nesterov=use_nesterov)


_PRODUCTS = [  # (a, b) of a [3, 4] gradient, per (transpose_a, transpose_b)
    ((3, 5), (5, 4), False, False), ((5, 3), (5, 4), True, False), ((3, 5), (4, 5), False, True),
    ((5, 3), (4, 5), True, True),
]
FUSED_ADAM = [
    OpInfo("_MatMulApplyAdam", build, _np_matmul_apply_adam, dtypes=FLOATING, kind="state", variant=variant,
           shapes=[((3, 4),) * 3 + ((),) * 6 + (a, b)],
           domain=("any", "any", "positive") + ("unit",) * 6 + ("any",) * 2,
           attrs=[{"transpose_a": ta, "transpose_b": tb, "use_nesterov": n} for n in (False, True)],
           differentiable=False)
    for build, label in ((_matmul_apply_adam, ""), (_adam_of_matmul, "graph pass"))
    for a, b, ta, tb in _PRODUCTS
    for variant in [",".join(filter(None, [label, f"{'T' if ta else 'N'}{'T' if tb else 'N'}"]))]
]

INFOS = ASSIGN + APPLY + FUSED_ADAM

__all__ = ["INFOS", "np_adam"]
