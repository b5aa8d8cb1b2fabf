"""Elementwise special functions: trigonometric and hyperbolic, expm1, erf/erfc, lgamma/digamma/polygamma/zeta,
the float classifiers (IsNan, IsInf, IsFinite) and the Selu and Softsign activations, as TF 1.x.

Each op's definition, gradient and Python wrapper are here; the binary ones (Atan2, Xlogy, DivNoNan...) and
composites (``reduce_logsumexp``, ``log_sigmoid``) are in :mod:`binary_math_ops`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes as dt
from ..graph import Tensor
from ..op_builder import apply_op, convert_to_tensor
from . import array_ops
from .common import broadcast_shape, define, gradient, same_shape
from .math_ops import add, divide, exp, less, multiply, negative, reciprocal, rsqrt, sign, square, subtract

FLOAT = dt.FLOATING
_UNARY = ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Expm1", "Erf",
          "Erfc", "Lgamma", "Digamma")
for _name in _UNARY:
    define(_name, ["x: T"], ["y: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
for _name in ("IsNan", "IsInf", "IsFinite"):
    define(_name, ["x: T"], ["y: bool"], {"T": ("type", None, FLOAT)}, shape=same_shape, differentiable=False)
for _name in ("Selu", "Softsign"):
    define(_name, ["features: T"], ["activations: T"], {"T": ("type", None, FLOAT)}, shape=same_shape)
# TF computes these two in float32 and float64 only.
define("Polygamma", ["a: T", "x: T"], ["z: T"], {"T": ("type", None, (dt.float32, dt.float64))}, shape=broadcast_shape)
define("Zeta", ["x: T", "q: T"], ["z: T"], {"T": ("type", None, (dt.float32, dt.float64))}, shape=broadcast_shape)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _like(t: Tensor, value: float) -> np.ndarray:
    return np.array(value, dtype=t.dtype.np_dtype)


def _one_minus_square(x: Tensor) -> Tensor:
    return subtract(_like(x, 1.0), square(x))


def _softsign_grad(x: Tensor, y: Tensor, g: Tensor) -> Tensor:
    return divide(g, square(add(_like(x, 1.0), multiply(sign(x), x))))


def _selu_grad(x: Tensor, y: Tensor, g: Tensor) -> Tensor:
    negative_side = multiply(g, add(y, _like(y, SELU_SCALE * SELU_ALPHA)))
    return array_ops.where(less(y, _like(y, 0.0)), negative_side, multiply(g, _like(y, SELU_SCALE)))


# Each rule gives dy/dx * g from the input x, the output y and the output gradient g (TF's formulas).
_GRADS = {
    "Sin": lambda x, y, g: multiply(g, cos(x)),
    "Cos": lambda x, y, g: negative(multiply(g, sin(x))),
    "Tan": lambda x, y, g: multiply(g, square(reciprocal(cos(x)))),
    "Asin": lambda x, y, g: multiply(g, rsqrt(_one_minus_square(x))),
    "Acos": lambda x, y, g: negative(multiply(g, rsqrt(_one_minus_square(x)))),
    "Atan": lambda x, y, g: multiply(g, reciprocal(add(_like(x, 1.0), square(x)))),
    "Sinh": lambda x, y, g: multiply(g, cosh(x)),
    "Cosh": lambda x, y, g: multiply(g, sinh(x)),
    "Asinh": lambda x, y, g: divide(g, cosh(y)),
    "Acosh": lambda x, y, g: divide(g, sinh(y)),
    "Atanh": lambda x, y, g: multiply(g, reciprocal(_one_minus_square(x))),
    "Expm1": lambda x, y, g: multiply(g, exp(x)),
    "Erf": lambda x, y, g: multiply(g, multiply(_like(x, 2 / math.sqrt(math.pi)), exp(negative(square(x))))),
    "Erfc": lambda x, y, g: multiply(g, multiply(_like(x, -2 / math.sqrt(math.pi)), exp(negative(square(x))))),
    "Lgamma": lambda x, y, g: multiply(g, digamma(x)),
    "Digamma": lambda x, y, g: multiply(g, polygamma(array_ops.ones_like(x), x)),
    "Softsign": _softsign_grad,
    "Selu": _selu_grad,
}


def _unary_gradient(rule: Any) -> Any:
    def grad_fn(op: Any, grad: Tensor) -> list:
        return [rule(op.inputs[0], op.outputs[0], grad)]

    return grad_fn


for _name, _rule in _GRADS.items():
    gradient(_name)(_unary_gradient(_rule))


@gradient("Polygamma")
def _polygamma_grad(op: Any, grad: Tensor) -> list:
    # d/dx psi^(n)(x) = psi^(n+1)(x); the order n is not differentiable (TF gives it no gradient either).
    from .math_ops import unbroadcast

    a, x = op.inputs
    return [None, unbroadcast(multiply(grad, polygamma(add(a, _like(a, 1.0)), x)), x, a)]


@gradient("Zeta")
def _zeta_grad(op: Any, grad: Tensor) -> list:
    # d/dq zeta(x, q) = -x zeta(x + 1, q); TF leaves x without a gradient.
    from .math_ops import unbroadcast

    x, q = op.inputs
    partial_q = negative(multiply(x, zeta(add(x, _like(x, 1.0)), q)))
    return [None, unbroadcast(multiply(grad, partial_q), q, x)]


# -- Python wrappers ----------------------------------------------------------------------------------------
def _unary(op_type: str, py_name: str, example: str, result: str, arg: str = "x", module: str = "math") -> Any:
    def wrapper(x: Any, name: str | None = None) -> Tensor:
        return apply_op(op_type, x, name=name or op_type)[0]

    wrapper.__name__ = wrapper.__qualname__ = py_name
    wrapper.__doc__ = (f"Elementwise ``{py_name}`` (op ``{op_type}``); the argument is TF's ``{arg}``.\n\n"
                       f"    Example:\n        >>> import tensorflux as tf\n"
                       f"        >>> tf.Session().run(tf.{module}.{py_name}({example}))\n        {result}\n")
    return wrapper


sin = _unary("Sin", "sin", "[0.0]", "array([0.], dtype=float32)")
cos = _unary("Cos", "cos", "[0.0]", "array([1.], dtype=float32)")
tan = _unary("Tan", "tan", "[0.0]", "array([0.], dtype=float32)")
asin = _unary("Asin", "asin", "[0.0]", "array([0.], dtype=float32)")
acos = _unary("Acos", "acos", "[1.0]", "array([0.], dtype=float32)")
atan = _unary("Atan", "atan", "[0.0]", "array([0.], dtype=float32)")
sinh = _unary("Sinh", "sinh", "[0.0]", "array([0.], dtype=float32)")
cosh = _unary("Cosh", "cosh", "[0.0]", "array([1.], dtype=float32)")
asinh = _unary("Asinh", "asinh", "[0.0]", "array([0.], dtype=float32)")
acosh = _unary("Acosh", "acosh", "[1.0]", "array([0.], dtype=float32)")
atanh = _unary("Atanh", "atanh", "[0.0]", "array([0.], dtype=float32)")
expm1 = _unary("Expm1", "expm1", "[0.0]", "array([0.], dtype=float32)")
erf = _unary("Erf", "erf", "[0.0]", "array([0.], dtype=float32)")
erfc = _unary("Erfc", "erfc", "[0.0]", "array([1.], dtype=float32)")
lgamma = _unary("Lgamma", "lgamma", "[1.0, 3.0]", "array([0.       , 0.6931472], dtype=float32)")
digamma = _unary("Digamma", "digamma", "[1.0]", "array([-0.5772157], dtype=float32)")
is_nan = _unary("IsNan", "is_nan", "[1.0, float('nan')]", "array([False,  True])")
is_inf = _unary("IsInf", "is_inf", "[1.0, float('inf')]", "array([False,  True])")
is_finite = _unary("IsFinite", "is_finite", "[1.0, float('inf')]", "array([ True, False])")
selu = _unary("Selu", "selu", "[0.0, 1.0]", "array([0.      , 1.050701], dtype=float32)", arg="features",
              module="nn")
softsign = _unary("Softsign", "softsign", "[-1.0, 3.0]", "array([-0.5 ,  0.75], dtype=float32)",
                  arg="features", module="nn")


def polygamma(a: Any, x: Any, name: str | None = None) -> Tensor:
    """The polygamma function psi^(a)(x), the a-th derivative of digamma; ``a`` must hold non-negative integers
    (of x's float dtype), else the result is NaN.

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.math.polygamma(1.0, [1.0]))  # pi**2 / 6
        array([1.644934], dtype=float32)
    """
    x = convert_to_tensor(x)
    return apply_op("Polygamma", convert_to_tensor(a, dtype=x.dtype), x, name=name or "Polygamma")[0]


def zeta(x: Any, q: Any, name: str | None = None) -> Tensor:
    """The Hurwitz zeta function: the sum over k >= 0 of (q + k) ** -x (NaN for x < 1, inf at x = 1).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.math.zeta(2.0, [1.0]))
        array([1.644934], dtype=float32)
    """
    q = convert_to_tensor(q)
    return apply_op("Zeta", convert_to_tensor(x, dtype=q.dtype), q, name=name or "Zeta")[0]


def swish(features: Any, name: str | None = None) -> Tensor:
    """``features * sigmoid(features)`` (TF's ``tf.nn.swish``).

    Example:
        >>> import tensorflux as tf
        >>> tf.Session().run(tf.nn.swish([0.0, 1.0]))
        array([0.       , 0.7310586], dtype=float32)
    """
    from ..graph import name_scope

    with name_scope(name or "swish"):
        x = convert_to_tensor(features, name="features")
        return multiply(x, apply_op("Sigmoid", x)[0])
