"""Windows: the patch matrix in either memory layout, batch chunks, kept buffers and tap-by-tap pooling agree with
a direct loop over output positions."""

import numpy as np
import pytest

from tensorflux_mobile import windows
from tensorflux_mobile.windows import Windows, out_size_and_pad, patches, reduce_windows


def _patch_rows(x, kh, kw, stride, dilation, padding, pad_value):
    """Row (n, oy, ox) of the patch matrix, one output position at a time (taps in KH, KW, C order)."""
    n, h, w, c = x.shape
    oh, ph = out_size_and_pad(h, kh, stride, dilation, padding)
    ow, pw = out_size_and_pad(w, kw, stride, dilation, padding)
    rows = []
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                row = []
                for i in range(kh):
                    for j in range(kw):
                        y, xx = oy * stride + i * dilation - ph, ox * stride + j * dilation - pw
                        inside = 0 <= y < h and 0 <= xx < w
                        row.extend(x[b, y, xx].tolist() if inside else [pad_value] * c)
                rows.append(row)
    return np.array(rows, np.float32)


@pytest.mark.parametrize("c", [1, 3, 5])  # the transposed layout below TRANSPOSE_BELOW_C channels, the plain one above
@pytest.mark.parametrize("stride, dilation, padding", [(1, 1, "SAME"), (2, 1, "SAME"), (1, 2, "VALID"), (2, 1, "VALID")])
def test_patch_matrix_matches_a_loop_over_positions(c, stride, dilation, padding):
    rng = np.random.default_rng(c * 7 + stride)
    x = rng.integers(-128, 128, (2, 7, 6, c)).astype(np.int8)
    opts = dict(stride_h=stride, stride_w=stride, dilation_h=dilation, dilation_w=dilation, padding=padding)
    win = Windows(3, 2, opts, -7, np.float32)
    want = _patch_rows(x, 3, 2, stride, dilation, padding, -7)
    for _ in range(2):  # the second call reuses the kept buffers
        assert np.array_equal(win.columns(x), want)
    assert np.array_equal(win.columns(x[:1]), want[:len(want) // 2])  # a new batch size re-lays the buffers


def test_batch_chunks_give_the_whole_batchs_result(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 6, 6, 2)).astype(np.float32)
    w = rng.normal(size=(3 * 3 * 2, 4)).astype(np.float32)
    whole = Windows(3, 3, {"padding": "SAME"}, 0.0, np.float32).conv(x, lambda cols: cols @ w)
    monkeypatch.setattr(windows, "CHUNK_BYTES", 2 * 36 * 18 * 4)  # two images per chunk
    chunked = Windows(3, 3, {"padding": "SAME"}, 0.0, np.float32).conv(x, lambda cols: cols @ w)
    assert chunked.shape == (5, 6, 6, 4)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6)


@pytest.mark.parametrize("k", [2, 5])  # tap by tap (4 taps), one reduction (25 > TAP_LOOP_MAX)
def test_pooling_reductions_match_numpy_over_the_window_axes(k):
    rng = np.random.default_rng(k)
    x = rng.integers(-128, 128, (2, 9, 9, 3)).astype(np.int8)
    view = patches(x, k, k, 9 // k, 9 // k, {"stride_h": k, "stride_w": k})
    assert np.array_equal(reduce_windows(view, np.maximum), view.max(axis=(3, 4)))
    total = reduce_windows(view, np.add, np.int64)
    assert total.dtype == np.int64 and np.array_equal(total, view.astype(np.int64).sum(axis=(3, 4)))
