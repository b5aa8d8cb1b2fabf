"""The shared device geometry (tensorflux.extend): window sizes and padding, slice bounds and host random streams,
checked against TensorFlow's own ops (the ``tfr`` fixture) and numpy's indexing."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tensorflux.extend import (
    axis_geometry,
    conv2d_geometry,
    explicit_pads,
    height_width,
    index_view,
    normal_on_host,
    output_size,
    pool2d_geometry,
    seeded_rng,
    slice_index,
    spatial_axes,
    strided_slice_index,
    to_nhwc,
    truncated_normal_on_host,
    uniform_on_host,
    window_counts,
)

RNG = np.random.default_rng(13)

# (size, window, stride, dilation): odd and even sizes, strides past the window, dilated windows.
AXES = [(7, 3, 1, 1), (7, 3, 2, 1), (8, 3, 2, 1), (5, 5, 1, 1), (9, 2, 3, 1), (6, 1, 4, 1), (10, 3, 1, 2),
        (11, 3, 2, 3), (4, 4, 4, 1), (13, 5, 3, 2)]


def _run(tfr, build):
    """Evaluate the tensors ``build(tfr)`` returns in a fresh TensorFlow graph."""
    with tfr.Graph().as_default():
        fetches = build(tfr)
        with tfr.Session() as sess:
            return sess.run(fetches)


def _valid_conv_of_padded(x, f, stride, dilation, pads):
    """A direct numpy cross-correlation of ``x`` [n, h, w, c] padded by ``pads`` ((top, bottom), (left, right))."""
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, _, o = f.shape
    oh = (xp.shape[1] - (kh - 1) * dilation - 1) // stride + 1
    ow = (xp.shape[2] - (kw - 1) * dilation - 1) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, o))
    for i, j in itertools.product(range(kh), range(kw)):
        r, q = i * dilation, j * dilation
        out += xp[:, r:r + (oh - 1) * stride + 1:stride, q:q + (ow - 1) * stride + 1:stride, :] @ f[i, j]
    return out


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_window_size_and_padding_match_tensorflow_convolutions(tfr, padding):
    cases = []
    for size, k, stride, dilation in AXES:
        if (padding == "VALID" and size < (k - 1) * dilation + 1) or (stride > 1 and dilation > 1):
            continue  # no output, or both (TF's conv2d takes strides or dilations, not both)
        cases.append((RNG.standard_normal((1, size, size + 1, 2)), RNG.standard_normal((k, k, 2, 3)), stride, dilation))

    def build(t):
        return [t.nn.conv2d(x, f, strides=[1, s, s, 1], padding=padding, dilations=[1, d, d, 1])
                for x, f, s, d in cases]

    for (x, f, stride, dilation), want in zip(cases, _run(tfr, build)):
        (oh, pt, pb), (ow, pl, pr) = (axis_geometry(x.shape[a], f.shape[a - 1], stride, dilation, padding)
                                      for a in (1, 2))
        assert want.shape[1:3] == (oh, ow) == (output_size(x.shape[1], f.shape[0], stride, dilation, padding),
                                               output_size(x.shape[2], f.shape[1], stride, dilation, padding))
        np.testing.assert_allclose(_valid_conv_of_padded(x, f, stride, dilation, ((pt, pb), (pl, pr))), want,
                                   rtol=1e-10, atol=1e-10)


def test_explicit_padding_matches_tensorflow(tfr):
    x, f = RNG.standard_normal((2, 5, 6, 3)), RNG.standard_normal((3, 2, 3, 4))
    pairs = [[0, 0], [2, 1], [0, 3], [0, 0]]
    want = _run(tfr, lambda t: t.nn.conv2d(x, f, strides=[1, 2, 1, 1], padding=pairs))
    geo = conv2d_geometry(x.shape, f.shape, [1, 2, 1, 1], "EXPLICIT", [p for pair in pairs for p in pair], "NHWC")
    assert (geo.pt, geo.pb, geo.pl, geo.pr) == (2, 1, 0, 3)
    assert geo.out_shape() == want.shape
    np.testing.assert_allclose(_valid_conv_of_padded(x, f, 1, 1, ((2, 1), (0, 3)))[:, ::2], want,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_pool_taps_and_counts_give_tensorflows_average_pool(tfr, padding):
    """An average pool built from the geometry alone (taps over the padded input, divided by the real cells each
    window covers) equals TensorFlow's; the same geometry comes out of NCHW attrs and shapes."""
    x = RNG.standard_normal((2, 7, 6, 3))
    windows = [((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 1), (3, 1)), ((2, 2), (2, 2)), ((1, 1), (2, 3))]
    wants = _run(tfr, lambda t: [t.nn.avg_pool(x, [1, *k, 1], [1, *s, 1], padding) for k, s in windows])
    for (ksize, stride), want in zip(windows, wants):
        geo = pool2d_geometry(x.shape, [1, *ksize, 1], [1, *stride, 1], padding, "NHWC")
        padded = np.pad(x, ((0, 0), (geo.pt, geo.pb), (geo.pl, geo.pr), (0, 0)))
        total = sum(padded[:, rows, cols, :] for _, _, rows, cols in geo.taps())
        rows, cols = geo.valid_counts()
        np.testing.assert_allclose(total / np.outer(rows, cols)[None, :, :, None], want, rtol=1e-12)
        nchw = pool2d_geometry(to_nhwc(np.transpose(x, (0, 3, 1, 2)).shape, "NCHW"), [1, 1, *ksize],
                               [1, 1, *stride], padding, "NCHW")
        assert [getattr(nchw, a) for a in nchw.__slots__] == [getattr(geo, a) for a in geo.__slots__]


