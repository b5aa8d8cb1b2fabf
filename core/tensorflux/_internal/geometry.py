"""What every device recomputes, written once: window geometry, slice bounds and seeded host random streams.

- **Windows** (convolution and pooling): TF's output size and before/after padding of one spatial axis
  (``axis_geometry``), and of a whole 2-D window op (``conv2d_geometry``, ``pool2d_geometry``), for SAME,
  VALID and EXPLICIT padding, strides and dilations, in NHWC or NCHW.
- **Slices**: ``Slice``'s begin/size and ``StridedSlice``'s begin/end/strides and masks as a Python index,
  and the shape, strides and offset of a basic index into a strided buffer (for devices that make views).
- **Random streams**: the per-op generator of ``KernelContext.rng`` and the host draws of the random ops,
  so every device gives the same values for the same seeds.

Nothing here depends on the graph or on a device: numpy and plain integers only.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

_FORMATS = ("NHWC", "NCHW")


# -- windows -------------------------------------------------------------------------------------------------
def spatial_axes(data_format: str) -> tuple[int, int, int]:
    """The (height, width, channels) axes of a 4-D ``data_format`` ("NHWC" or "NCHW").

    Example:
        >>> spatial_axes("NCHW")
        (2, 3, 1)
    """
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be one of {list(_FORMATS)}, got {data_format!r}")
    return (2, 3, 1) if data_format == "NCHW" else (1, 2, 3)


def height_width(values: Sequence[int], data_format: str) -> tuple[int, int]:
    """The (height, width) entries of a 4-element ``strides``/``ksize``/``dilations`` attr or shape.

    Example:
        >>> height_width([1, 1, 2, 3], "NCHW")
        (2, 3)
    """
    h, w, _ = spatial_axes(data_format)
    return int(values[h]), int(values[w])


def to_nhwc(shape: Sequence[int], data_format: str) -> tuple[int, int, int, int]:
    """A 4-D shape given in ``data_format`` order, as (batch, height, width, channels).

    Example:
        >>> to_nhwc([8, 3, 28, 28], "NCHW")
        (8, 28, 28, 3)
    """
    n, a, b, c = (int(v) for v in shape)
    return (n, b, c, a) if data_format == "NCHW" else (n, a, b, c)


def explicit_pads(explicit_paddings: Sequence[int] | None, data_format: str,
                  padding: str = "EXPLICIT") -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) from a conv's ``explicit_paddings`` attr; zeros unless ``padding`` is EXPLICIT.

    Example:
        >>> explicit_pads([0, 0, 1, 2, 3, 4, 0, 0], "NHWC")
        ((1, 2), (3, 4))
    """
    if padding != "EXPLICIT":
        return (0, 0), (0, 0)
    p = [int(v) for v in (explicit_paddings or ())]
    if len(p) != 8:
        raise ValueError(f"padding EXPLICIT needs explicit_paddings with 8 values (a pair per dimension of "
                         f"{data_format}), got {p}")
    h, w, _ = spatial_axes(data_format)
    return (p[2 * h], p[2 * h + 1]), (p[2 * w], p[2 * w + 1])


def output_size(size: int | None, k: int | None, stride: int, dilation: int = 1, padding: str = "VALID",
                pads: tuple[int, int] = (0, 0), what: str = "input") -> int | None:
    """TF's output size of one spatial axis, None when the size (or, unless SAME, the window) is unknown.

    VALID and EXPLICIT give ``(padded - effective_k) // stride + 1``; SAME gives ``ceil(size / stride)``.
    Raises ValueError when the padded input is smaller than the (dilated) window.

    Example:
        >>> output_size(28, 5, 1, padding="VALID"), output_size(28, 5, 2, padding="SAME"), output_size(None, 5, 1)
        (24, 14, None)
    """
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    if k is None:
        return None
    eff = (k - 1) * dilation + 1
    padded = size + (pads[0] + pads[1] if padding == "EXPLICIT" else 0)
    if padded < eff:
        raise ValueError(f"{what} of size {size} (padded {padded}) is smaller than the (dilated) window of size "
                         f"{eff}; {padding} padding gives no output")
    return (padded - eff) // stride + 1


