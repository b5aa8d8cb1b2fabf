"""Every differentiable core op's symbolic gradient against numeric differences, at float64.

One table drives it: op type -> cases (a builder over float64 placeholders, the input shapes and how
to draw inputs). Each op runs with several shapes, broadcasting included, and with placeholders of
unknown shape so the gradients' dynamic-shape paths run too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

import tensorflux as tf
from tensorflux._internal.gradients import gradient_function
from tensorflux._internal.ops.common import CORE_OPS

DELTA = 1e-6
TOLERANCE = 1e-6


@dataclass
class Case:
    build: Callable
    shapes: list
    draw: str = "any"  # any: [-2, 2]; pos: [0.5, 2]; distinct: no ties, |v| >= 0.3
    dynamic: bool = False  # placeholders of unknown dimensions
    feeds: dict = field(default_factory=dict)  # extra int placeholders: name -> value
    values: list | None = None
    delta: float = DELTA
    tolerance: float = TOLERANCE


def draw(kind: str, shapes: list, rng: np.random.Generator) -> list:
    """Inputs for every placeholder of a case; 'distinct' values differ across all inputs (no ties)."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    if kind == "pos":
        flat = rng.uniform(0.5, 2.0, sum(sizes))
    elif kind == "distinct":
        flat = (0.3 + 0.25 * rng.permutation(sum(sizes))) * rng.choice([-1.0, 1.0], sum(sizes))
    else:
        flat = rng.uniform(-2.0, 2.0, sum(sizes))
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return [p.reshape(s) for p, s in zip(parts, shapes)]


def binary_cases(fn: Callable, draw_kind: str = "any") -> list:
    return [
        Case(fn, [[2, 3], [2, 3]], draw_kind),
        Case(fn, [[2, 3], [3]], draw_kind),
        Case(fn, [[2, 1], [1, 3]], draw_kind),
        Case(fn, [[], [2, 3]], draw_kind),
        Case(fn, [[4, 1, 2], [3, 1]], draw_kind),
        Case(fn, [[2, 3], [3]], draw_kind, dynamic=True),
        Case(fn, [[2, 1], [2, 3]], draw_kind, dynamic=True),
    ]


def unary_cases(fn: Callable, draw_kind: str = "any") -> list:
    return [Case(fn, [[2, 3]], draw_kind), Case(fn, [[]], draw_kind), Case(fn, [[3, 1, 2]], draw_kind, dynamic=True)]


def reduction_cases(fn: Callable, draw_kind: str = "any") -> list:
    return [
        Case(lambda x: fn(x), [[2, 3]], draw_kind),
        Case(lambda x: fn(x, axis=0), [[2, 3]], draw_kind),
        Case(lambda x: fn(x, axis=[-1], keepdims=True), [[2, 3]], draw_kind),
        Case(lambda x: fn(x, axis=[0, 2]), [[2, 2, 3]], draw_kind),
        Case(lambda x: fn(x, axis=1), [[3, 2]], draw_kind, dynamic=True),
        Case(lambda x, axes: fn(x, axis=axes), [[2, 3, 2]], draw_kind, feeds={"axes": np.array([0, -1], np.int32)}),
        Case(lambda x, axes: fn(x, axis=axes, keepdims=True), [[2, 3]], draw_kind, dynamic=True,
             feeds={"axes": np.array([1], np.int32)}),
    ]


def _fmod_values(rng: np.random.Generator) -> list:
    # Keep x/y away from integers, where FloorMod jumps.
    y = rng.uniform(0.6, 1.4, [2, 3])
    return [(rng.integers(-3, 3, [2, 3]) + rng.uniform(0.2, 0.8, [2, 3])) * y, y]


def _prod_values_with_zeros() -> list:
    return [np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0], [1.0, -0.5, 2.5]])]


def _pick(i: int, num: int) -> Callable:
    return lambda x: tf.unstack(x, num=num, axis=1)[i] * 2.0