def test_window_counts_count_the_unpadded_cells_of_each_window():
    for size, k, stride, _ in AXES:
        out, before, _ = axis_geometry(size, k, stride, 1, "SAME")
        want = [len(set(range(i * stride - before, i * stride - before + k)) & set(range(size))) for i in range(out)]
        assert window_counts(out, stride, before, k, size) == want


def test_layout_helpers_read_the_height_width_and_channel_axes():
    assert spatial_axes("NHWC") == (1, 2, 3) and spatial_axes("NCHW") == (2, 3, 1)
    assert height_width([1, 2, 3, 1], "NHWC") == (2, 3) and height_width([1, 1, 2, 3], "NCHW") == (2, 3)
    assert to_nhwc([8, 3, 5, 7], "NCHW") == (8, 5, 7, 3) and to_nhwc([8, 5, 7, 3], "NHWC") == (8, 5, 7, 3)
    assert explicit_pads([0, 0, 0, 0, 1, 2, 3, 4], "NCHW") == ((1, 2), (3, 4))
    assert explicit_pads([0, 0, 1, 2, 3, 4, 0, 0], "NHWC", "SAME") == ((0, 0), (0, 0))
    with pytest.raises(ValueError, match="data_format must be one of"):
        spatial_axes("NDHWC")
    with pytest.raises(ValueError, match="explicit_paddings with 8 values"):
        explicit_pads([1, 2], "NHWC")


def test_errors_name_the_axis_the_window_and_the_shapes():
    with pytest.raises(ValueError, match=r"input height of size 2 \(padded 2\) is smaller than the \(dilated\) window "
                                         r"of size 5; VALID padding gives no output"):
        conv2d_geometry((1, 2, 9, 1), (3, 3, 1, 1), [1, 1, 1, 1], "VALID", [], "NHWC", [1, 2, 2, 1])
    with pytest.raises(ValueError, match=r"input depth 2 does not match filter in_channels 3"):
        conv2d_geometry((1, 5, 5, 2), (3, 3, 3, 1), [1, 1, 1, 1], "SAME", [], "NHWC")
    geo = conv2d_geometry((1, 5, 5, 2), (3, 3, 2, 4), [1, 2, 2, 1], "SAME", [], "NHWC")
    with pytest.raises(ValueError, match=r"out_backprop has shape \[1, 2, 2, 4\], expected \[1, 3, 3, 4\] for input "
                                         r"\[1, 5, 5, 2\] and filter \[3, 3, 2, 4\]"):
        geo.check_out((1, 2, 2, 4))
    assert output_size(None, 3, 1) is None and output_size(5, None, 2, padding="VALID") is None
    assert output_size(5, None, 2, padding="SAME") == 3


# -- slices ----------------------------------------------------------------------------------------------------
def test_slice_index_matches_tensorflows_slice(tfr):
    x = RNG.standard_normal((4, 5, 3))
    specs = [([0, 0, 0], [-1, -1, -1]), ([1, 2, 0], [2, -1, 3]), ([3, 4, 2], [1, 1, 1]), ([0, 5, 1], [4, 0, 2])]
    wants = _run(tfr, lambda t: [t.slice(x, b, s) for b, s in specs])
    for (begin, size), want in zip(specs, wants):
        np.testing.assert_array_equal(x[slice_index(begin, size, x.shape)], want)


@pytest.mark.parametrize("begin, size", [([0, -1], [1, 1]), ([2, 0], [3, 1]), ([0, 0], [1, 4]), ([1, 1], [-2, 1])])
def test_slice_index_refuses_bounds_outside_the_shape(begin, size):
    with pytest.raises(ValueError, match=r"slice begin .* and size .* are out of bounds for shape \[3, 3\]"):
        slice_index(begin, size, (3, 3))