def axis_geometry(size: int, k: int, stride: int, dilation: int = 1, padding: str = "VALID",
                  pads: tuple[int, int] = (0, 0), what: str = "input") -> tuple[int, int, int]:
    """(output size, padding before, padding after) of one spatial axis, as TF computes them.

    SAME pads ``max((out - 1) * stride + effective_k - size, 0)`` in all, split evenly with the odd cell
    after; EXPLICIT uses ``pads``; VALID pads nothing.

    Example:
        >>> axis_geometry(5, 3, 2, padding="SAME"), axis_geometry(4, 3, 2, padding="SAME")
        ((3, 1, 1), (2, 0, 1))
    """
    out = output_size(size, k, stride, dilation, padding, pads, what)
    if padding == "SAME":
        total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
        return out, total // 2, total - total // 2
    before, after = pads if padding == "EXPLICIT" else (0, 0)
    return out, before, after


def window_counts(out: int, stride: int, pad_before: int, k: int, size: int) -> list[int]:
    """How many real (unpadded) cells each of the ``out`` windows of one axis covers: average pooling's divisors.

    Example:
        >>> window_counts(3, 2, 1, 3, 5)
        [2, 3, 2]
    """
    return [min(i * stride - pad_before + k, size) - max(i * stride - pad_before, 0) for i in range(out)]


class WindowGeometry:
    """The geometry of one NHWC 2-D window op (a convolution or a pool): sizes, strides, dilations, padding.

    Attributes: ``in_shape`` = (n, h, w, c), ``kh, kw`` (window), ``sh, sw`` (strides), ``dh, dw``
    (dilations), ``oh, ow`` (output size), ``pt, pb, pl, pr`` (padding top, bottom, left, right) and, for a
    convolution, ``f_shape`` = (kh, kw, c, out_channels). Build one with ``conv2d_geometry`` or
    ``pool2d_geometry``.

    Example:
        >>> g = pool2d_geometry((1, 5, 5, 2), [1, 3, 3, 1], [1, 2, 2, 1], "SAME", "NHWC")
        >>> (g.oh, g.ow), (g.pt, g.pb, g.pl, g.pr), g.out_shape()
        ((3, 3), (1, 1, 1, 1), (1, 3, 3, 2))
    """

    __slots__ = ("in_shape", "n", "h", "w", "c", "kh", "kw", "sh", "sw", "dh", "dw", "oh", "ow", "pt", "pb", "pl",
                 "pr", "f_shape")

    def __init__(self, in_shape: Sequence[int], window: tuple[int, int], strides: tuple[int, int],
                 dilations: tuple[int, int], padding: str, pads: tuple = ((0, 0), (0, 0)),
                 f_shape: tuple | None = None) -> None:
        n, h, w, c = in_shape
        self.in_shape = self.n, self.h, self.w, self.c = int(n), int(h), int(w), int(c)
        self.kh, self.kw = window
        self.sh, self.sw = strides
        self.dh, self.dw = dilations
        self.oh, self.pt, self.pb = axis_geometry(self.h, self.kh, self.sh, self.dh, padding, pads[0], "input height")
        self.ow, self.pl, self.pr = axis_geometry(self.w, self.kw, self.sw, self.dw, padding, pads[1], "input width")
        self.f_shape = f_shape

    @property
    def padded(self) -> bool:
        """Whether any side is padded."""
        return bool(self.pt or self.pb or self.pl or self.pr)

    def padded_shape(self) -> tuple[int, int, int, int]:
        """The NHWC shape of the input with its padding."""
        return (self.n, self.h + self.pt + self.pb, self.w + self.pl + self.pr, self.c)

    def out_shape(self, channels: int | None = None) -> tuple[int, int, int, int]:
        """The NHWC output shape: ``channels`` output channels (default: the filter's, or the input's for a pool)."""
        if channels is None:
            channels = self.f_shape[3] if self.f_shape is not None else self.c
        return (self.n, self.oh, self.ow, channels)

    def check_out(self, shape: Sequence[int], what: str = "out_backprop") -> None:
        """Raise ValueError naming ``what`` unless ``shape`` is the NHWC output shape."""
        want = self.out_shape()
        if tuple(shape) != want:
            of = f" and filter {list(self.f_shape)}" if self.f_shape is not None else ""
            raise ValueError(f"{what} has shape {list(shape)}, expected {list(want)} for input "
                             f"{list(self.in_shape)}{of}")

    def taps(self) -> Iterator[tuple[int, int, slice, slice]]:
        """Per window position (row-major): (i, j, rows, cols), the strided slices of the padded input it reads.

        ``padded_input[:, rows, cols, :]`` is the [n, oh, ow, c] block that tap (i, j) meets in every window.
        """
        for i in range(self.kh):
            r = i * self.dh
            rows = slice(r, r + (self.oh - 1) * self.sh + 1, self.sh)
            for j in range(self.kw):
                q = j * self.dw
                yield i, j, rows, slice(q, q + (self.ow - 1) * self.sw + 1, self.sw)

    def valid_counts(self) -> tuple[list[int], list[int]]:
        """Real (unpadded) cells each window covers, along height and along width (``window_counts``)."""
        return (window_counts(self.oh, self.sh, self.pt, self.kh, self.h),
                window_counts(self.ow, self.sw, self.pl, self.kw, self.w))

    def flops(self) -> float:
        """Multiply-adds times two of the convolution (0 for a pool)."""
        if self.f_shape is None:
            return 0.0
        kh, kw, c, o = self.f_shape
        return 2.0 * self.n * self.oh * self.ow * kh * kw * c * o


