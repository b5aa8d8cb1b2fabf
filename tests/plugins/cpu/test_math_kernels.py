"""The cpu plugin's math kernels on their fast paths, against numpy in float64."""

import numpy as np
import pytest

from tensorflux_cpu import blas
from tensorflux_cpu.kernels import math as math_kernels


@pytest.mark.parametrize("shape,axes", [((50, 28, 28, 32), (0, 1, 2)), ((300, 400), (0,)), ((8, 100, 90), (-3, -2)),
                                        ((70000, 1), (0,))])
@pytest.mark.parametrize("keep_dims", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_over_leading_axes_matches_float64(shape, axes, keep_dims, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = math_kernels.reduce_sum(x, np.array(axes), keep_dims=keep_dims)
    want = np.sum(x.astype(np.float64), axis=axes, keepdims=keep_dims)
    assert got.dtype == dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)


def test_sum_over_leading_axes_keeps_inf_and_nan():
    x = np.ones((400, 200), np.float32)
    x[3, 5], x[7, 6] = np.inf, np.nan
    got = math_kernels.reduce_sum(x, np.array([0]), keep_dims=False)
    assert got[5] == np.inf and np.isnan(got[6]) and got[0] == 400


def test_sum_over_non_leading_or_invalid_axes_falls_back_to_numpy():
    x = np.random.default_rng(1).random((300, 400), np.float32)
    np.testing.assert_allclose(math_kernels.reduce_sum(x, np.array([1]), keep_dims=False), x.sum(1), rtol=1e-5)
    np.testing.assert_allclose(math_kernels.reduce_sum(x.T, np.array([0]), keep_dims=False), x.T.sum(0), rtol=1e-5)
    with pytest.raises(np.exceptions.AxisError):
        math_kernels.reduce_sum(x, np.array([2]), keep_dims=False)


@pytest.mark.parametrize("m,k,n", [(3, 4, 5), (100, 32, 10), (100, 128, 32), (100, 784, 128), (50, 3136, 64)])
def test_matmul_matches_float64_across_size_paths(m, k, n):
    rng = np.random.default_rng(m * k * n)
    a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
    got = blas.matmul(a, b)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5)


@pytest.mark.parametrize("m,k,n", [(1024, 64, 1024), (4000, 64, 16), (8, 5000, 8), (3, 100000, 2)])
def test_chunked_products_match_float64_in_every_split(m, k, n):
    rng = np.random.default_rng(k)
    a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
    np.testing.assert_allclose(blas._chunked(a, b, 4), a.astype(np.float64) @ b, rtol=1e-5)
    np.testing.assert_allclose(blas._chunked(a.T.copy().T, b, 2), a.astype(np.float64) @ b, rtol=1e-5)


def test_parallel_chunks_returns_after_helpers_let_go_of_the_work():
    import sys

    for _ in range(200):
        data = np.ones(1 << 12)
        blas.parallel_chunks(lambda i, data=data: float(data[i]), 4)
        assert type(blas.single_threaded()).depth == 0
        assert sys.getrefcount(data) == 2  # ours and getrefcount's: no helper still holds the chunk function


def test_parallel_chunks_reraises_a_chunk_error():
    def chunk(i):
        if i == 2:
            raise KeyError("chunk 2")
        return i

    with pytest.raises(KeyError, match="chunk 2"):
        blas.parallel_chunks(chunk, 6)
    assert type(blas.single_threaded()).depth == 0
