"""The MXU's numerics on tpu_sim: bfloat16 operands as ml_dtypes rounds them, float32 sums, XLA's precisions."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import tensorflux as tf
from tensorflux.extend import PlacementWarning

BF16 = ml_dtypes.bfloat16


def _bf16(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).astype(BF16).astype(np.float32)


def _run(build, feeds: dict, config: dict | None = None):
    """Build ``build(*placeholders)`` on /tpu:0 for the float32 arrays ``feeds`` and run it."""
    graph = tf.Graph()
    with graph.as_default():
        placeholders = [tf.placeholder(tf.float32, v.shape) for v in feeds]
        with tf.device("/tpu:0"):
            out = build(*placeholders)
        with tf.Session(config=config) as sess:
            return sess.run(out, dict(zip(placeholders, feeds)))


def test_matmul_operands_are_rounded_as_ml_dtypes_casts_them(tpu):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 33)).astype(np.float32)
    b = rng.standard_normal((33, 5)).astype(np.float32)
    got = _run(tf.matmul, [a, b])
    rounded = _bf16(a).astype(np.float64) @ _bf16(b).astype(np.float64)
    np.testing.assert_allclose(got, rounded, rtol=1e-5, atol=1e-5)
    assert np.abs(got - a.astype(np.float64) @ b).max() > 1e-3  # the rounding shows


def test_halfway_values_round_to_even():
    from tensorflux_tpu_sim.numerics import round_to_bfloat16

    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8), 3.0e38, np.inf, np.nan], np.float32)
    np.testing.assert_array_equal(round_to_bfloat16(x), x.astype(BF16).astype(np.float32))
    assert round_to_bfloat16(x)[:2].tolist() == [1.0, 1 + 2**-6]


def test_products_accumulate_in_float32():
    # 1000 ones: a bfloat16 accumulator stops at 256 (256 + 1 rounds back to 256); float32 counts them all.
    got = _run(tf.matmul, [np.ones((1, 1000), np.float32), np.ones((1000, 1), np.float32)])
    assert got.tolist() == [[1000.0]]


def test_highest_is_close_to_float32_and_default_is_not(tpu):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((16, 64)).astype(np.float32)
    b = rng.standard_normal((64, 8)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    errors = {}
    for precision in ("DEFAULT", "HIGH", "HIGHEST"):
        got = _run(tf.matmul, [a, b], {"device_options": {"tpu_sim": {"precision": precision}}})
        errors[precision] = float(np.abs(got - exact).max() / np.abs(exact).max())
    assert errors["HIGHEST"] < 2e-6, errors
    assert errors["HIGH"] < 1e-4 < errors["DEFAULT"] < 1e-2, errors


def test_the_precision_comes_from_the_environment_or_configure(tpu, monkeypatch):
    a = np.full((1, 1), 1 + 2**-10, np.float32)
    b = np.ones((1, 1), np.float32)
    monkeypatch.setenv("TENSORFLUX_TPU_PRECISION", "highest")
    assert _run(tf.matmul, [a, b]).item() == np.float32(1 + 2**-10)
    tpu.configure(precision="DEFAULT")  # the device's setting beats the environment
    assert _run(tf.matmul, [a, b]).item() == 1.0
    with pytest.raises(ValueError, match="precision must be one of DEFAULT, HIGH, HIGHEST, got 'fast'"):
        tpu.configure(precision="fast")


def test_convolutions_and_their_gradients_take_bfloat16_operands(tpu):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    f = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)

    def conv_and_grads(xp, fp):
        y = tf.nn.conv2d(xp, fp, strides=[1, 1, 1, 1], padding="SAME")
        return [y, *tf.gradients(tf.reduce_sum(y * y), [xp, fp])]

    got = _run(conv_and_grads, [x, f])
    # The same graph on the cpu, in float32, from operands rounded to bfloat16. The gradients' operands are
    # rounded again on the MXU (dy = 2y), so they are compared within bfloat16's own step.
    graph = tf.Graph()
    with graph.as_default():
        xp, fp = tf.constant(_bf16(x)), tf.constant(_bf16(f))
        with tf.device("/cpu:0"):
            want = tf.Session().run(conv_and_grads(xp, fp))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
    for g, w in zip(got[1:], want[1:]):
        np.testing.assert_allclose(g, w, rtol=1e-2, atol=1e-2 * np.abs(w).max())
        assert not np.allclose(g, w, rtol=1e-6, atol=1e-6)


def test_elementwise_ops_stay_in_float32():
    x = np.array([1 + 2**-20, 3.0], np.float32)
    got = _run(lambda p: p * 2.0 + 1.0, [x])
    assert got.tolist() == [np.float32(3 + 2**-19), 7.0]


def test_bfloat16_tensors_are_stored_as_bfloat16():
    a = np.array([[1.5, 2.25]], np.float32).astype(BF16)
    b = np.array([[2.0], [4.0]], np.float32).astype(BF16)
    graph = tf.Graph()
    with graph.as_default():
        pa, pb = tf.placeholder(tf.bfloat16, [1, 2]), tf.placeholder(tf.bfloat16, [2, 1])
        with tf.device("/tpu:0"):
            y = tf.matmul(pa, pb)
        got = tf.Session().run(y, {pa: a, pb: b})
    assert got.dtype == BF16 and got.astype(np.float32).tolist() == [[12.0]]


def test_float64_is_left_to_the_cpu():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float64, [2])
        with tf.device("/tpu:0"):
            y = x * 3.0
        with pytest.warns(PlacementWarning, match=r"Op 'Mul' \(Mul\) has no kernel on /tpu_sim:0"):
            got = tf.Session().run(y, {x: np.array([1.0, 1 + 2**-40])})
    assert got.tolist() == [3.0, 3 * (1 + 2**-40)]


def test_split_parts_sum_back_to_the_float32_value():
    from tensorflux_tpu_sim.numerics import split_bfloat16

    x = np.random.default_rng(4).standard_normal(1000).astype(np.float32)
    hi, mid, lo = split_bfloat16(x, 3)
    assert all(np.array_equal(p, _bf16(p)) for p in (hi, mid, lo))
    assert np.abs((hi.astype(np.float64) + mid + lo) - x).max() <= 2.0**-24 * np.abs(x).max()