def conv2d_geometry(in_shape: Sequence[int], f_shape: Sequence[int], strides: Sequence[int], padding: str,
                    explicit_paddings: Sequence[int] | None, data_format: str,
                    dilations: Sequence[int] | None = None) -> WindowGeometry:
    """The geometry of a Conv2D with NHWC input shape ``in_shape`` and filter [kh, kw, in, out], from the op's attrs.

    ``strides``, ``dilations`` and ``explicit_paddings`` are in ``data_format`` order, as the op holds them.

    Example:
        >>> g = conv2d_geometry((2, 28, 28, 1), (5, 5, 1, 32), [1, 1, 1, 1], "SAME", [], "NHWC", [1, 1, 1, 1])
        >>> g.out_shape(), (g.pt, g.pb)
        ((2, 28, 28, 32), (2, 2))
    """
    kh, kw, fc, o = f_shape
    f_shape = (int(kh), int(kw), int(fc), int(o))
    if f_shape[2] != int(in_shape[3]):
        raise ValueError(f"input depth {int(in_shape[3])} does not match filter in_channels {f_shape[2]} (filter "
                         f"shape {list(f_shape)})")
    dil = height_width(dilations, data_format) if dilations else (1, 1)
    return WindowGeometry(in_shape, f_shape[:2], height_width(strides, data_format), dil, padding,
                          explicit_pads(explicit_paddings, data_format, padding), f_shape)


def pool2d_geometry(in_shape: Sequence[int], ksize: Sequence[int], strides: Sequence[int], padding: str,
                    data_format: str) -> WindowGeometry:
    """The geometry of a MaxPool/AvgPool with NHWC input shape ``in_shape``, from the op's attrs.

    Example:
        >>> pool2d_geometry((1, 4, 4, 1), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", "NHWC").out_shape()
        (1, 2, 2, 1)
    """
    return WindowGeometry(in_shape, height_width(ksize, data_format), height_width(strides, data_format), (1, 1),
                          padding)


