"""Winograd F(m, r) along one axis (``winograd1d``) against float64 sums over the filter taps.

The 1-D matrices are checked on their own against a correlation; the convolutions cover 1xr and rx1
filters (r = 3, 5, 7), SAME, VALID and asymmetric explicit padding, lengths that are not a multiple of
the tile, and the epilogue (bias, residual input, clamp), on one thread and split across several.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tensorflux.extend import axis_geometry, conv2d_geometry
from tensorflux_cpu import blas
from tensorflux_cpu.kernels import conv_gemm, winograd1d


def reference(x, f, padding, explicit=((0, 0), (0, 0))):
    n, h, w, _ = x.shape
    kh, kw, _, o = f.shape
    oh, pt, pb = axis_geometry(h, kh, 1, 1, padding, explicit[0])
    ow, pl, pr = axis_geometry(w, kw, 1, 1, padding, explicit[1])
    xp = np.pad(x.astype(np.float64), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, o))
    for i, j in itertools.product(range(kh), range(kw)):
        out += xp[:, i:i + oh, j:j + ow] @ f[i, j].astype(np.float64)
    return out


@pytest.mark.parametrize("r", [3, 5, 7])
def test_the_matrices_compute_a_correlation(r):
    m = winograd1d.TILE[r]
    at, g, bt = winograd1d.matrices(m, r)
    rng = np.random.default_rng(r)
    d, f = rng.standard_normal(m + r - 1), rng.standard_normal(r)
    np.testing.assert_allclose(at @ ((g @ f) * (bt @ d)), np.correlate(d, f, "valid"), rtol=1e-12, atol=1e-12)


@pytest.fixture(params=["one", "split"])
def split(request, monkeypatch):
    if request.param == "split":
        monkeypatch.setattr(blas, "PARALLEL_MIN_FLOPS", 1)
        monkeypatch.setattr(blas, "THREADS", 3)
    return request.param


CASES = [  # (input NHWC, filter, padding, explicit pads per spatial axis)
    ((2, 9, 11, 16), (1, 7, 16, 24), "SAME", None),
    ((2, 11, 9, 20), (7, 1, 20, 33), "SAME", None),
    ((1, 8, 8, 24), (1, 3, 24, 40), "SAME", None),
    ((3, 10, 7, 16), (3, 1, 16, 8), "VALID", None),
    ((1, 6, 13, 17), (1, 5, 17, 12), "VALID", None),
    ((2, 5, 12, 16), (1, 7, 16, 16), "EXPLICIT", ((0, 0), (4, 1))),
    ((1, 8, 8, 24), (1, 3, 24, 200), "SAME", None),  # few tile rows, many panels: split by output channels
    ((1, 9, 6, 16), (3, 1, 16, 130), "SAME", None),
]


@pytest.mark.parametrize("x_shape, f_shape, padding, explicit", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("constant", [False, True], ids=["filter", "constant filter (packed panels)"])
def test_forward_matches_the_float64_sum(x_shape, f_shape, padding, explicit, split, constant):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    f = (rng.standard_normal(f_shape) / np.sqrt(np.prod(f_shape[:3]))).astype(np.float32)
    pads = [0, 0, *explicit[0], *explicit[1], 0, 0] if explicit else []
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], padding, pads, "NHWC", [1, 1, 1, 1])
    assert winograd1d.applies(geo, np.float32)
    want = reference(x, f, padding, explicit or ((0, 0), (0, 0)))
    got = winograd1d.forward(x, f, geo, conv_gemm.Epilogue(None), constant=constant)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("lo, hi", [(-np.inf, np.inf), (0.0, np.inf), (0.0, 0.25)])
def test_the_epilogue_is_applied_as_outputs_are_stored(lo, hi, split):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 9, 7, 16)).astype(np.float32)
    f = (rng.standard_normal((7, 1, 16, 24)) / 10).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    side = rng.standard_normal((2, 9, 7, 24)).astype(np.float32)
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    want = np.clip(reference(x, f, "SAME") + b + side, lo, hi)
    got = winograd1d.forward(x, f, geo, conv_gemm.Epilogue(b, side, lo, hi), constant=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_which_convolutions_run_along_one_axis():
    def applies(x_shape, f_shape, stride=1, dilation=1, padding="SAME", dtype=np.float32):
        geo = conv2d_geometry(x_shape, f_shape, [1, stride, stride, 1], padding, [], "NHWC",
                              [1, dilation, dilation, 1])
        return winograd1d.applies(geo, dtype)

    assert applies((2, 17, 17, 160), (1, 7, 160, 192)) and applies((2, 17, 17, 160), (7, 1, 160, 192))
    assert applies((2, 8, 8, 384), (1, 3, 384, 384)) and applies((2, 8, 8, 384), (3, 1, 384, 384))
    assert not applies((2, 17, 17, 160), (3, 3, 160, 192))  # two axes
    assert not applies((2, 17, 17, 160), (1, 9, 160, 192))  # no tile for 9 taps
    assert not applies((2, 17, 17, 8), (1, 7, 8, 192))  # too few channels
    assert not applies((2, 17, 17, 160), (1, 7, 160, 192), stride=2)
    assert not applies((2, 17, 17, 160), (1, 7, 160, 192), dilation=2)
    assert not applies((2, 17, 3, 160), (1, 3, 160, 192))  # a single tile along the axis
    assert not applies((2, 17, 17, 160), (1, 7, 160, 192), dtype=np.float64)
    explicit = conv2d_geometry((2, 9, 9, 16), (1, 3, 16, 16), [1, 1, 1, 1], "EXPLICIT", [0, 0, 1, 0, 1, 1, 0, 0],
                               "NHWC", [1, 1, 1, 1])
    assert not winograd1d.applies(explicit, np.float32)  # padding across the filter's axis


def test_an_8x8_layer_with_a_constant_filter_splits_its_output_channels_across_threads(monkeypatch):
    # Inception v3's 8x8 1x3 and 3x1 layers (16 tile rows, 384 channels) ran as one task, on one core.
    monkeypatch.setattr(blas, "THREADS", 2)
    jobs = []
    real = blas.parallel_chunks

    def record(fn, n):
        jobs.append(n)
        return real(fn, n)

    monkeypatch.setattr(blas, "parallel_chunks", record)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 8, 8, 384)).astype(np.float32)
    f = (rng.standard_normal((1, 3, 384, 384)) / 30).astype(np.float32)
    geo = conv2d_geometry(x.shape, f.shape, [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
    got = winograd1d.forward(x, f, geo, conv_gemm.Epilogue(None), constant=True)
    assert jobs == [2]
    want = reference(x, f, "SAME")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_constant_filter_tasks_come_in_multiples_of_the_thread_count(monkeypatch):
    # A 17x17 1x7 layer (Inception v3) was cut into 3 tasks for 2 threads: one ran alone at the end.
    monkeypatch.setattr(blas, "THREADS", 2)
    assert winograd1d._tasks(2.0 * 153 * 8 * 160 * 160) % 2 == 0
    assert winograd1d._tasks(1e3) == 1
