"""ExactMatmul: integer products on float32 BLAS stay exact at the extremes, where one float32 product would not."""

import numpy as np
import pytest

from tensorflux_mobile.int_matmul import ExactMatmul, chunk_bounds


def _worst_case(rng, rows, k, cols):
    """Odd activations of one sign per row, odd weights of one sign per column: every partial sum only grows,
    and none is even, so float32 would have to round once past 2**24."""
    a = rng.choice([127, 125, 123], (rows, k)) * rng.choice([-1, 1], (rows, 1))
    w = rng.choice([127, 125, 121], (k, cols)) * rng.choice([-1, 1], cols)
    return a.astype(np.int64), w.astype(np.int8)


@pytest.mark.parametrize("k", [1032, 1033, 4000, 20000])
def test_products_at_the_extremes_are_exact(k):
    rng = np.random.default_rng(k)
    a, w = _worst_case(rng, 3, k, 5)
    want = a @ w.astype(np.int64)  # Python-sized integers: the exact answer
    got = ExactMatmul(w, a_max=128)(a.astype(np.float32))
    assert got.dtype in (np.float32, np.float64)
    assert (got.astype(np.int64) == want).all()


def test_the_extreme_data_defeats_a_single_float32_product():
    # Guards the test above: without the chunks, float32 rounds these sums.
    a, w = _worst_case(np.random.default_rng(4000), 3, 4000, 5)
    naive = (a.astype(np.float32) @ w.astype(np.float32)).astype(np.int64)
    assert (naive != a @ w.astype(np.int64)).any()


def test_chunks_keep_every_column_within_float32s_exact_integers():
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (5000, 7)).astype(np.int8)
    for a_max in (128, 255):
        bounds = chunk_bounds(w, a_max)
        assert bounds[0][0] == 0 and bounds[-1][1] == 5000
        assert all(b[1] == c[0] for b, c in zip(bounds, bounds[1:]))
        for start, stop in bounds:
            assert a_max * np.abs(w[start:stop].astype(np.int64)).sum(axis=0).max() <= 2 ** 24
    # Trained weights are mostly far below their channel's maximum: one chunk covers a long row.
    assert chunk_bounds(rng.integers(-20, 21, (3000, 4)).astype(np.int8), 128) == [(0, 3000)]


def test_transposed_activations_and_the_bound():
    rng = np.random.default_rng(2)
    w = rng.integers(-127, 128, (3000, 6)).astype(np.int8)
    a = np.asfortranarray(rng.integers(-128, 128, (9, 3000)).astype(np.float32))  # as a transposed patch matrix
    mm = ExactMatmul(w, a_max=128)
    assert len(mm.bounds) > 1
    assert (mm(a).astype(np.int64) == a.astype(np.int64) @ w.astype(np.int64)).all()
    assert (mm.bound == 128 * np.abs(w.astype(np.int64)).sum(axis=0)).all()


def test_activations_too_wide_for_a_single_product_are_refused():
    with pytest.raises(ValueError, match="2\\*\\*24"):
        ExactMatmul(np.ones((4, 2), np.int8), a_max=1 << 18)
