"""Products with a filter packed into 32-column panels (``packed_gemm``) against float64 products."""

from __future__ import annotations

import numpy as np
import pytest

from tensorflux_cpu.kernels import packed_gemm


@pytest.mark.parametrize("rows, k, n", [(1, 1, 1), (7, 5, 33), (8, 16, 32), (49, 72, 64), (50, 9, 95), (131, 40, 70)])
@pytest.mark.parametrize("sub_bytes", [packed_gemm.SUB_BYTES, 1])  # one sub-block, or 8 rows at a time
def test_product_matches_float64(rows, k, n, sub_bytes, monkeypatch):
    monkeypatch.setattr(packed_gemm, "SUB_BYTES", sub_bytes)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((rows, n), np.nan, np.float32)
    packed_gemm.product(x, packed_gemm.pack(w), out, 0, packed_gemm.panels(n))
    np.testing.assert_allclose(out, x.astype(np.float64) @ w, rtol=1e-5, atol=1e-5 * np.sqrt(k))


def test_a_range_of_panels_writes_only_its_columns():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 12)).astype(np.float32)
    w = rng.standard_normal((12, 80)).astype(np.float32)
    out = np.zeros((10, 80), np.float32)
    packed_gemm.product(x, packed_gemm.pack(w), out, 1, 3)  # panels 1 and 2: columns 32 to 79
    assert not out[:, :32].any()
    np.testing.assert_allclose(out[:, 32:], x.astype(np.float64) @ w[:, 32:], rtol=1e-5, atol=1e-5)


def test_pack_pads_the_last_panel_with_zeros():
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    wp = packed_gemm.pack(w).reshape(1, 3, 32)
    assert wp[0, :, :4].tolist() == w.tolist() and not wp[0, :, 4:].any()


def test_nans_and_infinities_reach_only_their_outputs():
    x = np.ones((9, 4), np.float32)
    x[3, 1] = np.nan
    w = np.ones((4, 40), np.float32)
    w[2, 35] = np.inf
    out = np.empty((9, 40), np.float32)
    packed_gemm.product(x, packed_gemm.pack(w), out, 0, 2)
    assert np.isnan(out[3]).all() and np.isinf(out[np.arange(9) != 3, 35]).all()
    assert (out[np.arange(9) != 3][:, np.arange(40) != 35] == 4).all()


@pytest.mark.parametrize("with_side", [False, True])
@pytest.mark.parametrize("lo, hi", [(-np.inf, np.inf), (0.0, np.inf), (0.0, 6.0)])
def test_a_finished_product_applies_bias_side_input_and_clamp_as_it_stores(with_side, lo, hi):
    rng = np.random.default_rng(7)
    rows, k, n = 21, 13, 70
    x = rng.standard_normal((rows, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    side = rng.standard_normal((rows, n)).astype(np.float32) if with_side else np.empty((0, n), np.float32)
    x[3, 2] = np.nan  # row 3 becomes NaN, which the clamp keeps
    out = np.full((rows, n), -7.0, np.float32)
    packed_gemm.product_finished(x, packed_gemm.pack(w), out, 1, 3, bias, side, np.float32(lo), np.float32(hi))
    want = x.astype(np.float64) @ w + bias + (side if with_side else 0)
    want = np.where(np.isnan(want), np.nan, np.clip(want, lo, hi))
    np.testing.assert_allclose(out[:, 32:70], want[:, 32:70], rtol=1e-5, atol=1e-5)
    assert (out[:, :32] == -7.0).all()  # panel 0 is not in the range
    assert np.isnan(out[3, 32:]).all()