def _random_strided_spec(rank: int) -> tuple:
    """StridedSlice inputs and masks for a tensor of ``rank``: random bounds (some past the ends), negative
    strides, and at most one ellipsis; shrink entries get an in-range begin."""
    n = int(RNG.integers(1, rank + 2))
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    kinds, axes, ellipses = [], 0, 0
    for kind in RNG.choice(["slice", "slice", "slice", "shrink", "new", "ellipsis"], size=n):
        ellipses += kind == "ellipsis"
        axes += kind in ("slice", "shrink")
        kinds.append("new" if (kind == "ellipsis" and ellipses > 1) or (kind != "new" and axes > rank) else kind)
    for i, kind in enumerate(kinds):
        bit = 1 << i
        b, e, s = int(RNG.integers(-6, 7)), int(RNG.integers(-6, 7)), int(RNG.choice([-3, -2, -1, 1, 2, 3]))
        if kind == "shrink":
            masks["shrink_axis_mask"] |= bit
            b, e, s = 0, 1, 1
        elif kind == "new":
            masks["new_axis_mask"] |= bit
        elif kind == "ellipsis":
            masks["ellipsis_mask"] |= bit
        else:
            masks["begin_mask"] |= bit if RNG.random() < 0.2 else 0
            masks["end_mask"] |= bit if RNG.random() < 0.2 else 0
        begin.append(b), end.append(e), strides.append(s)
    return begin, end, strides, masks


def test_strided_slice_index_matches_tensorflows_strided_slice(tfr):
    x = RNG.standard_normal((4, 5, 3))
    specs = [_random_strided_spec(x.ndim) for _ in range(60)]
    wants = _run(tfr, lambda t: [t.strided_slice(x, b, e, s, **m) for b, e, s, m in specs])
    for (begin, end, strides, masks), want in zip(specs, wants):
        got = x[strided_slice_index(begin, end, strides, **masks)]
        np.testing.assert_array_equal(got, want, err_msg=f"{begin} {end} {strides} {masks}")


def test_index_view_matches_numpys_basic_indexing():
    shape = (4, 5, 3)
    base = np.arange(math.prod(shape)).reshape(shape)
    strides = [s // base.itemsize for s in base.strides]
    for _ in range(200):
        begin, end, step, masks = _random_strided_spec(len(shape))
        index = strided_slice_index(begin, end, step, **masks)
        want = base[index]
        out_shape, out_strides, offset = index_view(shape, strides, index)
        assert out_shape == want.shape, index
        got = np.lib.stride_tricks.as_strided(base.reshape(-1)[offset:], out_shape,
                                              [s * base.itemsize for s in out_strides]) if want.size else want
        np.testing.assert_array_equal(got, want, err_msg=str(index))


def test_index_view_refuses_what_numpy_refuses():
    for index in [(3,), (0, -4), (Ellipsis, Ellipsis), (0, 0, 0)]:
        with pytest.raises(IndexError) as ours:
            index_view((2, 3), (3, 1), index)
        with pytest.raises(IndexError):
            np.zeros((2, 3))[index]
        assert str(ours.value)


# -- host random streams ---------------------------------------------------------------------------------------
def test_seeded_streams_repeat_and_unseeded_ones_do_not():
    for draw in (uniform_on_host, normal_on_host, truncated_normal_on_host):
        a = draw(seeded_rng(3, 4), [50], np.float32)
        np.testing.assert_array_equal(a, draw(seeded_rng(3, 4), [50], np.float32))
        assert not np.array_equal(a, draw(seeded_rng(3, 5), [50], np.float32))
        assert not np.array_equal(draw(seeded_rng(), [50], np.float32), draw(seeded_rng(), [50], np.float32))
    # One seed of the pair set is enough to make the stream repeatable.
    np.testing.assert_array_equal(uniform_on_host(seeded_rng(0, 9), [5], np.float64),
                                  uniform_on_host(seeded_rng(0, 9), [5], np.float64))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_host_draws_have_the_asked_shape_dtype_and_distribution(dtype):
    shape = np.array([200, 100], np.int32)  # a shape arrives as the op's int vector
    u = uniform_on_host(seeded_rng(1), shape, dtype)
    n = normal_on_host(seeded_rng(2), shape, dtype)
    t = truncated_normal_on_host(seeded_rng(3), shape, dtype)
    for a in (u, n, t):
        assert a.shape == (200, 100) and a.dtype == dtype
    assert 0 <= u.min() and u.max() <= 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02
    # A standard normal cut at two standard deviations: its variance is 1 - 2 * 2 * pdf(2) / (cdf(2) - cdf(-2)).
    pdf2, inside = math.exp(-2) / math.sqrt(2 * math.pi), math.erf(2 / math.sqrt(2))
    assert np.abs(t).max() <= 2 and abs(t.std(dtype=np.float64) - math.sqrt(1 - 4 * pdf2 / inside)) < 0.02
