"""The cpu plugin's ``_FusedSwish`` kernel (a compiled float32 pass with its own vectorized exponential) against float64
numpy, over the whole float32 range, split across threads and not, and its numpy path for other dtypes."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from tensorflux_cpu.kernels import _loops, swish


def _exact(x, beta):
    """x * sigmoid(beta * x) in float64, from beta * x rounded to x's dtype (as the unfused Mul rounds it)."""
    u = x.astype(np.float64)
    t = (x * x.dtype.type(beta)).astype(np.float64)
    with np.errstate(over="ignore"):
        return u / (1 + np.exp(-t))


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("beta", [1.0, 0.5, 1.7])
def test_float32_swish_is_within_a_few_ulps_of_float64(beta, split, monkeypatch):
    if split:
        monkeypatch.setattr(_loops, "PARALLEL_WORK", 1)
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 30, rng.uniform(-1e-3, 1e-3, 1000),
                        [0.0, -0.0, 1e-30, -1e-30, 50.0, -50.0, 3.0]]).astype(np.float32).reshape(-1, 7)
    got = swish.fused_swish(x, beta=beta)
    assert got.dtype == np.float32 and got.shape == x.shape
    want = _exact(x, beta)
    normal = np.abs(beta * x) < 80  # where the sigmoid is a normal float32
    rel = np.abs(got - want)[normal] / np.maximum(np.abs(want[normal]), np.finfo(np.float32).tiny)
    assert rel.max() < 4e-7
    assert np.signbit(got[x == 0]).tolist() == np.signbit(x[x == 0]).tolist()


def test_float32_swish_at_the_ends_of_the_range_is_what_x_times_sigmoid_gives():
    x = np.float32([88.0, 100.0, 1000.0, np.inf, -87.0, -90.0, -1000.0, -np.inf, np.nan])
    got = swish.fused_swish(x)
    with np.errstate(over="ignore", invalid="ignore"):
        want = x * (1 / (1 + np.exp(-x.astype(np.float64))))
    np.testing.assert_allclose(got[:4], want[:4], rtol=1e-7)
    assert abs(got[4]) < 1e-35 and got[5] == 0 and got[6] == 0  # below the normal range: (nearly) zero
    assert np.isnan(got[7]) and np.isnan(got[8])  # -inf * 0 and nan, as the unfused ops give


def test_in_place_row_pass_matches_the_kernel():
    x = np.random.default_rng(1).standard_normal(1000).astype(np.float32) * 8
    y = x.copy()
    swish.swish_in_place(y, 100, 900)
    np.testing.assert_array_equal(y[100:900], swish.fused_swish(x[100:900]))
    np.testing.assert_array_equal(y[:100], x[:100])
    np.testing.assert_array_equal(y[900:], x[900:])


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-14), (np.float16, 2e-3), (ml_dtypes.bfloat16, 1e-2)])
def test_other_dtypes_go_through_numpy(dtype, tol):
    x = np.linspace(-20, 20, 101).astype(dtype)[::2]
    got = swish.fused_swish(x, beta=1.5)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got.astype(np.float64), _exact(x, 1.5), rtol=tol, atol=tol)


@pytest.mark.parametrize("split", [False, True])
def test_a_donated_input_is_written_in_place_with_the_same_values(split, monkeypatch):
    if split:
        monkeypatch.setattr(_loops, "PARALLEL_WORK", 1)
    x = (np.random.default_rng(3).standard_normal((4, 50, 3)) * 10).astype(np.float32)
    want = swish.fused_swish(x)
    given = x.copy()
    got = swish.fused_swish(given, donated=(0,))
    assert got is given
    np.testing.assert_array_equal(got, want)
    other = x.copy()  # beta other than 1: a fresh array, the input untouched
    assert swish.fused_swish(other, beta=2.0, donated=(0,)) is not other and np.array_equal(other, x)
