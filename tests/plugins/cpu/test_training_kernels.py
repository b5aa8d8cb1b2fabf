"""The cpu plugin's fused optimizer kernels store new arrays and never write into the old ones."""

from __future__ import annotations

import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import VariableSlot, kernels_for_device
from tensorflux_cpu.device import CpuDevice
from tensorflux_cpu.kernels import training

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
