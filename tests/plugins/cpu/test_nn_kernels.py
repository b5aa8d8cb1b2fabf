"""The cpu plugin's compiled Relu, ReluGrad and sparse softmax cross-entropy against numpy references and its numpy path."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from tensorflux_cpu.kernels import _loops, nn


@pytest.fixture(params=["serial", "split"])
def splitting(request, monkeypatch):
    if request.param == "split":
        monkeypatch.setattr(_loops, "PARALLEL_WORK", 1)
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("shape", [(100, 128), (3, 5, 7), (), (0, 4)])
def test_relu_is_np_maximum_with_zero(shape, dtype, splitting):
    x = np.asarray(np.random.default_rng(1).standard_normal(shape) * 3).astype(dtype)
    if x.size >= 5 and x.dtype.kind == "f":
        x.flat[:5] = [np.nan, -0.0, 0.0, np.inf, -np.inf]
    want = np.maximum(x, dtype(0))
    out = nn.relu(x)
    assert out.dtype == dtype and out.shape == x.shape and out is not x
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(want))  # -0.0 comes out as 0.0, as from np.maximum
    strided = np.repeat(x, 2, axis=-1)[..., ::2] if x.ndim else x
    np.testing.assert_array_equal(nn.relu(strided), want)
    donated = x.copy()
    assert nn.relu(donated, donated=(0,)) is donated
    np.testing.assert_array_equal(donated, want)


def relu_grad_inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    g, f = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    if g.size >= 4:
        g.flat[:3] = [np.inf, -np.inf, np.nan]  # where features <= 0 these must become 0, not nan
        f.flat[3] = np.nan  # a nan feature is not > 0
    return g, f


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(100, 128), (3, 5, 7), (1,), (), (0, 4)])
@pytest.mark.parametrize("donate", [False, True])
def test_relu_grad_selects_the_gradient_where_features_are_positive(shape, dtype, donate, splitting):
    g, f = relu_grad_inputs(shape, dtype)
    want = np.where(f > 0, g, dtype(0))
    out = nn.relu_grad(g, f, donated=(0,) if donate else ())
    assert out.dtype == dtype and out.shape == g.shape
    np.testing.assert_array_equal(out, want)
    assert (out is g) == (donate and dtype != np.float16)  # float16 takes numpy's path, which makes a new array


def test_relu_grad_of_non_contiguous_operands(splitting):
    g, f = relu_grad_inputs((40, 60), np.float32)
    gt, ft = g[:, ::2].T, f.T[::-2]  # [30, 40] views: transposed and strided, reversed and strided
    want = np.where(ft > 0, gt, np.float32(0))
    for donated in ((), (0,)):
        out = nn.relu_grad(gt, ft, donated=donated)
        np.testing.assert_array_equal(out, want)
        assert out is not gt  # a non-contiguous gradient is never written into


@pytest.mark.filterwarnings("ignore:invalid value")  # numpy's path multiplies inf by 0 before it falls back
def test_relu_grad_compiled_and_numpy_paths_agree(monkeypatch):
    g, f = relu_grad_inputs((64, 33), np.float32)
    fast = nn.relu_grad(g, f)
    monkeypatch.setattr(nn, "_FAST", ())
    np.testing.assert_array_equal(fast, nn.relu_grad(g, f))


def xent_reference(logits, labels):
    """Loss and backprop of sparse softmax cross-entropy, in float64."""
    x = logits.astype(np.float64)
    shifted = x - x.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(labels))
    backprop = np.exp(shifted - log_total[:, None])
    backprop[rows, labels] -= 1
    return log_total - shifted[rows, labels], backprop


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-6), (np.float64, 1e-14), (np.float16, 2e-3)])
@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("shape", [(100, 10), (7, 1), (3, 1000), (0, 5)])
def test_sparse_xent_matches_the_formula(shape, dtype, tol, label_dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal(shape) * 4).astype(dtype)
    labels = rng.integers(0, shape[1], shape[0]).astype(label_dtype)
    loss, backprop = nn.sparse_softmax_xent(logits, labels)
    want_loss, want_backprop = xent_reference(logits, labels)
    assert loss.dtype == dtype and backprop.dtype == dtype and loss.shape == shape[:1] and backprop.shape == shape
    np.testing.assert_allclose(loss, want_loss, rtol=tol, atol=tol)
    np.testing.assert_allclose(backprop, want_backprop, rtol=tol, atol=tol)


def test_sparse_xent_of_non_contiguous_logits_and_extreme_values():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((10, 6)).astype(np.float32).T  # [6, 10], a transposed view
    logits[0, 3] = -np.inf  # never the label: contributes exp(-inf) = 0
    logits[1, 2] = 1e30
    labels = np.array([1, 2, 0, 9, 5, 4], np.int64)[::-1].copy()[::-1]
    loss, backprop = nn.sparse_softmax_xent(logits, labels)
    want_loss, want_backprop = xent_reference(logits, labels)
    np.testing.assert_allclose(loss, want_loss, rtol=2e-6)
    np.testing.assert_allclose(backprop, want_backprop, rtol=2e-6, atol=2e-7)


def test_sparse_xent_nan_propagates_through_its_row_as_in_numpy(monkeypatch):
    logits = np.arange(12, dtype=np.float32).reshape(3, 4)
    logits[0, 0] = np.nan  # first in its row: it must not be replaced as the row's maximum
    logits[2, 3] = np.nan
    labels = np.array([1, 2, 3], np.int32)
    fast = nn.sparse_softmax_xent(logits, labels)
    monkeypatch.setattr(nn, "_FAST", ())
    slow = nn.sparse_softmax_xent(logits, labels)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert np.isnan(fast[0][[0, 2]]).all() and np.isfinite(fast[0][1])


@pytest.mark.parametrize("fast", [True, False])
def test_sparse_xent_rejects_out_of_range_labels(fast, monkeypatch):
    if not fast:
        monkeypatch.setattr(nn, "_FAST", ())
    logits = np.zeros((4, 3), np.float32)
    for bad, value in (([0, 1, 3, -1], 3), ([0, -2, 1, 5], -2)):
        with pytest.raises(ValueError, match=f"label value of {value} which is outside the valid range of \\[0, 3\\)"):
            nn.sparse_softmax_xent(logits, np.array(bad, np.int32))
    with pytest.raises(ValueError, match="labels must have shape"):
        nn.sparse_softmax_xent(logits, np.zeros(3, np.int32))


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16, np.float32, np.int8, np.uint8])
def test_relu6_keeps_its_input_dtype(dtype):
    # np.clip promotes bfloat16 to float32: the graph promises the input's dtype (issue 20).
    x = np.asarray([-3, 0, 2, 6, 9]).astype(dtype)
    out = nn.relu6(x)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.astype(np.float64), np.clip(x.astype(np.float64), 0, 6))


@pytest.mark.parametrize("dtype, tol", [(np.float32, 4e-7), (np.float64, 1e-15)])
@pytest.mark.parametrize("donate", [False, True])
def test_sigmoid_is_accurate_over_the_whole_range_and_writes_into_a_donated_input(dtype, tol, donate):
    x = np.concatenate([np.random.default_rng(2).standard_normal(5000) * 30,
                        [-1000, -100, -88.5, -80.5, -79.5, -1e-30, 0, 1e-30, 17, 100, np.inf, -np.inf]]).astype(dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))  # no overflow in the wider type down to -1000
    given = x.copy()
    got = nn.sigmoid(given, donated=(0,) if donate else ())
    assert got.dtype == dtype and (got is given) == donate
    tiny = np.finfo(dtype).tiny  # below it results are subnormal: compared absolutely
    np.testing.assert_array_less(np.abs(got - exact) / np.maximum(exact, tiny), tol)
    nan = nn.sigmoid(np.array([np.nan, -200.0, 1.0], dtype))  # a nan does not hide the low entries from the fix-up
    assert np.isnan(nan[0]) and abs(nan[2] - 1 / (1 + np.exp(-1.0))) < 1e-6
    assert (0 < nan[1] < 1e-80) if dtype == np.float64 else nan[1] == 0  # exp(-200) is 0 in float32


def test_sigmoid_of_low_precision_and_non_contiguous_inputs():
    x = np.linspace(-12, 12, 50, dtype=np.float32).reshape(5, 10)
    want = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(nn.sigmoid(x[:, ::2]), want[:, ::2], rtol=1e-6)
    half = nn.sigmoid(x.astype(np.float16))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half, want, rtol=2e-3, atol=1e-4)