# -- slices --------------------------------------------------------------------------------------------------
def slice_index(begin: Sequence[int], size: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    """``Slice``'s ``begin`` and ``size`` (-1: to the end) as a basic index; raises ValueError when out of bounds.

    Example:
        >>> slice_index([1, 0], [2, -1], (4, 3))
        (slice(1, 3, None), slice(0, 3, None))
    """
    index = []
    for b, s, d in zip(begin, size, shape):
        b, s, d = int(b), int(s), int(d)
        end = d if s == -1 else b + s
        if b < 0 or end > d or end < b:
            raise ValueError(f"slice begin {[int(v) for v in begin]} and size {[int(v) for v in size]} are out of "
                             f"bounds for shape {list(shape)}")
        index.append(slice(b, end))
    return tuple(index)


def strided_slice_index(begin: Sequence[int], end: Sequence[int], strides: Sequence[int], begin_mask: int = 0,
                        end_mask: int = 0, ellipsis_mask: int = 0, new_axis_mask: int = 0,
                        shrink_axis_mask: int = 0) -> tuple:
    """``StridedSlice``'s inputs and masks as a Python index (ints, slices, None and Ellipsis).

    Bit i of a mask is about entry i: ``begin_mask``/``end_mask`` ignore that bound, ``ellipsis_mask`` makes
    it ``...``, ``new_axis_mask`` a new axis, ``shrink_axis_mask`` the single index ``begin[i]``.

    Example:
        >>> strided_slice_index([0, 1], [0, 3], [1, 1], begin_mask=1, end_mask=1)
        (slice(None, None, 1), slice(1, 3, 1))
    """
    index: list = []
    for i in range(len(begin)):
        bit = 1 << i
        if ellipsis_mask & bit:
            index.append(Ellipsis)
        elif new_axis_mask & bit:
            index.append(None)
        elif shrink_axis_mask & bit:
            index.append(int(begin[i]))
        else:
            index.append(slice(None if begin_mask & bit else int(begin[i]),
                               None if end_mask & bit else int(end[i]), int(strides[i])))
    return tuple(index)


def index_view(shape: Sequence[int], strides: Sequence[int], index: tuple) -> tuple[tuple, list, int]:
    """(shape, strides, offset) of ``buffer[index]`` for a basic ``index`` into a strided buffer, in elements.

    ``strides`` are element strides of ``shape``. ints (negative from the end), slices, None and one
    Ellipsis, as numpy's basic indexing; an int out of range raises IndexError.

    Example:
        >>> index_view((4, 3), (3, 1), (slice(1, None, 2), -1))
        ((2,), [6], 5)
    """
    if not isinstance(index, tuple):
        index = (index,)
    if sum(1 for k in index if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    n_specified = sum(1 for k in index if k is not None and k is not Ellipsis)
    if n_specified > len(shape):
        raise IndexError(f"too many indices: tensor is {len(shape)}-dimensional, but {n_specified} were indexed")
    out_shape: list = []
    out_strides: list = []
    offset, axis = 0, 0
    for k in index:
        if k is Ellipsis:
            for _ in range(len(shape) - n_specified):
                out_shape.append(int(shape[axis]))
                out_strides.append(int(strides[axis]))
                axis += 1
        elif k is None:
            out_shape.append(1)
            out_strides.append(0)
        elif isinstance(k, slice):
            start, stop, step = k.indices(int(shape[axis]))
            out_shape.append(len(range(start, stop, step)))
            out_strides.append(int(strides[axis]) * step)
            offset += start * int(strides[axis])
            axis += 1
        else:
            d, i = int(shape[axis]), int(k)
            if not -d <= i < d:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {d}")
            offset += (i % d if d else 0) * int(strides[axis])
            axis += 1
    out_shape += [int(d) for d in shape[axis:]]
    out_strides += [int(s) for s in strides[axis:]]
    return tuple(out_shape), out_strides, offset


# -- seeded random streams on host -------------------------------------------------------------------------------
def seeded_rng(seed: int = 0, seed2: int = 0) -> np.random.Generator:
    """The generator of a random op with attrs ``seed`` and ``seed2``: repeatable when either is set, fresh otherwise.

    Example:
        >>> float(seeded_rng(1, 2).random()) == float(seeded_rng(1, 2).random())
        True
    """
    return np.random.default_rng([seed, seed2]) if (seed or seed2) else np.random.default_rng()


def _host_shape(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.reshape(shape, -1))


def _np_dtype(dtype: Any) -> np.dtype:
    return np.dtype(getattr(dtype, "np_dtype", dtype))


def _drawn_in(dtype: np.dtype) -> type:
    # numpy's generators draw only float32 and float64: other floats are drawn in float32 and rounded.
    return np.float64 if dtype == np.float64 else np.float32


def uniform_on_host(rng: np.random.Generator, shape: Any, dtype: Any) -> np.ndarray:
    """``RandomUniform``'s values in [0, 1) of ``shape`` (a host int vector), drawn from ``rng``, as ``dtype``.

    Example:
        >>> uniform_on_host(seeded_rng(1), [2, 3], np.float32).shape
        (2, 3)
    """
    dt = _np_dtype(dtype)
    return rng.random(_host_shape(shape), dtype=_drawn_in(dt)).astype(dt, copy=False)


def normal_on_host(rng: np.random.Generator, shape: Any, dtype: Any) -> np.ndarray:
    """``RandomStandardNormal``'s values of ``shape`` drawn from ``rng``, as ``dtype``.

    Example:
        >>> normal_on_host(seeded_rng(1), [4], np.float64).dtype
        dtype('float64')
    """
    dt = _np_dtype(dtype)
    return rng.standard_normal(_host_shape(shape), dtype=_drawn_in(dt)).astype(dt, copy=False)


def truncated_normal_on_host(rng: np.random.Generator, shape: Any, dtype: Any) -> np.ndarray:
    """``TruncatedNormal``'s values: standard normal, redrawn until within two standard deviations, as ``dtype``.

    Example:
        >>> bool((abs(truncated_normal_on_host(seeded_rng(1), [1000], np.float32)) <= 2).all())
        True
    """
    dt = _np_dtype(dtype)
    drawn = _drawn_in(dt)
    out = rng.standard_normal(_host_shape(shape), dtype=drawn)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()), dtype=drawn)
        bad = np.abs(out) > 2
    return out.astype(dt, copy=False)
