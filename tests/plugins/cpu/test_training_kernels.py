"""The cpu plugin's fused optimizer kernels: TF's formulas, and arrays that someone else holds are never written."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import VariableSlot, kernels_for_device
from tensorflux_cpu.device import CpuDevice
from tensorflux_cpu.kernels import _loops, training

FUSED = ("ApplyGradientDescent", "ApplyMomentum", "ApplyAdam", "ApplyAdagrad", "ApplyRMSProp", "ApplyCenteredRMSProp")


def slot(name, value):
    s = VariableSlot(name, tf.float64, tf.TensorShape([2]), CpuDevice(0))
    s.assign(np.array(value, dtype=np.float64))
    return s


def test_every_fused_op_has_a_cpu_kernel_for_every_float_dtype():
    registered = {(k.op, d) for k in kernels_for_device("cpu") if k.op in FUSED for d in k.dtypes}
    assert registered == {(op, d) for op in FUSED for d in (tf.float16, tf.bfloat16, tf.float32, tf.float64)}


@pytest.mark.parametrize("use_locking", [False, True])
def test_momentum_kernel_replaces_the_arrays_it_updates(use_locking):
    var, accum = slot("w", [1.0, 2.0]), slot("w/Momentum", [0.5, 0.5])
    old_var, old_accum = var.read(), accum.read()
    out = training.apply_momentum(var, accum, np.float64(0.1), np.array([1.0, -1.0]), np.float64(0.9),
                                  use_locking=use_locking, use_nesterov=False)
    np.testing.assert_allclose(accum.read(), [1.45, -0.55])
    np.testing.assert_allclose(var.read(), [1.0 - 0.145, 2.0 + 0.055])
    assert out is var.read()
    np.testing.assert_array_equal(old_var, [1.0, 2.0])  # a reader holding the old value still sees it
    np.testing.assert_array_equal(old_accum, [0.5, 0.5])
    assert not var.read().flags.writeable and not accum.read().flags.writeable


def test_adam_kernel_in_float32_keeps_the_dtype():
    var = VariableSlot("w", tf.float32, tf.TensorShape([2]), CpuDevice(0))
    var.assign(np.ones(2, np.float32))
    m = VariableSlot("m", tf.float32, tf.TensorShape([2]), CpuDevice(0))
    m.assign(np.zeros(2, np.float32))
    v = VariableSlot("v", tf.float32, tf.TensorShape([2]), CpuDevice(0))
    v.assign(np.zeros(2, np.float32))
    f = np.float32
    training.apply_adam(var, m, v, f(0.9), f(0.999), f(0.1), f(0.9), f(0.999), f(1e-8), np.ones(2, np.float32),
                        use_locking=False, use_nesterov=False)
    assert var.read().dtype == np.float32 and m.read().dtype == np.float32
    np.testing.assert_allclose(var.read(), [0.9, 0.9], rtol=1e-5)


# -- the compiled float32/float64 paths of ApplyGradientDescent and ApplyAdam ------------------------------
def make(name, value):
    value = np.asarray(value)
    s = VariableSlot(name, tf.as_dtype(value.dtype), tf.TensorShape(list(value.shape)), CpuDevice(0))
    s.assign(value)
    return s


def adam_reference(w, m, v, g, lr, beta1, beta2, epsilon, beta1_power, beta2_power, nesterov):
    """TF's Adam formula, in float64."""
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    d = m * beta1 + g * (1 - beta1) if nesterov else m
    return w - lr_t * d / (np.sqrt(v) + epsilon), m, v


def adam_inputs(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    w, m, g = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    return w, m * 0.1, rng.random(shape).astype(dtype) * 0.01, g


def run_adam(w, m, v, g, nesterov, steps=2, scalar=np.asarray):
    dt = w.dtype.type
    var, ms, vs = make("w", w), make("w/Adam", m), make("w/Adam_1", v)
    for t in range(1, steps + 1):
        training.apply_adam(var, ms, vs, scalar(dt(0.9 ** t)), scalar(dt(0.999 ** t)), scalar(dt(0.01)), scalar(dt(0.9)),
                            scalar(dt(0.999)), scalar(dt(1e-7)), g, use_locking=False, use_nesterov=nesterov)
    return var, ms, vs


@pytest.fixture(params=["serial", "split"])
def splitting(request, monkeypatch):
    if request.param == "split":
        monkeypatch.setattr(_loops, "PARALLEL_WORK", 1)
    return request.param


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("shape", [(7,), (33, 65), ()])
def test_compiled_adam_in_float64_matches_the_formula(shape, nesterov, splitting):
    w, m, v, g = adam_inputs(np.float64, shape)
    ww, mm, vv = w, m, v
    for t in (1, 2):
        ww, mm, vv = adam_reference(ww, mm, vv, g, 0.01, 0.9, 0.999, 1e-7, 0.9 ** t, 0.999 ** t, nesterov)
    var, ms, vs = run_adam(w, m, v, g, nesterov, scalar=np.float64)
    for got, want in ((var, ww), (ms, mm), (vs, vv)):
        np.testing.assert_allclose(got.read(), want, rtol=1e-14, atol=1e-15)
        assert not got.read().flags.writeable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [False, True])