RNG_VALUES = np.random.default_rng(7)


def _uniform_cases(fn: Callable, low: float, high: float) -> list:
    """Unary cases whose inputs stay in (low, high): the domain of asin, atanh, acosh, tan's one branch."""
    return [Case(fn, [[2, 3]], values=[RNG_VALUES.uniform(low, high, [2, 3])]),
            Case(fn, [[3, 1, 2]], values=[RNG_VALUES.uniform(low, high, [3, 1, 2])], dynamic=True)]

TABLE: dict[str, list] = {
    "Sin": unary_cases(tf.sin),
    "Cos": unary_cases(tf.cos),
    "Tan": _uniform_cases(tf.tan, -1.2, 1.2),
    "Asin": _uniform_cases(tf.asin, -0.9, 0.9),
    "Acos": _uniform_cases(tf.acos, -0.9, 0.9),
    "Atan": unary_cases(tf.atan),
    "Sinh": unary_cases(tf.sinh),
    "Cosh": unary_cases(tf.cosh),
    "Asinh": unary_cases(tf.asinh),
    "Acosh": _uniform_cases(tf.acosh, 1.2, 3.0),
    "Atanh": _uniform_cases(tf.atanh, -0.9, 0.9),
    "Expm1": unary_cases(tf.expm1),
    "Erf": unary_cases(tf.erf),
    "Erfc": unary_cases(tf.erfc),
    "Lgamma": unary_cases(tf.lgamma, "pos"),
    "Digamma": unary_cases(tf.digamma, "pos"),
    # Polygamma and Zeta are differentiable in their second argument only, as in TF.
    "Polygamma": [Case(lambda x: tf.polygamma(tf.constant([[1.0, 2.0, 3.0]], tf.float64), x), [[2, 3]], "pos")],
    "Zeta": [Case(lambda q: tf.zeta(tf.constant([[2.0, 3.0, 4.5]], tf.float64), q), [[2, 3]], "pos")],
    "Softsign": unary_cases(tf.nn.softsign),
    "Selu": unary_cases(tf.nn.selu, "distinct"),  # its slope jumps at 0
    "Atan2": binary_cases(tf.atan2, "distinct"),
    "DivNoNan": binary_cases(tf.div_no_nan, "distinct"),
    "Xdivy": binary_cases(tf.math.xdivy, "distinct"),
    "Xlogy": [Case(tf.math.xlogy, [[2, 3], [2, 3]], values=[RNG_VALUES.uniform(-2, 2, [2, 3]),
                                                              RNG_VALUES.uniform(0.5, 2, [2, 3])])],
    "IdentityN": [Case(lambda a, b: tf.identity_n([a, b])[1] * 3.0 + tf.identity_n([a, b])[0], [[2, 3], [2, 3]])],
    "AddV2": binary_cases(tf.add),
    "Sub": binary_cases(tf.subtract),
    "Mul": binary_cases(tf.multiply),
    "RealDiv": binary_cases(tf.divide, "distinct"),
    "FloorMod": [Case(tf.mod, [[2, 3], [2, 3]], values=_fmod_values(RNG_VALUES)),
                 Case(tf.mod, [[2, 3], [2, 3]], values=_fmod_values(RNG_VALUES), dynamic=True)],
    "Pow": binary_cases(tf.pow, "pos") + [Case(lambda x: tf.pow(x, 3.0), [[2, 3]], "distinct")],
    "Maximum": binary_cases(tf.maximum, "distinct"),
    "Minimum": binary_cases(tf.minimum, "distinct"),
    "SquaredDifference": binary_cases(tf.squared_difference),
    "Neg": unary_cases(tf.negative),
    "Abs": unary_cases(tf.abs, "distinct"),
    "Square": unary_cases(tf.square),
    "Sqrt": unary_cases(tf.sqrt, "pos"),
    "Rsqrt": unary_cases(tf.rsqrt, "pos"),
    "Exp": unary_cases(tf.exp),
    "Log": unary_cases(tf.log, "pos"),
    "Log1p": unary_cases(tf.log1p, "pos"),
    "Sign": unary_cases(lambda x: tf.sign(x) * x, "distinct"),
    "Reciprocal": unary_cases(tf.reciprocal, "distinct"),
    # Inputs and step exactly representable in float32, so the round trip through float32 loses nothing.
    "Cast": [Case(lambda x: tf.cast(tf.cast(x, tf.float32), tf.float64) * x, [[2, 3]], delta=2.0 ** -10,
                  values=[np.array([[0.5, -1.25, 2.0], [0.125, -0.75, 1.5]])])],
    "AddN": [Case(lambda a, b, c: tf.add_n([a, b, c, a]), [[2, 3]] * 3),
             Case(lambda a, b: tf.add_n([a, b]), [[2, 3]] * 2, dynamic=True)],
    "MatMul": [Case(lambda a, b, ta=ta, tb=tb: tf.matmul(a, b, transpose_a=ta, transpose_b=tb),
                    [[3, 2] if ta else [2, 3], [4, 3] if tb else [3, 4]], dynamic=dyn)
               for ta in (False, True) for tb in (False, True) for dyn in (False, True)],
    "BatchMatMulV2": [
        Case(tf.matmul, [[2, 2, 3], [2, 3, 4]]),
        Case(tf.matmul, [[2, 2, 3], [3, 4]]),
        Case(tf.matmul, [[2, 3], [2, 2, 3, 4]]),
        Case(tf.matmul, [[1, 2, 3], [3, 3, 2]]),
        Case(lambda a, b: tf.matmul(a, b, adjoint_a=True), [[2, 3, 2], [2, 3, 4]]),
        Case(lambda a, b: tf.matmul(a, b, adjoint_b=True), [[2, 2, 3], [4, 3]]),
        Case(lambda a, b: tf.matmul(a, b, adjoint_a=True, adjoint_b=True), [[2, 3, 2], [2, 4, 3]]),
        Case(tf.matmul, [[1, 2, 3], [2, 3, 2]], dynamic=True),
    ],
    "Sum": reduction_cases(tf.reduce_sum),
    "Mean": reduction_cases(tf.reduce_mean),
    "Max": reduction_cases(tf.reduce_max, "distinct"),
    "Min": reduction_cases(tf.reduce_min, "distinct"),
    "Prod": reduction_cases(tf.reduce_prod, "distinct") + [
        Case(lambda x: tf.reduce_prod(x, axis=1), [[3, 3]], values=_prod_values_with_zeros()),
        Case(lambda x: tf.reduce_prod(x, axis=0), [[3, 3]], values=_prod_values_with_zeros()),
    ],
    "Identity": [Case(tf.identity, [[2, 3]])],
    "PlaceholderWithDefault": [Case(lambda x: tf.placeholder_with_default(x * 1.0, [2, 3]) * x, [[2, 3]])],
    "Fill": [Case(lambda v: tf.fill([2, 3], v) * tf.constant(np.arange(6.0).reshape(2, 3)), [[]])],
    "Reshape": [Case(lambda x: tf.reshape(x, [3, 2]), [[2, 3]]), Case(lambda x: tf.reshape(x, [-1]), [[2, 3]], dynamic=True)],
    "ExpandDims": [Case(lambda x: tf.expand_dims(x, 1), [[2, 3]]), Case(lambda x: tf.expand_dims(x, -1), [[2, 3]], dynamic=True)],
    "Squeeze": [Case(lambda x: tf.squeeze(x, axis=[1]), [[2, 1, 3]]), Case(tf.squeeze, [[1, 3, 1]]),
                Case(lambda x: tf.squeeze(x, axis=[0]), [[1, 3]], dynamic=True)],
    "Transpose": [Case(tf.transpose, [[2, 3]]), Case(lambda x: tf.transpose(x, [1, 2, 0]), [[2, 3, 4]]),
                  Case(lambda x, perm: tf.transpose(x, perm), [[2, 3, 4]], feeds={"perm": np.array([2, 0, 1], np.int32)})],
    "ConcatV2": [Case(lambda a, b: tf.concat([a, b], 0), [[2, 3], [1, 3]]),
                 Case(lambda a, b: tf.concat([a, b, a], -1), [[2, 3], [2, 1]]),
                 Case(lambda a, b: tf.concat([a, b], 1), [[2, 3], [2, 2]], dynamic=True),
                 Case(lambda a, b, axis: tf.concat([a, b], axis), [[2, 3], [2, 2]], feeds={"axis": np.int32(-1)})],
    "Pack": [Case(lambda a, b: tf.stack([a, b]), [[2, 3], [2, 3]]),
             Case(lambda a, b: tf.stack([a, b, a], axis=-1), [[2, 3], [2, 3]], dynamic=True)],
    "Unpack": [Case(_pick(0, 3), [[2, 3]]), Case(lambda x: tf.add_n(tf.unstack(x)), [[3, 2]]),
               Case(_pick(2, 3), [[2, 3, 2]], dynamic=True)],
    "Split": [Case(lambda x: tf.split(x, 2, axis=1)[1] * 3.0, [[2, 4]]),
              Case(lambda x: tf.concat(tf.split(x, 3)[::-1], 1), [[3, 2]], dynamic=True)],
    "SplitV": [Case(lambda x: tf.split(x, [1, 3], axis=1)[1], [[2, 4]]),
               Case(lambda x: tf.split(x, [2, -1], axis=0)[0], [[3, 2]], dynamic=True)],
    "Slice": [Case(lambda x: tf.slice(x, [1, 0], [1, 2]), [[3, 3]]),
              Case(lambda x: tf.slice(x, [0, 1], [-1, 2]), [[2, 4]], dynamic=True),
              Case(lambda x, begin: tf.slice(x, begin, [2, 1]), [[3, 3]], feeds={"begin": np.array([1, 2], np.int32)})],
    "StridedSlice": [
        Case(lambda x: x[1:3], [[4, 2]]),
        Case(lambda x: x[::2], [[5, 2]]),
        Case(lambda x: x[::-1, 1:], [[3, 3]]),
        Case(lambda x: x[:, 1], [[2, 3]]),
        Case(lambda x: x[..., 0], [[2, 2, 3]]),
        Case(lambda x: x[None, 1:, None], [[3, 2]]),
        Case(lambda x: x[-1], [[3, 2]]),
        Case(lambda x: x[1:2, ::-2], [[3, 5]]),
        Case(lambda x: x[4:], [[3, 2]]),
        Case(lambda x: x[:, 1:], [[3, 3]], dynamic=True),
        Case(lambda x: x[::2, 0], [[5, 2]], dynamic=True),
        Case(lambda x, i: x[i], [[3, 2]], feeds={"i": np.int32(1)}),
        Case(lambda x, i: x[:, i:], [[2, 4]], dynamic=True, feeds={"i": np.int32(1)}),
    ],
    "GatherV2": [Case(lambda p: tf.gather(p, [2, 0, 2]), [[3, 2]]),
                 Case(lambda p: tf.gather(p, [[1, 1], [0, 3]], axis=1), [[2, 4, 2]]),
                 Case(lambda p: tf.gather(p, [0, 0, 1], axis=-1), [[2, 3]], dynamic=True),
                 Case(lambda p, idx: tf.gather(p, idx), [[4, 2]], feeds={"idx": np.array([3, 1, 3], np.int32)})],
    "Tile": [Case(lambda x: tf.tile(x, [2, 3]), [[2, 3]]), Case(lambda x: tf.tile(x, [1, 2, 1]), [[2, 1, 3]], dynamic=True),
             Case(lambda x, m: tf.tile(x, m), [[2, 2]], feeds={"m": np.array([3, 1], np.int32)})],
    "Pad": [Case(lambda x: tf.pad(x, [[1, 0], [2, 1]]), [[2, 3]]),
            Case(lambda x: tf.pad(x, [[0, 2], [1, 1]]), [[2, 3]], dynamic=True),
            Case(lambda x, p: tf.pad(x, p), [[2, 2]], feeds={"p": np.array([[1, 0], [0, 2]], np.int32)})],
    "PadV2": [Case(lambda x, v: tf.pad(x, [[1, 1], [0, 2]], constant_values=v) * 1.5, [[2, 3], []]),
              Case(lambda x, v: tf.pad(x, [[0, 1]], constant_values=v), [[3], []], dynamic=True)],
    "MirrorPad": [Case(lambda x: tf.pad(x, [[1, 2], [2, 1]], mode="REFLECT"), [[3, 4]]),
                  Case(lambda x: tf.pad(x, [[2, 1], [0, 3]], mode="SYMMETRIC"), [[3, 4]]),
                  Case(lambda x: tf.pad(x, [[1, 1], [1, 2]], mode="REFLECT"), [[3, 3]], dynamic=True),
                  Case(lambda x, p: tf.pad(x, p, mode="SYMMETRIC"), [[2, 3]],
                       feeds={"p": np.array([[1, 2], [2, 0]], np.int32)})],
    "SelectV2": [
        Case(lambda a, b: tf.where(tf.constant([[True, False, True], [False, False, True]]), a, b), [[2, 3], [2, 3]]),
        Case(lambda a, b: tf.where(tf.constant([True, False, True]), a, b), [[2, 3], [3]]),
        Case(lambda a, b: tf.where(tf.constant([[True], [False]]), a, b), [[3], [2, 1]]),
        Case(lambda a, b: tf.where(a > b, a, b), [[2, 3], [2, 3]], "distinct", dynamic=True),
    ],
}


def _int_placeholder(value: Any) -> Any:
    value = np.asarray(value)
    return tf.placeholder(tf.as_dtype(value.dtype), [None] * value.ndim)


def jacobians(case: Case, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    values = case.values or draw(case.draw, case.shapes, rng)
    with tf.Graph().as_default():
        xs = [tf.placeholder(tf.float64, [None] * len(s) if case.dynamic else s, name=f"x{i}")
              for i, s in enumerate(case.shapes)]
        extra = {name: _int_placeholder(v) for name, v in case.feeds.items()}
        y = case.build(*xs, *extra.values())
        feed = {extra[name]: v for name, v in case.feeds.items()}
        with tf.Session() as sess:
            y_shape = np.shape(sess.run(y, {**feed, **dict(zip(xs, values))}))
            pairs = tf.test.compute_gradient(xs, case.shapes, y, y_shape, x_init_value=values, delta=case.delta,
                                             extra_feed_dict=feed)
            error = tf.test.compute_gradient_error(xs, case.shapes, y, y_shape, x_init_value=values, delta=case.delta,
                                                   extra_feed_dict=feed)
    return pairs, error, values


def explain(op_type: str, case: Case, pairs: list, values: list) -> str:
    lines = [f"{op_type}: gradient mismatch for input shapes {case.shapes} (dynamic={case.dynamic})"]
    for i, ((theoretical, numerical), v) in enumerate(zip(pairs, values)):
        diff = np.abs(theoretical - numerical)
        if diff.size:
            k, j = np.unravel_index(np.argmax(diff), diff.shape)
            lines.append(f"  x{i} = {np.array2string(np.asarray(v), precision=4)}")
            lines.append(f"  worst: d y[{j}] / d x{i}[{k}]: symbolic {theoretical[k, j]:.9g}, numeric {numerical[k, j]:.9g}")
            lines.append(f"  symbolic:\n{theoretical}\n  numeric:\n{numerical}")
    return "\n".join(lines)


CASES = [pytest.param(op, case, id=f"{op}-{i}") for op, cases in TABLE.items() for i, case in enumerate(cases)]


@pytest.mark.parametrize("op_type, case", CASES)
def test_symbolic_gradient_matches_numeric(op_type, case):
    pairs, error, values = jacobians(case, seed=zlib.crc32(op_type.encode()))
    assert error < case.tolerance, explain(op_type, case, pairs, values)


# The op families of the core runtime (and its training ops); other families (nn, conv) test their own.
CORE_FAMILIES = ("math_ops.py", "array_ops.py", "shape_ops.py", "slice_ops.py", "random_ops.py", "state_ops.py",
                 "training_ops.py")


def _needs_gradient(op_def: Any) -> bool:
    return bool(op_def.input_specs) and op_def.differentiable


def _core_family(op_def: Any) -> bool:
    return op_def.source.rsplit(":", 1)[0].endswith(CORE_FAMILIES)


def test_every_differentiable_core_op_has_a_gradient():
    class FakeOp:
        def __init__(self, op_def: Any) -> None:
            self.op_def, self.type, self.name, self.attrs = op_def, op_def.name, op_def.name, {}

    missing = []
    for op_def in CORE_OPS.op_defs:
        if not (_needs_gradient(op_def) and _core_family(op_def)):
            continue
        try:
            gradient_function(FakeOp(op_def))
        except LookupError:
            missing.append(op_def.name)
    assert not missing, f"differentiable core ops without a gradient: {missing}"


def test_every_core_gradient_is_checked_numerically():
    checked = {d.name for d in CORE_OPS.op_defs if _needs_gradient(d) and _core_family(d) and d.grad is not None}
    assert checked - set(TABLE) == set(), f"ops whose gradient is not checked numerically: {sorted(checked - set(TABLE))}"


def test_checker_reports_a_wrong_gradient():
    from tensorflux._internal.plugins import PluginInfo
    from tensorflux.extend import OpDef, Registrar, apply_op

    registrar = Registrar(PluginInfo("test-checker"))
    registrar.op(OpDef("TestCheckerWrongSquare", inputs=["x: T"], outputs=["y: T"], attrs={"T": "type"},
                       shape_fn=lambda op: [op.inputs[0].shape]))
    registrar.kernel("TestCheckerWrongSquare", "cpu", np.square)

    @tf.RegisterGradient("TestCheckerWrongSquare")
    def _wrong(op, grad):
        return [grad * op.inputs[0]]  # should be 2 * x * grad

    try:
        x = tf.placeholder(tf.float64, [3])
        (y,) = apply_op("TestCheckerWrongSquare", x)
        error = tf.test.compute_gradient_error(x, [3], y, [3], x_init_value=[1.0, 2.0, 3.0], delta=1e-6)
        assert error == pytest.approx(3.0, abs=1e-5)
    finally:
        registrar.rollback()


def test_compute_gradient_layout_and_default_session():
    x = tf.placeholder(tf.float64, [2])
    y = tf.stack([x[0] * 3.0, x[0] * x[1], x[1]])
    theoretical, numerical = tf.test.compute_gradient(x, [2], y, [3], x_init_value=[2.0, 5.0], delta=1e-6)
    expected = np.array([[3.0, 5.0, 0.0], [0.0, 2.0, 1.0]])
    np.testing.assert_allclose(theoretical, expected)
    np.testing.assert_allclose(numerical, expected, atol=1e-8)


def test_compute_gradient_of_unconnected_input_is_zero():
    x = tf.placeholder(tf.float64, [2])
    z = tf.placeholder(tf.float64, [2])
    (tx, nx), (tz, nz) = tf.test.compute_gradient([x, z], [[2], [2]], x * 2.0, [2], x_init_value=[[1.0, 2.0], [3.0, 4.0]])
    assert not tz.any() and not nz.any()
    np.testing.assert_allclose(tx, 2 * np.eye(2))