def test_compiled_adam_equals_the_numpy_path_bit_for_bit(dtype, nesterov, splitting, monkeypatch):
    inputs = adam_inputs(dtype, (301, 7))
    fast = [s.read() for s in run_adam(*inputs, nesterov)]
    monkeypatch.setattr(training, "_FAST", ())
    slow = [s.read() for s in run_adam(*inputs, nesterov)]
    for a, b in zip(fast, slow):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_compiled_adam_updates_in_place_only_what_nobody_else_holds(splitting):
    w, m, v, g = adam_inputs(np.float32, (50, 40))
    slots = run_adam(w, m, v, g, False, steps=1)
    scalars = [np.float32(x) for x in (0.81, 0.998, 0.01, 0.9, 0.999, 1e-7)]

    def step(targets, grad):
        training.apply_adam(*targets, *scalars, grad, use_locking=False, use_nesterov=False)

    refs = [weakref.ref(s.read()) for s in slots]
    step(slots, g)
    assert all(r() is s.read() for r, s in zip(refs, slots))  # nobody held them: updated in place
    held = slots[0].read()  # a reader of the variable: its array must not change
    before = [s.read().copy() for s in slots]
    m_ref = weakref.ref(slots[1].read())
    step(slots, np.asfortranarray(g))  # and a non-contiguous gradient
    np.testing.assert_array_equal(held, before[0])
    assert slots[0].read() is not held and m_ref() is not slots[1].read()  # all three went to fresh arrays
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "_FAST", ())
        expected = [make(s.name, b) for s, b in zip(slots, before)]
        step(expected, g)
    for got, want in zip(slots, expected):
        np.testing.assert_array_equal(got.read(), want.read())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9,), (784, 13), ()])
def test_gradient_descent_matches_the_formula(dtype, shape, splitting):
    rng = np.random.default_rng(1)
    w, d = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    var = make("w", w)
    for alpha in (np.asarray(dtype(0.5)), dtype(0.25)):  # a 0-d array or a numpy scalar
        w = w - alpha * d
        out = training.apply_gradient_descent(var, alpha, d, use_locking=True)
        assert out is var.read() and out.dtype == dtype and not out.flags.writeable
        np.testing.assert_array_equal(out, w)


def test_gradient_descent_leaves_a_held_value_and_mismatched_operands_alone(splitting):
    var = make("w", np.ones((4, 5), np.float32))
    held = var.read()
    training.apply_gradient_descent(var, np.float32(0.5), np.ones((4, 5), np.float32), use_locking=False)
    np.testing.assert_array_equal(held, 1)
    np.testing.assert_array_equal(var.read(), 0.5)
    ref = weakref.ref(var.read())
    training.apply_gradient_descent(var, np.float32(0.5), np.ones((4, 5), np.float32).T.copy().T, use_locking=False)
    assert ref() is var.read()  # held by nobody: in place
    np.testing.assert_array_equal(var.read(), 0)
    training.apply_gradient_descent(var, np.float64(1.0), np.ones(5), use_locking=False)  # broadcast, float64 operands
    assert var.read().dtype == np.float32
    np.testing.assert_array_equal(var.read(), -1)


# -- _MatMulApplyAdam: the gradient as a product, applied block by block -------------------------------------
@pytest.mark.parametrize("transpose_a,transpose_b", [(True, False), (False, False), (False, True)])
@pytest.mark.parametrize("rows", [1, 7, 300])
@pytest.mark.parametrize("nesterov", [False, True])
def test_matmul_apply_adam_matches_adam_on_the_product(transpose_a, transpose_b, rows, nesterov, monkeypatch):
    monkeypatch.setattr(training, "_BLOCK_ELEMENTS", 64)  # many blocks, and a last one that is partial
    rng = np.random.default_rng(rows)
    a = rng.standard_normal((5, rows) if transpose_a else (rows, 5))
    b = rng.standard_normal((33, 5) if transpose_b else (5, 33))
    grad = (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    w, m, v, _ = adam_inputs(np.float64, (rows, 33), seed=rows)
    want = adam_reference(w, m, v, grad, 0.01, 0.9, 0.999, 1e-7, 0.9, 0.999, nesterov)
    slots = [make("w", w), make("m", m), make("v", v)]
    out = training.matmul_apply_adam(*slots, *[np.float64(x) for x in (0.9, 0.999, 0.01, 0.9, 0.999, 1e-7)], a, b,
                                     transpose_a=transpose_a, transpose_b=transpose_b, use_locking=True,
                                     use_nesterov=nesterov)
    assert out is slots[0].read()
    for got, ref in zip(slots, want):
        np.testing.assert_allclose(got.read(), ref, rtol=1e-13, atol=1e-14)
        assert not got.read().flags.writeable


def test_matmul_apply_adam_leaves_a_held_variable_alone_and_falls_back_for_other_dtypes():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 6)).astype(np.float32), rng.standard_normal((6, 8)).astype(np.float32)
    w, m, v, _ = adam_inputs(np.float32, (4, 8))
    scalars = [np.float32(x) for x in (0.9, 0.999, 0.01, 0.9, 0.999, 1e-7)]
    want = adam_reference(w.astype(np.float64), m, v, a.astype(np.float64) @ b, 0.01, 0.9, 0.999, 1e-7, 0.9, 0.999, False)
    slots = [make("w", w), make("m", m), make("v", v)]
    held = slots[0].read()
    training.matmul_apply_adam(*slots, *scalars, a, b, transpose_a=False, transpose_b=False, use_locking=False,
                               use_nesterov=False)
    np.testing.assert_array_equal(held, w)  # the reader's array did not change
    for got, ref in zip(slots, want):
        np.testing.assert_allclose(got.read(), ref, rtol=1e-5, atol=1e-6)
    half = [make(n, x.astype(np.float16)) for n, x in (("w", w), ("m", m), ("v", v))]
    training.matmul_apply_adam(*half, *[np.float16(s) for s in scalars], a.astype(np.float16), b.astype(np.float16),
                               transpose_a=False, transpose_b=False, use_locking=False, use_nesterov=False)
    assert half[0].read().dtype == np.float16
    np.testing.assert_allclose(half[0].read(), want[0], rtol=2e-2, atol=2e-2)
